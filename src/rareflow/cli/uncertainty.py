"""``rareflow montecarlo|sensitivity``: uncertainty of a scenario's outcomes, and its drivers.

Heavy modules (the engine, dask, SALib, pandas) are imported inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rareflow.cli.output import Format, print_frame, print_json
from rareflow.cli.run import TOP, DataOption, Shown, ShownOption, StoreOption, open_store

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.uncertainty.result import MonteCarloResult
    from rareflow.uncertainty.sensitivity import Sensitivity


class ExecutorName(StrEnum):
    local = "local"
    dask = "dask"


class Method(StrEnum):
    oat = "oat"
    morris = "morris"
    sobol = "sobol"


class Kernel(StrEnum):
    numba = "numba"
    numpy = "numpy"


class Precision(StrEnum):
    """Of the ARIO state behind ``--impact`` (``rareflow.economy.ario.cast``)."""

    float64 = "float64"
    float32 = "float32"


ScenarioArg = Annotated[str, typer.Argument(help="A bundled scenario name or a YAML file.")]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Random seed.")]
MonthsOption = Annotated[
    int | None, typer.Option("--months", min=1, max=600, help="Override the horizon.")
]
ExecutorOption = Annotated[
    ExecutorName, typer.Option("--executor", help="local, or dask (a LocalCluster).")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", help="Address of a running dask scheduler, tcp://HOST:PORT."),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", min=1, help="Workers of the LocalCluster.")
]


COMPILING = "compiling the kernel once (about 30 s)"


def kernel_cold() -> bool:
    """Whether numba has no fresh cached build of the month kernel (the first run after an
    install or an upgrade compiles it). Reads numba's cache index (a private API: on any
    surprise, say nothing)."""
    try:
        from rareflow.engine import kernel

        cache = getattr(kernel.month, "_cache")  # noqa: B009 - not in numba's type stubs
        return not cache._cache_file._load_index()
    except Exception:  # a hint only, never a failure
        return False


@contextmanager
def _progress(
    total: int, label: str, waiting: str | None = None
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields a callback taking the draws just finished. Until the
    first of them, the bar reads ``waiting`` where given (e.g. while the kernel compiles)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from rareflow.cli.output import console_err

    console = console_err()
    if waiting and not console.is_terminal:  # logs get no live bar: say it once
        console.print(f"{waiting} ...", markup=False, highlight=False)
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress("[bold]{task.description}", *columns, console=console,
                  transient=True) as bar:  # fmt: skip
        task = bar.add_task(waiting or label, total=total or None)

        def step(n: int) -> None:
            bar.update(task, advance=n, description=label)

        yield step


def _warn(warnings: list[str]) -> None:
    from rareflow.cli.output import console_err

    for text in warnings:
        console_err().print(f"[bold yellow]warning:[/] {text}", markup=True, highlight=False)


def _executor(name: ExecutorName, scheduler: str | None, workers: int | None) -> Any:
    from rareflow.uncertainty.executors import make_executor

    return make_executor(name.value, scheduler, workers)


def _headline(result: MonteCarloResult) -> pd.DataFrame:
    """Per region and sector with any expected loss, biggest first."""
    h = result.horizon()
    h = h[(h["value_lost_mean"] > 0) | (h["shortage_prob"] > 0)]
    return h.sort_values(["value_lost_mean", "shortage_prob"], ascending=False).reset_index(
        drop=True
    )


def _print_montecarlo(result: MonteCarloResult) -> None:
    import pandas as pd

    from rareflow.cli.output import percent, print_table, usd

    cfg = result.config
    rows = _headline(result)
    head = f"{result.scenario.name}: {result.draws:,} draws (seed {cfg.seed})"
    if result.scenario.uncertainty.posterior:
        head += ", parameters from the calibrated posterior"
    if rows.empty:
        typer.echo(f"{head}: no shortage in any draw.")
        return
    prob = rows["shortage_prob"].map(percent) + " ± " + rows["shortage_prob_se"].map(percent)
    lost = rows["value_lost_mean"].map(usd) + " ± " + rows["value_lost_se"].map(usd)
    shown = pd.DataFrame(
        {
            "region": rows["region"],
            "sector": rows["sector"],
            f"P(share > {percent(cfg.threshold)})": prob,
            "E value lost": lost,
            "p5": rows["value_lost_p5"],
            "p50": rows["value_lost_p50"],
            "p95": rows["value_lost_p95"],
        }
    ).head(TOP)
    title = f"{head}: shortage and value lost over the horizon"
    print_table(shown, title=title, formats={"p5": usd, "p50": usd, "p95": usd})
    _print_monthly(result)


def _print_monthly(result: MonteCarloResult) -> None:
    import pandas as pd

    from rareflow.cli.output import percent, print_table

    q = result.quantiles("shortage_share")
    peak = q.loc[q.groupby(["region", "sector"])["mean"].idxmax()]
    peak = peak[peak["mean"] > 0].sort_values("mean", ascending=False).head(TOP)
    if peak.empty:
        return
    shown = pd.DataFrame(
        {
            "region": peak["region"],
            "sector": peak["sector"],
            "worst month": peak["month"],
            "mean share": peak["mean"],
            "± se": peak["se"],
            "p5": peak["p5"],
            "p50": peak["p50"],
            "p95": peak["p95"],
        }
    )
    formats = {k: percent for k in ("mean share", "± se", "p5", "p50", "p95")}
    print_table(shown, title="shortage share in the worst month (p5 / p50 / p95)",
                formats=formats)  # fmt: skip


def montecarlo(
    scenario: ScenarioArg,
    draws: Annotated[int, typer.Option("--draws", min=1, help="Number of draws.")] = 1000,
    seed: SeedOption = 0,
    months: MonthsOption = None,
    executor: ExecutorOption = ExecutorName.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    chunk_draws: Annotated[
        int | None,
        typer.Option("--chunk-draws", min=1, help="Draws per task (any size: same numbers)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Shortage share counted.")
    ] = 0.1,
    keep_paths: Annotated[
        int, typer.Option("--keep-paths", min=0, help="Store full paths of the first K draws.")
    ] = 0,
    kernel: Annotated[
        Kernel,
        typer.Option("--kernel", help="numba: the compiled month; numpy: the reference step."),
    ] = Kernel.numba,
    data: DataOption = None,
    store: StoreOption = None,
    fmt: ShownOption = Shown.table,
    impact: Annotated[
        bool,
        typer.Option(
            "--impact",
            help="Also the GDP loss per region (bundled input-output "
            "table, ARIO) with p5/p50/p95 over the draws; re-streams every draw.",
        ),
    ] = False,
    dtype: Annotated[
        Precision,
        typer.Option(
            "--dtype",
            help="Precision of the --impact ARIO state (inventories, orders): float32 is "
            "about 1.7-1.8x as fast, measured within 1e-6 of float64 (docs/economy.md).",
        ),
    ] = Precision.float64,
) -> None:
    """Monte Carlo over the scenario's uncertainty: quantiles, shortage probabilities, expected
    value lost, with standard errors; statistics are streamed and stored."""
    from rareflow.data.network import load_network
    from rareflow.uncertainty.run import load, run_montecarlo

    network = load_network(data)
    loaded = load(scenario, network)
    waiting = COMPILING if kernel is Kernel.numba and kernel_cold() else None
    progress = _progress(draws, "draws", waiting)
    with _executor(executor, scheduler, workers) as runner, progress as step:
        result = run_montecarlo(
            loaded, draws, seed=seed, months=months, network=network, executor=runner,
            chunk_draws=chunk_draws, threshold=threshold, keep_paths=keep_paths, progress=step,
            kernel=kernel.value,
        )  # fmt: skip
    run_id = open_store(store).save(result)
    _warn(result.warnings)
    gdp = _impact(result, dtype.value) if impact else None
    if fmt is Shown.json:
        body = payload(result)
        if gdp is not None:
            body["impact"] = [{str(k): v for k, v in r.items()} for r in gdp.to_dict("records")]
        print_json(body)
        return
    _print_montecarlo(result)
    if gdp is not None:
        from rareflow.cli.output import usd

        shown = gdp[["region", "gdp_loss_usd_p5", "gdp_loss_usd_p50", "gdp_loss_usd_p95"]]
        print_frame(shown, Format.table, title="GDP loss by region (--format json: shares)",
                    formats=dict.fromkeys(shown.columns[1:], usd))  # fmt: skip
    typer.echo(f"run {run_id} stored ({result.draws:,} draws, executor {result.executor})")


def _impact(result: MonteCarloResult, dtype: str) -> Any:
    from rareflow.economy.montecarlo import impact_table

    return impact_table(result, dtype=dtype)


def payload(result: MonteCarloResult) -> dict[str, Any]:
    """The JSON of a Monte Carlo run: horizon rows, monthly rows with any expected loss, how
    the quantiles were computed, and warnings."""
    from rareflow.history.records import records

    monthly = [result.quantiles(k).assign(metric=k) for k in ("shortage_share", "value_lost")]
    return {
        "run_id": result.run_id,
        "scenario": result.scenario.name,
        "draws": result.draws,
        "seed": result.config.seed,
        "threshold": result.config.threshold,
        "mass_balance_max_residual": result.mass_balance_max_residual,
        "warnings": result.warnings,
        "uncertainty": _source(result),
        "quantiles": result.quantile_methods(),
        "horizon": records(result.horizon()),
        "monthly": [r for m in monthly for r in records(m[m["mean"] > 0])],
    }


def _source(result: MonteCarloResult) -> str:
    """Where the draws' uncertainty comes from: the calibrated posterior, the scenario's own
    section, or nowhere (identical draws)."""
    spec = result.scenario.uncertainty
    if spec.posterior:
        return "posterior" + (" + scenario" if spec.parameters or spec.policies else "")
    return "none" if spec.is_empty() else "scenario"


def sensitivity(
    scenario: ScenarioArg,
    method: Annotated[Method, typer.Option("--method", help="oat, morris or sobol.")] = Method.oat,
    size: Annotated[
        int, typer.Option("--size", min=2, help="Morris trajectories / Sobol base sample.")
    ] = 16,
    output: Annotated[
        str, typer.Option("--output", help="value_lost_usd, units_not_built, peak_shortage_share.")
    ] = "value_lost_usd",
    seed: SeedOption = 0,
    months: MonthsOption = None,
    executor: ExecutorOption = ExecutorName.local,
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write a tornado chart (.png, .svg, .pdf).")
    ] = None,
    data: DataOption = None,
    fmt: ShownOption = Shown.table,
) -> None:
    """Which uncertain inputs drive the headline outputs (a tornado of their effects)."""
    from rareflow.data.network import load_network
    from rareflow.uncertainty.sensitivity import sensitivity as analyse
    from rareflow.uncertainty.sensitivity import tornado

    network = load_network(data)
    with _executor(executor, scheduler, workers) as runner, _progress(0, "runs") as step:
        result = analyse(
            scenario, method.value, size=size, seed=seed, output=output, months=months,
            network=network, executor=runner, progress=step,
        )  # fmt: skip
    if chart is not None:
        tornado(result, chart)
    if fmt is Shown.json:
        from rareflow.history.records import records

        print_json({"method": result.method, "output": result.output, "runs": result.runs,
                    "default_ranges": result.assumed, "ranges": result.ranges,
                    "warnings": _assumed(result),
                    "factors": records(result.table)})  # fmt: skip
        return
    _assumed(result)
    if result.ranges == "posterior":
        typer.echo("ranges: the calibrated posterior's marginals (`rareflow calibrate`)")
    _print_sensitivity(result)
    if chart is not None:
        typer.echo(f"wrote {chart}")


def _assumed(result: Sensitivity) -> list[str]:
    """A warning (stderr, and a JSON field) when the ranges are the defaults."""
    if not result.assumed:
        return []
    text = ("the scenario has no uncertainty section: these are the default ranges of the main "
            "behavioural parameters (assumptions, `rareflow.uncertainty.defaults`)")  # fmt: skip
    _warn([text])
    return [text]


def _print_sensitivity(result: Sensitivity) -> None:
    from rareflow.cli.output import count, percent, print_table, usd

    t = result.table.copy()
    top = float(t["importance"].max()) or 1.0
    t["tornado"] = (t["importance"] / top * 12).round().astype(int).map(lambda n: "█" * n)
    unit = {"value_lost_usd": usd, "units_not_built": count, "peak_shortage_share": percent}
    formats = {c: unit[result.output] for c in ("base", "low", "high") if c in t}
    title = f"what drives {result.output} ({result.method}, {result.runs} runs)"
    shown = t.drop(columns="importance")
    if shown["kind"].nunique() == 1:  # one kind: said once in the title, room for the bars
        title += f"; every factor a {shown['kind'].iloc[0]}"
        shown = shown.drop(columns="kind")
    print_table(shown, title=title, formats=formats)


def register(app: typer.Typer) -> None:
    app.command("montecarlo")(montecarlo)
    app.command("sensitivity")(sensitivity)
