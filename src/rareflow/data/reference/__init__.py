"""Bundled reference series (calibration, backtest, criticality); see README.md here."""

from pathlib import Path

REFERENCE_DIR = Path(__file__).parent
