"""rareflow: simulate rare-earth supply chains under trade policy.

>>> import rareflow
>>> net = rareflow.load_baseline()
>>> result = rareflow.run("reimpose-oct-2025")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rareflow.scenarios.generated import register
from rareflow.version import __version__

__all__ = [
    "__version__",
    "backtest",
    "compare",
    "exposure",
    "forecast",
    "hindcast",
    "impact",
    "load_baseline",
    "load_scenario",
    "montecarlo",
    "run",
]

if TYPE_CHECKING:
    import xarray as xr

    from rareflow.analytics.compare import Comparison
    from rareflow.analytics.exposure import Exposure
    from rareflow.data.network import Network
    from rareflow.engine.result import RunResult
    from rareflow.history.backtest import BacktestResult
    from rareflow.history.forecast import Forecast
    from rareflow.history.hindcast import Hindcast
    from rareflow.scenarios.model import Scenario
    from rareflow.uncertainty.result import MonteCarloResult


def _history() -> Any:
    from rareflow.history.scenario import history_to_last_month

    return history_to_last_month()


register("history", _history)  # the scenario layer does not import the history layer


def load_baseline(data_dir: str | Path | None = None) -> Network:
    """The bundled baseline network (or a dataset directory in the same schema): tables
    (``net.tables``, pandas) and labelled arrays (``net.array(name)``, xarray)."""
    from rareflow.data.network import load_network

    return load_network(data_dir)


def load_scenario(name_or_path: str | Path, network: Network | None = None) -> Scenario:
    """A bundled scenario by name (``rareflow scenarios`` lists them), or a YAML file,
    validated; bound to ``network`` (codes checked, ISO3 countries mapped) when given."""
    from rareflow.scenarios.load import load_scenario as _load

    return _load(name_or_path, network)


def _prepared(
    scenario: Scenario | str | Path,
    data: str | Path | None,
    parameters: Mapping[str, float] | None,
) -> tuple[Scenario, Network]:
    """The scenario bound to the dataset, with ``parameters`` overriding its own."""
    from rareflow.scenarios.load import bind
    from rareflow.scenarios.model import Scenario

    network = load_baseline(data)
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if parameters:
        merged = {**loaded.parameters, **{k: float(v) for k, v in parameters.items()}}
        loaded = loaded.model_copy(update={"parameters": merged})
    return bind(loaded, network), network


def run(
    scenario: Scenario | str | Path = "baseline",
    *,
    months: int | None = None,
    data: str | Path | None = None,
    parameters: Mapping[str, float] | None = None,
) -> RunResult:
    """Simulate one scenario, deterministically (one draw).

    scenario: a bundled name (e.g. ``"reimpose-oct-2025"``), a YAML path or a ``Scenario``.
    months: horizon (default: the scenario's). data: a dataset directory (default: the
    bundled baseline). parameters: overrides of behavioural parameters, e.g.
    ``{"rerouting_months": 3}``, checked against their physical ranges.

    Returns a ``RunResult``: ``.dataset`` (xarray: draw, month, region, product, ...;
    ``month`` a datetime coordinate, ``shipments`` over product, ``exporter`` and
    ``importer``), ``.summary()``, ``.stoppages()``, ``.peak_prices()`` and ``.tidy()``
    (pandas, months as 'YYYY-MM' text).
    """
    import dataclasses

    from rareflow.engine.dims import public
    from rareflow.engine.run import run as _run

    loaded, network = _prepared(scenario, data, parameters)
    result = _run(loaded, network=network, months=months)
    return dataclasses.replace(result, dataset=public(result.dataset))


def montecarlo(
    scenario: Scenario | str | Path,
    draws: int = 1000,
    *,
    seed: int = 0,
    months: int | None = None,
    data: str | Path | None = None,
    parameters: Mapping[str, float] | None = None,
) -> MonteCarloResult:
    """Run ``draws`` draws of the scenario's ``uncertainty:`` section (seeded).

    Returns a ``MonteCarloResult``: ``.to_dataset()`` (xarray: stat, month, region, sector;
    ``month`` a datetime coordinate), ``.horizon()`` (per region and sector: mean, p5, p50,
    p95 of the totals), ``.quantiles(metric)`` (monthly), ``.summary()`` and ``.tidy()``.
    A scenario without an uncertainty section gives identical draws (and says so).
    """
    from rareflow.uncertainty.run import run_montecarlo

    loaded, network = _prepared(scenario, data, parameters)
    return run_montecarlo(loaded, draws, seed=seed, months=months, network=network)


def compare(run_a: RunResult, run_b: RunResult) -> Comparison:
    """What changed from run A to run B: ``.sectors`` (shortage and losses per region and
    sector), ``.prices`` (peak prices) and ``.exports`` (China's exports), pandas frames."""
    import tempfile

    from rareflow.analytics.compare import compare as _compare
    from rareflow.io.store import ResultStore

    with tempfile.TemporaryDirectory() as folder:  # the comparison reads stored runs
        store = ResultStore(Path(folder) / "compare.duckdb")
        return _compare(store, store.save(run_a), store.save(run_b))


def exposure(
    bom: str | Path,
    scenario: Scenario | str | Path = "baseline",
    *,
    data: str | Path | None = None,
    region: str = "",
) -> Exposure:
    """Which parts of a bill of materials (a CSV or Excel file, or ``"example"``) the
    scenario catches, when they run short and the alternatives: ``.parts`` and
    ``.products`` (pandas). ``region``: the plants' region when the file gives none."""
    from rareflow.analytics.bom import EXAMPLE, read_bom
    from rareflow.analytics.exposure import exposure as _exposure

    loaded, network = _prepared(scenario, data, None)
    path = EXAMPLE if str(bom) == "example" else Path(bom)
    return _exposure(read_bom(path, network), loaded, network, region=region)


def impact(
    result: RunResult,
    mrio: str | Path | None = None,
    *,
    mapping: str | Path | None = None,
    step: str = "day",
) -> xr.Dataset:
    """Value added and GDP a run's shortages cost through an input-output table (ARIO Psi,
    vectorised over the run's draws).

    mrio: a table pymrio reads (default: the bundled 15-region table); mapping: CSV from its
    regions and sectors to rareflow's (default: shipped for the table's kind); step: ``day``
    or ``month``. Returns an xarray Dataset: ``value_added_lost_usd`` (draw, month, region,
    sector), ``gdp_usd`` (region), ``units_lost`` and ``units_deferred`` (draw, month, region,
    rf_sector); ``rareflow.economy.impact.horizon(ds)`` gives the report rows.
    """
    from rareflow.economy.impact import impact as _impact

    return _impact(result, mrio, mapping, step)


def forecast(
    until: str = "2026-12",
    draws: int = 200,
    *,
    seed: int = 0,
    observed: str | Path | None = None,
) -> Forecast:
    """China's magnet exports by destination after the calibration window, as customs would
    record them: ``.rows`` (pandas: month, destination, point_tonnes, posterior_p5/p50/p95,
    low_90/high_90, persistence_tonnes, last_year_tonnes, and observed_tonnes where
    ``observed`` gives later figures) and ``.scores`` (per series: MAPE of the point, the
    posterior median and the naives, shares inside the bands); ``.figure()`` charts them
    (plotly). ``observed``: a customs table in the bundled layout or a CSV month,
    destination, tonnes."""
    from rareflow.history.forecast import forecast as _forecast

    path = Path(observed).expanduser() if observed is not None else None
    return _forecast(until=until, draws=draws, seed=seed, observed_path=path)


def hindcast(
    until: str = "2015-12",
    *,
    observed: str | Path | None = None,
    data: str | Path | None = None,
) -> Hindcast:
    """The 2010-2011 quota cut and Japan hold on the 2010 network, run to ``until``: price
    multiples against the no-policy 2010 run, stated before the prices of those years are seen.
    ``.summary`` (pandas: per product and market, the peak's month and multiple, checkpoints,
    the share of the peak left at 2013-12), ``.paths`` (every month), ``.scores`` (against
    ``observed``: a CSV date, product, market, value[, unit], e.g. the layout of
    prices_2025_monthly.csv) and ``.figure()`` (plotly)."""
    from rareflow.history.hindcast import hindcast as _hindcast

    path = Path(observed).expanduser() if observed is not None else None
    return _hindcast(until=until, observed_path=path, data_dir=data)


def backtest(
    until: str | None = None,
    *,
    origins: tuple[str, ...] | None = None,
    data: str | Path | None = None,
) -> BacktestResult:
    """The history run against what was observed, through ``until`` (default: the last
    observed month), at the bundled calibrated point: ``.rows`` (pandas: month, destination,
    modelled_tonnes, observed_tonnes, kind), ``.summary_table()`` (per destination: MAPE in
    sample and from rolling origins beside persistence and last year's value),
    ``.metrics_table()``, ``.prices`` and ``.stoppages`` (scored against the 2025 tables),
    ``.figure()`` (plotly, one chart per series). ``origins``: months to refit at and forecast
    from (default 2025-05, 2025-06, 2025-07, about 25 s; ``()`` for none)."""
    from rareflow.history.backtest import ORIGINS
    from rareflow.history.backtest import backtest as _backtest

    chosen = ORIGINS if origins is None else tuple(origins)
    return _backtest(until=until, data_dir=data, origins=chosen)
