"""Physical ranges of the behavioural parameters, declared once.

A value outside its range (or not finite) is a user's mistake, refused with exit 2 before a
run: in a scenario's ``parameters:``, in a dataset's ``parameters`` table, or in the reach of
an ``uncertainty:`` distribution. Before these ranges, ``demand_elasticity: .nan`` or
``cover_multiple: -5`` ran until the mass balance broke (exit 3, 'internal error').

Ranges are wide on purpose: they bound what the model's equations can mean, not what is
plausible (the calibration's priors do that). Lags reach 1e12 months, which reads 'never'.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from rareflow.errors import UserInputError

NEVER = 1e12  # months: a lag this long freezes its mechanism (tests use it)

# name -> (lowest, highest), closed
PARAMETER_RANGES: dict[str, tuple[float, float]] = {
    "base_year": (2000.0, 2100.0),
    "buyer_cover_log_sd": (0.05, 3.0),
    "buyer_pooling_share": (0.0, 1.0),
    "automotive_cover_ratio": (0.01, 10.0),
    "spring_festival_shipping_share": (0.0, 1.0),
    "capacity_entry_hurdle": (0.0, 10.0),
    "capacity_entry_per_year": (0.0, 2.0),
    "capacity_growth_per_year": (-0.5, 1.0),
    "capacity_signal_months": (0.0, NEVER),
    "china_reserve_share": (0.0, 10.0),
    "catchup_months": (0.0, 24.0),  # the engine keeps a backlog month by month up to this
    "catchup_rate": (0.0, 1.0),  # up to twice a month's output
    "cover_multiple": (0.0, 10.0),
    "demand_elasticity": (0.0, 5.0),
    "demand_elasticity_long": (0.0, 5.0),
    "demand_growth_per_year": (-0.5, 1.0),
    "demand_long_months": (0.0, NEVER),
    "demand_response_months": (0.0, NEVER),
    "entry_lag_magnet_months": (1.0, 120.0),
    "entry_lag_metal_months": (1.0, 120.0),
    "entry_lag_mine_months": (1.0, 120.0),
    "entry_lag_separation_months": (1.0, 120.0),
    "home_priority": (0.0, 1.0),
    "licence_approval_share": (0.0, 1.0),
    "licence_entry_leakage_share": (0.0, 1.0),
    "licence_lead_time_months": (0.0, 24.0),
    "licence_ramp_months": (0.0, 36.0),
    "licence_review_spread": (0.0, 1.0),
    "licence_review_working_days": (0.0, 260.0),
    "price_adjust_months": (0.0, NEVER),
    "price_choke_share": (0.0, 0.999),
    "price_max_multiple": (1.0, 1000.0),
    "price_min_multiple": (0.0, 1.0),
    "price_sensitivity": (0.0, 100.0),
    "price_thinness_exponent": (0.0, 2.0),
    "price_thinness_max_ratio": (1.0, 1e9),
    "rerouting_months": (0.0, NEVER),
    "restock_months": (0.0, NEVER),
    "scarcity_exponent": (0.0, 20.0),
    "substitution_full_multiple": (1.0, 1000.0),
    "substitution_max_share": (0.0, 1.0),
    "substitution_months": (0.0, NEVER),
    "tariff_elasticity": (0.0, 20.0),
}
FIXED = ("base_year",)  # describes the dataset: not a behaviour to vary or override
ANY = (-math.inf, math.inf)


def parameter_range(name: str) -> tuple[float, float]:
    """The declared range; a parameter a user's dataset adds is only required to be finite."""
    return PARAMETER_RANGES.get(name, ANY)


def check_parameter(
    name: str, value: float | np.ndarray, *, file: str | None = None, field: str | None = None
) -> None:
    """Raise ``UserInputError`` unless every value is finite and within the range."""
    values = np.atleast_1d(np.asarray(value, dtype=float))
    lo, hi = parameter_range(name)
    bad = values[~np.isfinite(values) | (values < lo) | (values > hi)]
    if bad.size:
        raise UserInputError(
            f"parameter {name!r} out of its range",
            file=file,
            field=field or f"parameters.{name}",
            value=float(bad[0]),
            expected=f"a finite number in [{lo:g}, {hi:g}]",
        )


def check_parameters(values: Iterable[tuple[str, float | np.ndarray]], **where: str) -> None:
    for name, value in values:
        check_parameter(name, value, **where)
