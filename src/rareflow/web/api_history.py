"""The model against what happened, for the browser: ``rareflow backtest`` (in sample),
``rareflow forecast`` and ``rareflow hindcast`` (the 2010-2011 episode) as JSON.

Both run the history scenario on the bundled dataset (the one the calibration fitted, whatever
``--data`` the service was given) and read the customs series in ``../shared/data/calibration``
(``RAREFLOW_CALIBRATION_DIR``); neither changes while the service runs, so each answer is computed once per process and
kept (the forecast per distinct query, the last few). The backtest here leaves out the
rolling-origin refits (about 30 s): ``rareflow backtest`` has them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from rareflow.errors import UserInputError
from rareflow.io.export import jsonable
from rareflow.web.context import Context, context

router = APIRouter(prefix="/api/history", tags=["history"])
Ctx = Annotated[Context, Depends(context)]
MAX_DRAWS = 1000
KEPT_FORECASTS = 8
KEPT_HINDCASTS = 4
Until = Annotated[
    str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Last month forecast, YYYY-MM")
]


@lru_cache(maxsize=1)
def _backtest() -> dict[str, Any]:
    from rareflow.history.backtest import backtest

    body: dict[str, Any] = jsonable(backtest(origins=()).as_dict())
    return body


@lru_cache(maxsize=KEPT_FORECASTS)
def _forecast(until: str, draws: int, seed: int) -> dict[str, Any]:
    from rareflow.history.forecast import forecast

    body: dict[str, Any] = jsonable(forecast(until=until, draws=draws, seed=seed).as_dict())
    return body


@lru_cache(maxsize=KEPT_HINDCASTS)
def _hindcast(until: str) -> dict[str, Any]:
    from rareflow.history.hindcast import hindcast

    body: dict[str, Any] = jsonable(hindcast(until=until).as_dict())
    return body


@router.get("/backtest", summary="China's magnet exports, prices and stoppages: modelled "
            "against observed in the fitted window (2024-01 on), with the naive forecasts")  # fmt: skip
def backtest(ctx: Ctx) -> dict[str, Any]:
    """``rareflow backtest --origins none --format json``: rows (month, destination,
    modelled_tonnes, observed_tonnes), the per-destination summary beside persistence and last
    year's value, the price rows and scores, and the reported stoppages matched."""
    with ctx.heavy_slot():
        return _backtest()


@router.get("/forecast", summary="China's magnet exports after the fitted window, with "
            "posterior bands and the naive forecasts")  # fmt: skip
def forecast(
    ctx: Ctx,
    until: Until = "2026-12",
    draws: Annotated[int, Query(ge=0, le=MAX_DRAWS, description="Posterior draws")] = 100,
    seed: Annotated[int, Query(ge=0, description="Seed of the posterior draws")] = 0,
) -> dict[str, Any]:
    """``rareflow forecast --format json``: rows from the month after the fitted window to
    ``until``, per series: point_tonnes, posterior_p5/p50/p95, low_90/high_90,
    persistence_tonnes, last_year_tonnes."""
    from rareflow.history.forecast import fitted_through, until_expected

    expected = until_expected(until, fitted_through())
    if expected is not None:
        raise UserInputError("not a month the forecast covers", field="until", value=until,
                             expected=expected)  # fmt: skip
    with ctx.heavy_slot():
        return _forecast(until, draws, seed)


@router.get("/hindcast", summary="The 2010-2011 quota cut and Japan hold: price multiples "
            "against the no-policy 2010 run, stated before the prices of those years are seen")  # fmt: skip
def hindcast(
    ctx: Ctx,
    until: Annotated[
        str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Last month run, YYYY-MM")
    ] = "2015-12",
) -> dict[str, Any]:
    """``rareflow hindcast --format json``: per product and market the modelled peak, the
    multiple at each checkpoint and the share of the peak left at 2013-12 (``summary``), and
    every month (``paths``). Scoring against held-out prices is ``rareflow hindcast
    --observed``."""
    from rareflow.history.hindcast import until_expected

    expected = until_expected(until)
    if expected is not None:
        raise UserInputError("not a month the hindcast runs to", field="until", value=until,
                             expected=expected)  # fmt: skip
    with ctx.heavy_slot():
        return _hindcast(until)
