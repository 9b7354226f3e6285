"""``rareflow events|calibrate|backtest|forecast|report backtest``: the timeline and the model's
record.

Heavy modules (pandas, scipy, the engine, plotly) are imported inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rareflow.cli.output import Format, print_frame, print_json, working


class Shown(StrEnum):
    table = "table"
    json = "json"


ShownOption = Annotated[Shown, typer.Option("--format", help="table or json.")]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Dataset directory (CSV or Parquet per table); default: bundled."),
]
OriginsOption = Annotated[
    str,
    typer.Option(
        "--origins",
        help="Rolling-origin months, comma-separated (refit before each); 'none' to skip.",
    ),
]
report_app = typer.Typer(help="Write HTML reports.", no_args_is_help=True)
BACKTESTING = "backtesting: refitting at each rolling origin (about 25 s)"


def _origins(text: str) -> tuple[str, ...]:
    from rareflow.errors import UserInputError
    from rareflow.policies.instruments import MONTH_PATTERN

    if text.strip().lower() == "none":
        return ()
    months = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in months if not MONTH_PATTERN.match(m)]
    if bad:
        raise UserInputError(
            "not a month", column="--origins", value=bad[0], expected="YYYY-MM,YYYY-MM or none"
        )
    return months


def events(
    since: Annotated[str | None, typer.Option(help="First date, YYYY[-MM[-DD]].")] = None,
    until: Annotated[str | None, typer.Option(help="Last date, YYYY[-MM[-DD]].")] = None,
    item: Annotated[
        str | None, typer.Option(help="Element symbol (Dy) or product code (ndfeb_sintered).")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Region code (CHN) or name fragment (China).")
    ] = None,
    fmt: ShownOption = Shown.table,
) -> None:
    """List the policy events 2010-2026, each with its instruments or why it is not modelled."""
    from rareflow.history.timeline import events_frame, select

    frame = events_frame(select(since=since, until=until, item=item, actor=actor))
    if fmt is Shown.json:
        print_frame(frame, Format.json)
        return
    shown = frame[["date", "actor", "instrument", "items", "modelled"]].copy()
    shown["model"] = [
        ", ".join(ids) if ids else why
        for ids, why in zip(frame["policies"], frame["why_not_modelled"], strict=True)
    ]
    shown["actor"] = shown["actor"].str.slice(0, 28)
    shown["items"] = shown["items"].str.slice(0, 40)
    shown["model"] = shown["model"].str.slice(0, 60)
    print_frame(shown, Format.table, title=f"{len(frame)} policy events")


class PointRule(StrEnum):
    median = "median"
    mean = "mean"
    medoid = "medoid"
    map = "map"


def calibrate(
    window: Annotated[
        str | None,
        typer.Option(
            help="Months fitted, START:END (YYYY-MM:YYYY-MM); default 2024-01 to the "
            "last observed month."
        ),
    ] = None,
    particles: Annotated[
        int, typer.Option("--particles", min=4, help="Particles kept per generation.")
    ] = 200,
    generations: Annotated[
        int, typer.Option("--generations", min=1, max=50, help="Most ABC-SMC generations.")
    ] = 8,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.05, max=0.95, help="Share kept each generation.")
    ] = 0.5,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="Family weights, e.g. 'exports=1,prices=0.5' (families: "
            "exports, prices, approvals, stoppages; default: each by the square root of its "
            "effective observations, over their mean).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the result here (json or csv).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Do not store the posterior in the package.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
    point: Annotated[
        PointRule,
        typer.Option(
            "--point",
            help="The point single runs use: median (each parameter's "
            "weighted marginal median), mean, medoid (the particle at the sample's "
            "centre) or map (the particle with the smallest combined discrepancy); "
            "see docs/history.md.",
        ),
    ] = PointRule.map,
    from_stored: Annotated[
        bool,
        typer.Option(
            "--from-stored",
            help="Fit nothing: compare every point rule's combined "
            "discrepancy on the bundled posterior and store the --point one (unless "
            "--dry-run).",
        ),
    ] = False,
) -> None:
    """Fit the behavioural parameters to 2024-2025 exports by destination, price ratios,
    licence approvals and stoppage timing at once (ABC-SMC), and report their posterior."""
    from rareflow.history.calibrate import parse_window
    from rareflow.history.posterior import fit_posterior

    if from_stored:
        _point_from_stored(point.value, dry_run, fmt)
        return
    start, end = parse_window(window)
    with _generation_bar(generations) as step:
        post = fit_posterior(start=start or "2024-01", end=end or _last_observed(), keep=particles,
                             alpha=alpha, max_generations=generations, seed=seed,
                             family_weights=_family_weights(weights), progress=step)  # fmt: skip
    if not dry_run:
        _store(post, point.value)
    if out is not None:
        _write_out(post, out, Format.csv if fmt is Format.csv else Format.json)
    _show_posterior(post, fmt)


def _last_observed() -> str:
    from rareflow.history.observed import read_observed

    return min(str(read_observed()["month"].max()), "2025-09")


def _family_weights(text: str | None) -> dict[str, float]:
    from rareflow.errors import UserInputError
    from rareflow.history.targets import FAMILIES

    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if name.strip() not in FAMILIES or not number >= 0:
            raise UserInputError("not a family weight", column="--weights", value=part.strip(),
                                 expected="FAMILY=WEIGHT (>= 0), FAMILY one of "
                                 + ", ".join(FAMILIES))  # fmt: skip
        out[name.strip()] = number
    return out


@contextmanager
def _generation_bar(total: int) -> Iterator[Callable[[int, Any], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from rareflow.cli.output import console_err

    console = console_err()
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("[bold]{task.description}", *columns, console=console,
                  transient=True) as bar:  # fmt: skip
        task = bar.add_task("ABC-SMC: prior draws", total=total)

        def step(g: int, gen: Any) -> None:
            text = f"ABC-SMC generation {g}: epsilon {gen.epsilon:.3g}"
            bar.update(task, advance=1, description=text)
            if not console.is_terminal:
                console.print(f"{text}, acceptance {gen.acceptance:.0%}", highlight=False)

        yield step


def _store(post: Any, rule: str) -> None:
    from rareflow.history.calibrate import store_point
    from rareflow.history.posterior import write_posterior

    post.provenance["point_rule"] = rule
    write_posterior(post)
    store_point(post, _point_of(post, rule)[0][rule], rule)


def _point_of(post: Any, rule: str) -> tuple[dict[str, dict[str, float]], Any]:
    """Every rule's point of ``post`` and the calibration's scoring (None unless ``rule`` or
    a comparison needs runs: ``map`` does)."""
    from rareflow.data.network import load_network
    from rareflow.history import point as pt
    from rareflow.history.simulator import HistorySimulator
    from rareflow.history.targets import Targets

    if rule != "map":
        return pt.candidates(post), None
    start, end = post.provenance["window"].split(":")
    sim = HistorySimulator(end, network=load_network(calibrated=False))
    score = pt.scoring(post, Targets(sim, start, end))
    return pt.candidates(post, score), score


def _point_from_stored(rule: str, dry_run: bool, fmt: Format) -> None:
    """Each rule's combined discrepancy on the bundled posterior, then store ``rule``'s."""
    import pandas as pd

    from rareflow.cli.output import print_table
    from rareflow.history import point as pt
    from rareflow.history.calibrate import store_point
    from rareflow.history.posterior import read_stored, record_point_rule
    from rareflow.history.targets import FAMILIES

    post = read_stored()
    with working("scoring each point rule on the bundled posterior (about 15 s)"):
        points, score = _point_of(post, "map")
        scored = pt.evaluate(score, points)
    rows = [{"rule": r, "stored": r == rule, **dict(zip([*FAMILIES, "combined"],
                                                         map(float, v), strict=True))}
            for r, v in scored.items()]  # fmt: skip
    if not dry_run:
        store_point(post, points[rule], rule)
        record_point_rule(rule)
    if fmt is Format.json:
        print_json({"rules": rows, "points": points, "stored": None if dry_run else rule})
        return
    table = pd.DataFrame(rows)
    if fmt is Format.csv:
        print_frame(table, Format.csv)
        return
    table["stored"] = table["stored"].map(lambda v: "yes" if v and not dry_run else "")
    print_table(table, float_format="{:.4f}", title="Combined discrepancy of each point of the bundled posterior "
                "(the calibration's distance; lower fits better)")  # fmt: skip


def _write_out(post: Any, out: Path, fmt: Format) -> None:
    import json

    from rareflow.io.export import atomic_path

    with atomic_path(out) as tmp:
        if fmt is Format.csv:
            post.table().to_csv(tmp, index=False)
        else:
            tmp.write_text(json.dumps(post.as_dict(), indent=2, default=str) + "\n",
                           encoding="utf-8")  # fmt: skip


def _show_posterior(post: Any, fmt: Format) -> None:
    import pandas as pd

    from rareflow.cli.output import console_err, print_table

    if fmt is Format.json:
        print_json(post.as_dict())
        return
    table = post.table()
    if fmt is Format.csv:
        print_frame(table, Format.csv)
        return
    g = f"{post.provenance['generations']} generations, {post.provenance['simulations']:,} runs"
    if "point_rule" in post.provenance:
        g += f"; single runs use its {post.provenance['point_rule']} (--point)"
    shown = pd.DataFrame({
        "parameter": table["parameter"],
        "prior": [f"{a:g}..{b:g}" for a, b in zip(table["prior_lower"], table["prior_upper"],
                                                  strict=True)],
        "median": table["median"].map(lambda v: f"{v:.3g}"),
        "90% interval": [f"{a:.3g}..{b:.3g}" for a, b in zip(table["p5"], table["p95"],
                                                            strict=True)],
        "flag": ["prior" if p else f"at {b}" if b else ""
                 for p, b in zip(table["prior_only"], table["at_bound"], strict=True)],
    })  # fmt: skip
    print_table(shown, title=f"Posterior, {post.provenance['window']} ({g})")
    ppc = post.ppc_table()
    ppc["share_inside"] = ppc["share_inside"].map(
        lambda v: "-" if v is None or v != v else f"{v:.0%}"
    )
    print_table(ppc, title="Posterior predictive: observations inside the 90% band")
    for text in post.warnings():
        console_err().print(f"[bold yellow]warning:[/] {text}", markup=True, highlight=False)


class CsvTable(StrEnum):
    rows = "rows"
    summary = "summary"
    metrics = "metrics"
    rolling = "rolling"
    prices = "prices"
    stoppages = "stoppages"


PERCENT_WORDS = ("mape", "depth", "share", "change")


def _percent_formats(frame: Any) -> dict[str, Any]:
    """Shares and errors (MAPE, depths, changes) as percentages in the table."""
    from rareflow.cli.output import percent

    return {c: percent for c in frame.columns if any(w in str(c) for w in PERCENT_WORDS)}


def backtest(
    until: Annotated[str | None, typer.Option(help="Last month modelled, YYYY-MM.")] = None,
    origins: OriginsOption = "2025-05,2025-06,2025-07",
    data: DataOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
    csv_table: Annotated[
        CsvTable,
        typer.Option(
            "--csv-table",
            help="The table --format csv writes: rows (modelled and "
            "observed per month), summary, metrics, rolling, prices or stoppages.",
        ),
    ] = CsvTable.rows,
) -> None:
    """Modelled against observed China magnet exports, prices and stoppages, with skill metrics
    beside naive forecasts."""
    import pandas as pd

    from rareflow.history.backtest import backtest as run_backtest

    with working(BACKTESTING):
        result = run_backtest(until=until, data_dir=data, origins=_origins(origins))
    if fmt is Format.json:
        print_json(result.as_dict())
        return
    if fmt is Format.csv:
        print_frame(_csv_table(result, csv_table), Format.csv)
        return

    def show(frame: pd.DataFrame, title: str) -> None:
        print_frame(frame, Format.table, title=title, formats=_percent_formats(frame))

    show(result.summary_table(), "Skill by destination vs naive (MAPE)")
    show(result.metrics_table(), "Skill by series (in sample)")
    show(result.out_of_sample_table(), "Rolling-origin skill")
    if result.prices is not None:
        prices = [m for m in result.prices.metrics if "mape" in m]
        show(pd.DataFrame(prices), "Prices (in sample)")
    if result.stoppages is not None:
        events = result.stoppages.events
        shown = events[["month", "regions", "sector", "company", "matched", "modelled_peak_share"]]
        shown = shown.assign(company=shown["company"].str.slice(0, 32))
        title = f"Reported stoppages matched: {int(events['matched'].sum())} of {len(events)}"
        show(shown, title)


UntilOption = Annotated[
    str, typer.Option(help="Last month forecast, YYYY-MM (after the fitted window).")
]
DrawsOption = Annotated[
    int, typer.Option("--draws", min=0, help="Posterior draws for the bands (0: none).")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the posterior draws.")]
ObservedOption = Annotated[
    Path | None,
    typer.Option(
        "--observed",
        help="Later customs figures to score the forecast against: the bundled "
        "china_magnet_exports_monthly.csv layout, or columns month, destination, tonnes.",
    ),
]


def forecast(
    until: UntilOption = "2026-12",
    draws: DrawsOption = 200,
    seed: SeedOption = 0,
    observed: ObservedOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """China's magnet exports by destination after the calibration window, with posterior
    bands and the naive forecasts; scored against later customs figures with --observed."""
    from rareflow.history.forecast import forecast as run_forecast

    with working(f"forecast: the history run over {draws} posterior draws"):
        result = run_forecast(until=until, draws=draws, seed=seed, observed_path=observed)
    if fmt is Format.json:
        print_json(result.as_dict())
        return
    if fmt is Format.csv:
        print_frame(result.rows, Format.csv)
        return
    import pandas as pd

    print_frame(_forecast_table(result.rows), Format.table, float_format="{:,.0f}",
                title=f"China's magnet exports forecast, t/month (fitted through "
                f"{result.fitted_through}; every series and column: --format csv)")  # fmt: skip
    if result.scores:
        from rareflow.cli.output import percent

        scores = pd.DataFrame(result.scores)
        table = pd.DataFrame({
            "to": scores["destination"], "months": scores["months"],
            "model": scores["mape_point"], "persistence": scores["mape_persistence"],
            "last_year": scores["mape_last_year"], "in_90": scores["inside_interval_90"],
        })  # fmt: skip
        print_frame(table, Format.table, formats=dict.fromkeys(table.columns[2:], percent),
                    title="MAPE against the later observations, and the share inside "
                    "interval_90 (every column: --format json)")  # fmt: skip
    for note in result.notes:
        typer.echo(f"- {note}", err=True)


FORECAST_SHOWN = ("World", "DEU", "USA", "JPN", "KOR", "IND")


def _forecast_table(rows: Any) -> Any:
    """The main series, with each 90% band as one 'low-high' column (narrow names: the
    table must fit a terminal)."""
    import pandas as pd

    def band(low: str, high: str) -> list[str]:
        return [f"{a:,.0f}-{b:,.0f}" for a, b in zip(part[low], part[high], strict=True)]

    part = rows[rows["destination"].isin(FORECAST_SHOWN)]
    table = pd.DataFrame(
        {"month": part["month"], "to": part["destination"], "point": part["point_tonnes"]}
    ).assign(
        posterior_90=band("posterior_p5", "posterior_p95"),
        interval_90=band("low_90", "high_90"),
        persistence=part["persistence_tonnes"],
        last_year=part["last_year_tonnes"],
    )
    if "observed_tonnes" in part:
        table = table.assign(observed=part["observed_tonnes"])
    return table


def _csv_table(result: Any, which: CsvTable) -> Any:
    import pandas as pd

    if which is CsvTable.summary:
        return result.summary_table()
    if which is CsvTable.metrics:
        return result.metrics_table()
    if which is CsvTable.rolling:
        return result.out_of_sample_table()
    if which is CsvTable.prices:
        return result.prices.rows if result.prices is not None else pd.DataFrame()
    if which is CsvTable.stoppages:
        return result.stoppages.events if result.stoppages is not None else pd.DataFrame()
    return result.rows


def report_backtest(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    until: Annotated[str | None, typer.Option(help="Last month modelled, YYYY-MM.")] = None,
    origins: OriginsOption = "2025-05,2025-06,2025-07",
    data: DataOption = None,
    draws: Annotated[
        int, typer.Option("--draws", min=0, help="Posterior draws for the fan charts (0: none).")
    ] = 100,
) -> None:
    """Write an offline HTML report: modelled against observed with fan charts of the
    posterior predictive, episodes and their events."""
    from rareflow.history.backtest import backtest as run_backtest
    from rareflow.history.report import posterior_bands, write_backtest_report

    with working(BACKTESTING):
        result = run_backtest(until=until, data_dir=data, origins=_origins(origins))
    bands = None
    if draws:
        series = list(dict.fromkeys(result.rows["destination"]))
        with working(f"posterior predictive: {draws} runs"):
            bands = posterior_bands(result.until, series, draws)
    with working(f"writing {out}"):
        path = write_backtest_report(result, out, bands)
    typer.echo(f"wrote {path}")


def report_forecast(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    until: UntilOption = "2026-12",
    draws: DrawsOption = 200,
    seed: SeedOption = 0,
    observed: ObservedOption = None,
) -> None:
    """Write an offline HTML page of the forecast: per series, the fitted window's
    observations, the forecast with its bands, the naive forecasts and any later figures."""
    from rareflow.history.forecast import forecast as run_forecast
    from rareflow.history.forecast_report import write_forecast_report

    with working(f"forecast: the history run over {draws} posterior draws"):
        result = run_forecast(until=until, draws=draws, seed=seed, observed_path=observed)
    with working(f"writing {out}"):
        path = write_forecast_report(result, out)
    typer.echo(f"wrote {path}")


def report_run(
    run_id: Annotated[str, typer.Argument(help="A stored run's id (or a unique prefix).")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    store: Annotated[
        Path | None, typer.Option("--store", help="Results store (DuckDB file).")
    ] = None,
) -> None:
    """Write a one-page offline brief of a run: who is short, from when, for how long, at what
    cost; the shortage paths; the prices that moved; the measures, assumptions and sources."""
    from rareflow.analytics.brief import write_brief
    from rareflow.cli.run import open_store

    path = write_brief(open_store(store), run_id, out)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``events``, ``calibrate``, ``backtest``, ``forecast`` and the ``report`` group to
    ``app`` (``cli.hindcast`` adds its command and report to both)."""
    app.command("events")(events)
    app.command("calibrate")(calibrate)
    app.command("backtest")(backtest)
    app.command("forecast")(forecast)
    report_app.command("backtest")(report_backtest)
    report_app.command("forecast")(report_forecast)
    report_app.command("run")(report_run)
    app.add_typer(report_app, name="report")
