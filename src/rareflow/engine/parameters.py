"""Behavioural parameters the engine reads by name, and how overrides are resolved.

Values come from the dataset's ``parameters`` table (curated in ``build/parameters.csv``);
the bundled table fills names a user's dataset lacks, so that a user's own dataset runs too.
A value may be a float or, for Monte Carlo batches, an array of shape (D,) (one per draw).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from rareflow.data.network import BASELINE_DIR
from rareflow.data.ranges import FIXED, check_parameter, check_parameters
from rareflow.errors import UserInputError

ParamValue = float | np.ndarray


@lru_cache(maxsize=1)
def bundled_parameters() -> dict[str, float]:
    """The bundled baseline's parameters table (every row sourced or a labelled assumption).

    It fills the names a user's own dataset lacks, so that any dataset runs.
    """
    with (BASELINE_DIR / "parameters.csv").open(encoding="utf-8", newline="") as handle:
        return {row["name"]: float(row["value"]) for row in csv.DictReader(handle)}


def resolve_parameters(
    network: Mapping[str, float], overrides: Mapping[str, ParamValue] | None = None
) -> dict[str, ParamValue]:
    """Defaults < the network's table < overrides; an unknown override name, an override of
    a fixed one, or a value outside its physical range (``data.ranges``) is a user error."""
    params: dict[str, ParamValue] = {**bundled_parameters(), **network}
    check_parameters(network.items(), file="the dataset's parameters table")
    for name, value in (overrides or {}).items():
        if name not in params:
            raise UserInputError(
                f"unknown parameter {name!r}",
                column="parameters",
                value=name,
                expected="one of " + ", ".join(sorted(params)),
            )
        if name in FIXED:
            raise UserInputError(
                f"parameter {name!r} describes the dataset and cannot be overridden",
                field=f"parameters.{name}",
                hint="Build a dataset for another year instead (`rareflow data export`)",
            )
        check_parameter(name, value)
        params[name] = value if isinstance(value, np.ndarray) else float(value)
    return params


def per_draw(value: ParamValue, ndim: int) -> ParamValue:
    """A float as is; a (D,) array reshaped to (D, 1, ...) with ``ndim`` dims to broadcast."""
    if np.ndim(value) == 0:
        return float(value)
    arr = np.asarray(value, dtype=float)
    return arr.reshape((-1,) + (1,) * (ndim - 1))


def chunk_values(values: Mapping[str, ParamValue], lo: int, hi: int) -> dict[str, ParamValue]:
    """The slice [lo, hi) of every per-draw array; floats pass through."""
    return {k: (v[lo:hi] if isinstance(v, np.ndarray) else v) for k, v in values.items()}
