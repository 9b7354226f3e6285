"""``rareflow hindcast``: the model's prices through the 2010-2011 episode, scored against
held-out prices with ``--observed`` (``history/hindcast.py``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rareflow.cli.history import DataOption, report_app
from rareflow.cli.output import Format, multiple, percent, print_frame, print_json, working


class HindcastTable(StrEnum):
    summary = "summary"
    paths = "paths"
    scores = "scores"
    quota_fill = "quota_fill"


UntilOption = Annotated[str, typer.Option(help="Last month run, YYYY-MM (2011-01 to 2020-12).")]
ObservedOption = Annotated[
    Path | None,
    typer.Option(
        "--observed",
        help="Prices to score against: the layout of prices_2025_monthly.csv (date, "
        "product, market, value, unit) or columns month, product, market, usd_per_kg.",
    ),
]


def hindcast(
    until: UntilOption = "2015-12",
    observed: ObservedOption = None,
    data: DataOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
    csv_table: Annotated[
        HindcastTable,
        typer.Option(
            "--csv-table",
            help="The table --format csv writes: summary, paths "
            "(modelled and observed multiple per month), scores or quota_fill (the share of "
            "China's export quota filled per year, modelled and observed).",
        ),
    ] = HindcastTable.summary,
) -> None:
    """The 2010-2011 quota cut and Japan hold run to --until: price multiples against the
    no-policy 2010 run, stated now and scored against held-out prices with --observed."""
    from rareflow.history.hindcast import hindcast as run_hindcast

    with working("hindcast: the 2010 episode and its baseline"):
        result = run_hindcast(until=until, observed_path=observed, data_dir=data)
    if fmt is Format.json:
        print_json(result.as_dict())
        return
    if fmt is Format.csv:
        print_frame(getattr(result, csv_table.value), Format.csv)
        return
    _print_tables(result)


def report_hindcast(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    until: UntilOption = "2015-12",
    observed: ObservedOption = None,
) -> None:
    """Write an offline HTML page of the hindcast: per product, the modelled multiples in and
    outside China and any observed ones, the peaks and decay, and the scores."""
    from rareflow.history.hindcast import hindcast as run_hindcast
    from rareflow.history.hindcast_figure import write_hindcast_report

    with working("hindcast: the 2010 episode and its baseline"):
        result = run_hindcast(until=until, observed_path=observed)
    path = write_hindcast_report(result, out)
    typer.echo(f"wrote {path}")


def _pairs(frame: Any, first: str, second: str, show: Any) -> Any:
    return frame[first].map(show) + "/" + frame[second].map(show)


def _print_tables(result: Any) -> None:
    import pandas as pd

    s = result.summary
    share = next(c for c in s.columns if c.startswith("share_of_peak"))
    table = pd.DataFrame({
        "product": s["product"], "market": s["market"], "peak": s["peak_month"],
        "peak_x": s["peak_multiple"], "2011-12": s["multiple_2011-12"],
        "2013-12": s["multiple_2013-12"], "left": s[share],
    })  # fmt: skip
    formats = {**dict.fromkeys(("peak_x", "2011-12", "2013-12"), multiple), "left": percent}
    print_frame(table, Format.table, formats=formats,
                title=f"Hindcast 2010-01 to {result.until}: price multiples against the "
                "no-policy 2010 run ('left': share of the peak left at 2013-12; every month: "
                "--format csv --csv-table paths)")  # fmt: skip
    _print_fill(result.quota_fill)
    if len(result.scores):
        sc = result.scores.set_index(["product", "market"])
        pair = sc.drop(index=("all", "all"))
        scores = pd.DataFrame({
            "n": sc["months"],
            "peak obs/model": _pairs(pair, "observed_peak_month", "modelled_peak_month", str),
            "x obs/model": _pairs(pair, "observed_peak_multiple", "modelled_peak_multiple",
                                  lambda v: f"{v:,.1f}"),
            "log_err": sc["rmse_log"], "naive": sc["naive_rmse_log"],
        }, index=sc.index).reset_index()  # fmt: skip
        print_frame(scores, Format.table, float_format="{:.2f}",
                    title="Against the observed prices: the peak, and the path's RMS log "
                    "error beside no change (every column: --format json)")  # fmt: skip
    for note in result.notes:
        typer.echo(f"- {note}", err=True)


def _print_fill(fill: Any) -> None:
    import pandas as pd

    if not len(fill):
        return
    observed = [
        "" if pd.isna(low) else f"{percent(low)}-{percent(high)}"
        for low, high in zip(fill["observed_fill_low"], fill["observed_fill_high"], strict=True)
    ]
    table = pd.DataFrame({"year": fill["year"], "model": fill["modelled_fill"],
                          "observed": observed})  # fmt: skip
    print_frame(
        table,
        Format.table,
        formats={"model": percent},
        title="China's export quota filled (in sample; sources: --format json)",
    )


def register(app: typer.Typer) -> None:
    """Add ``hindcast`` to ``app`` and ``report hindcast`` to the report group."""
    app.command("hindcast")(hindcast)
    report_app.command("hindcast")(report_hindcast)
