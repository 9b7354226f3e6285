"""``rareflow events|calibrate|backtest|report backtest``: the timeline and the model's record.

Heavy modules (pandas, scipy, the engine, plotly) are imported inside the commands.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

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


def calibrate(
    window: Annotated[
        str | None,
        typer.Option(help="Months fitted, START:END (YYYY-MM:YYYY-MM); default: all observed."),
    ] = None,
    data: DataOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the fit without storing it.")
    ] = False,
    fmt: ShownOption = Shown.table,
) -> None:
    """Fit the behavioural parameters to China's customs magnet exports and store them."""
    from rareflow.history.calibrate import calibrate as fit
    from rareflow.history.calibrate import parse_window, store_fit

    start, end = parse_window(window)
    with working("fitting the parameters to the observed exports (about a minute)"):
        result = fit(start=start, end=end, data_dir=data)
    if not dry_run:
        store_fit(result)
    if fmt is Shown.json:
        print_json(result.as_dict())
        return
    print_frame(result.table(), Format.table, title=result.title())


def backtest(
    until: Annotated[str | None, typer.Option(help="Last month modelled, YYYY-MM.")] = None,
    origins: OriginsOption = "2025-05,2025-06,2025-07",
    data: DataOption = None,
    fmt: ShownOption = Shown.table,
) -> None:
    """Modelled against observed China magnet exports, prices and stoppages, with skill metrics
    beside naive forecasts."""
    import pandas as pd

    from rareflow.history.backtest import backtest as run_backtest

    with working(BACKTESTING):
        result = run_backtest(until=until, data_dir=data, origins=_origins(origins))
    if fmt is Shown.json:
        print_json(result.as_dict())
        return
    print_frame(result.summary_table(), Format.table, title="Skill by destination vs naive")
    print_frame(result.metrics_table(), Format.table, title="Skill by series (in sample)")
    print_frame(result.out_of_sample_table(), Format.table, title="Rolling-origin skill")
    if result.prices is not None:
        prices = [m for m in result.prices.metrics if "mape" in m]
        print_frame(pd.DataFrame(prices), Format.table, title="Prices (in sample)")
    if result.stoppages is not None:
        events = result.stoppages.events
        shown = events[["month", "regions", "sector", "company", "matched", "modelled_peak_share"]]
        shown = shown.assign(company=shown["company"].str.slice(0, 32))
        title = f"Reported stoppages matched: {int(events['matched'].sum())} of {len(events)}"
        print_frame(shown, Format.table, title=title)


def report_backtest(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    until: Annotated[str | None, typer.Option(help="Last month modelled, YYYY-MM.")] = None,
    origins: OriginsOption = "2025-05,2025-06,2025-07",
    data: DataOption = None,
) -> None:
    """Write an offline HTML report: modelled against observed, episodes and their events."""
    from rareflow.history.backtest import backtest as run_backtest
    from rareflow.history.report import write_backtest_report

    with working(BACKTESTING):
        result = run_backtest(until=until, data_dir=data, origins=_origins(origins))
    with working(f"writing {out}"):
        path = write_backtest_report(result, out)
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
    """Add ``events``, ``calibrate``, ``backtest`` and the ``report`` group to ``app``."""
    app.command("events")(events)
    app.command("calibrate")(calibrate)
    app.command("backtest")(backtest)
    report_app.command("backtest")(report_backtest)
    report_app.command("run")(report_run)
    app.add_typer(report_app, name="report")
