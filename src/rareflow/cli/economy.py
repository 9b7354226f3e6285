"""``rareflow impact RUN_ID``: value added and GDP lost through an input-output table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rareflow.cli.output import Format, count, percent, print_frame, usd
from rareflow.cli.run import StoreOption, open_store

MrioOption = Annotated[
    Path | None,
    typer.Option("--mrio", help="An input-output table pymrio reads (folder saved by pymrio, "
                 "EXIOBASE 3 zip, OECD ICIO file); default: the bundled 15-region table."),
]  # fmt: skip
MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", help="CSV from the table's regions and sectors to rareflow's "
                 "(kind,table,rareflow,share,note); default: shipped for the table's kind."),
]  # fmt: skip
FORMATS = {"value_added_lost_usd": usd, "gdp_loss_share": percent, "indirect_share": percent,
           "units_lost": count, "units_deferred": count, "gdp_loss_usd": usd}  # fmt: skip


def impact(
    run_id: Annotated[
        str, typer.Argument(help="A stored run (`rareflow runs`); a prefix will do.")
    ],
    mrio: MrioOption = None,
    mapping: MappingOption = None,
    monthly: Annotated[bool, typer.Option("--monthly", help="Per region and month.")] = False,
    step: Annotated[str, typer.Option("--step", help="ARIO step: day or month.")] = "day",
    store: StoreOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """Value added and GDP a stored run's shortages cost, through an input-output table (ARIO).

    Rows: region, sector (of the table), value_added_lost_usd, gdp_loss_share (of the region's
    GDP over the run's months), indirect_share (loss in sectors that use no rare earths),
    units_lost, units_deferred (the run's; a run without them: units_not_built as lost).
    """
    from rareflow.economy.impact import horizon
    from rareflow.economy.stored import stored_impact
    from rareflow.engine.dims import month_text

    ds = stored_impact(open_store(store), run_id, mrio, mapping, step)
    if monthly:
        lost = ds["value_added_lost_usd"].sum("sector").mean("draw")
        frame = lost.to_dataframe("gdp_loss_usd").reset_index()
        frame["month"] = month_text(frame["month"])
        frame["gdp_loss_share"] = frame["gdp_loss_usd"] / (
            frame["region"].map(ds["gdp_usd"].to_series()) / 12
        )
        frame = frame[["region", "month", "gdp_loss_usd", "gdp_loss_share"]]
    else:
        frame = horizon(ds)
    title = f"run {ds.attrs['run_id']}: value added lost ({ds.attrs['table']}, {step} steps)"
    if fmt is not Format.table or monthly:
        print_frame(frame, fmt, title=title, formats=FORMATS)
    else:
        totals = frame[frame["sector"] == "total"]
        print_frame(totals[["region", "value_added_lost_usd", "gdp_loss_share", "indirect_share"]],
                    fmt, title=title, formats=FORMATS)  # fmt: skip
        top = frame[frame["sector"] != "total"].nlargest(10, "value_added_lost_usd")
        print_frame(top[["region", "sector", "value_added_lost_usd", "units_lost"]], fmt,
                    title="largest losses by sector (--format json or csv: every row)",
                    formats=FORMATS)  # fmt: skip
    if fmt is Format.table:
        notes = [f"units from {ds.attrs['units_source']}"]
        if ds.attrs.get("no_shortage"):
            notes.insert(0, "no shortage in this run: zero loss")
        if ds.attrs.get("montecarlo_paths"):
            notes.append("a Monte Carlo run: draws 0-2 are its p5, p50 and p95 shortage paths")
        typer.echo("; ".join(notes))
    elif ds.attrs.get("no_shortage"):
        typer.echo("no shortage in this run: zero loss", err=True)


def register(app: typer.Typer) -> None:
    app.command("impact")(impact)
