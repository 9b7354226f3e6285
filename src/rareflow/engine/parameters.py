"""Behavioural parameters the engine reads by name, and how overrides are resolved.

Values come from the dataset's ``parameters`` table (curated in ``build/parameters.csv``);
``ENGINE_DEFAULTS`` only fills names a dataset lacks, so that a user's own dataset runs too.
A value may be a float or, for Monte Carlo batches, an array of shape (D,) (one per draw).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rareflow.errors import UserInputError

ParamValue = float | np.ndarray

ENGINE_DEFAULTS: dict[str, float] = {
    "base_year": 2024.0,
    "demand_growth_per_year": 0.05,
    "capacity_growth_per_year": 0.087,
    "home_priority": 0.5,
    "rerouting_months": 6.0,
    "restock_months": 6.0,
    "price_adjust_months": 2.0,
    "price_sensitivity": 2.0,
    "price_min_multiple": 0.5,
    "price_max_multiple": 5.0,
    "demand_elasticity": 0.1,
    "demand_response_months": 6.0,
    "substitution_max_share": 0.3,
    "substitution_months": 12.0,
    "tariff_elasticity": 2.0,
    "cover_multiple": 1.0,  # scales every target inventory cover (Monte Carlo)
}


def resolve_parameters(
    network: Mapping[str, float], overrides: Mapping[str, ParamValue] | None = None
) -> dict[str, ParamValue]:
    """Defaults < the network's table < overrides; an unknown override name is a user error."""
    params: dict[str, ParamValue] = {**ENGINE_DEFAULTS, **network}
    for name, value in (overrides or {}).items():
        if name not in params:
            raise UserInputError(
                f"unknown parameter {name!r}",
                column="parameters",
                value=name,
                expected="one of " + ", ".join(sorted(params)),
            )
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
