"""Bundled reference series (calibration, backtest, criticality); see README.md here."""

import os
from pathlib import Path

REFERENCE_DIR = Path(__file__).parent
ENV_DIR = "RAREFLOW_CALIBRATION_DIR"


def calibration_dir() -> Path:
    """Where the calibration series are read: ``$RAREFLOW_CALIBRATION_DIR`` (newer copies, e.g.
    later months of customs data), else the copies bundled here."""
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else REFERENCE_DIR
