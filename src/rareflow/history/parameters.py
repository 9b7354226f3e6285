"""Behavioural parameters fitted by ``rareflow calibrate``, stored with their provenance.

``rareflow/data/calibrated_parameters.csv`` has one row per parameter: name, value,
unit, provenance ('calibrated') and a note 'calibrated: window START:END, objective ..., date
...'. They override the bundled baseline's ``parameters`` table when it is loaded
(``rareflow.data.network.load_network``), so every command uses them; the ``licence_*`` ones shape the approval path of the
timeline's calibrated licences (``rareflow.history.scenario``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import rareflow.data.network as _network
from rareflow.engine.parameters import bundled_parameters
from rareflow.policies.instruments import CALIBRATED_PARAMETERS

FIELDS = ("name", "value", "unit", "provenance", "note")

# The licence approval path (``rareflow.policies.effects.approval_path``); their priors are rows
# of the parameters table, with their sources.
# One more acts on the history run's calibrated licences only (``scenario.licence_values``):
# ``licence_entry_leakage_share``, the share of the first month's exports that leaves unlicensed.
LICENCE_NAMES = (*CALIBRATED_PARAMETERS.values(), "licence_entry_leakage_share")


def read_rows(path: Path | None = None) -> list[dict[str, str]]:
    path = path or _network.CALIBRATED_FILE  # looked up per call: a comparison may swap it
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def calibrated_parameters(path: Path | None = None) -> dict[str, float]:
    """Every stored fitted value by name (empty before the first calibration)."""
    return {row["name"]: float(row["value"]) for row in read_rows(path)}


def licence_parameters(
    dataset: Mapping[str, object] | None = None, path: Path | None = None
) -> dict[str, float]:
    """Licence path parameters: the stored fit, else the dataset's value, else the bundled
    table's prior."""
    fitted = calibrated_parameters(path)
    data = {**bundled_parameters(), **(dataset or {})}
    return {name: float(fitted.get(name, data[name])) for name in LICENCE_NAMES}  # type: ignore[arg-type]


def engine_overrides(path: Path | None = None) -> dict[str, float]:
    """Fitted engine parameters, to pass as ``Scenario.parameters`` overrides."""
    return {k: v for k, v in calibrated_parameters(path).items() if k not in LICENCE_NAMES}


def write_rows(rows: list[dict[str, str]], path: Path | None = None) -> Path:
    path = path or _network.CALIBRATED_FILE
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    return path
