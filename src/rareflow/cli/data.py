"""``rareflow data``: check, explain and export the dataset the model runs on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rareflow.cli.output import Format, print_frame, print_json
from rareflow.errors import EXIT_CHECK_FAILED, UserInputError
from rareflow.history.records import records

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.data.network import Network

app = typer.Typer(help="Check, explain and export the dataset.", no_args_is_help=True)

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Dataset directory (CSV or Parquet per table); default: bundled."),
]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv.")]
STAGES = ("mining", "separation", "heavy_separation", "metal", "magnet")


def load(data: Path | None, *, balanced: bool = True) -> Network:
    from rareflow.data.network import load_network

    return load_network(data, balanced=balanced)


@app.command()
def check(data: DataOption = None, fmt: FormatOption = Format.table) -> None:
    """Validate a dataset against its schema and mass balance (exit 1 if it does not hold)."""
    from rareflow.data.provenance import provenance_counts
    from rareflow.data.validate import BALANCE_TOLERANCE, balance

    net = load(data, balanced=False)  # the balance is reported below, node by node
    report = balance(net)
    counts = provenance_counts(net)
    ok = report.ok and counts["unsourced"] == 0
    worst = report.worst(5)
    payload = {
        "ok": ok,
        "dataset": net.source,
        "tables": len(net.tables),
        "max_relative_imbalance": report.max_relative_imbalance,
        "balance_tolerance": BALANCE_TOLERANCE,
        **counts,
        "worst_nodes": records(
            worst[["year", "region", "product", "relative_imbalance", "imbalance"]].rename(
                columns={"imbalance": "imbalance_tonnes_per_year"}
            )
        ),
    }
    if fmt is Format.table:
        _print_check(payload)
    else:
        print_json(payload)
    if not ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _print_check(payload: dict) -> None:
    from rich.console import Console

    console = Console()
    mark = "[green]OK[/]" if payload["ok"] else "[red]FAILED[/]"
    console.print(f"{mark} {payload['dataset']}: {payload['tables']} tables")
    console.print(
        f"mass balance: max relative imbalance {payload['max_relative_imbalance']:.2e} "
        f"(tolerance {payload['balance_tolerance']:.0e})"
    )
    console.print(
        f"values: {payload['values']:,} = sourced {payload['sourced']:,} + derived "
        f"{payload['derived']:,} + assumptions {payload['assumptions']:,}; "
        f"unsourced {payload['unsourced']}"
    )
    if not payload["ok"]:
        console.print("worst nodes (production + imports vs use + exports + stock change):")
        for node in payload["worst_nodes"]:
            console.print(
                f"  {node['year']} {node['region']} {node['product']}: "
                f"{node['imbalance_tonnes_per_year']:,.1f} t/yr "
                f"({node['relative_imbalance']:.2%})"
            )


@app.command()
def shares(
    stage: Annotated[str, typer.Option("--stage", help="One of: " + ", ".join(STAGES))],
    year: Annotated[int | None, typer.Option("--year", help="Default: the base year.")] = None,
    element: Annotated[str | None, typer.Option("--element", help="e.g. Dy, Nd.")] = None,
    data: DataOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Country shares at a stage of the chain (fractions), largest first."""
    from rareflow.analytics.shares import stage_shares

    if stage not in STAGES:
        raise UserInputError(
            "unknown stage", column="--stage", value=stage, expected=", ".join(STAGES)
        )
    net = load(data)
    frame = stage_shares(net, stage, year=year, element=element)
    title = f"{stage} shares {year or net.base_year}" + (f", {element}" if element else "")
    print_frame(frame, fmt, title=title)


PROVENANCES = ("sourced", "derived", "assumption", "calibrated")


@app.command()
def sources(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    provenance: Annotated[
        str | None,
        typer.Option("--provenance", help="Only values " + ", ".join(PROVENANCES) + "."),
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Only values whose key, note or URL has this.")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every value (the table shows a summary by default).")
    ] = False,
    data: DataOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Where every value comes from: a summary by table and source (--all: every value with
    its source URL and note, method, or assumption; JSON and CSV always list every value)."""
    from rareflow.data.provenance import sources as provenance_sources
    from rareflow.data.schema import TABLES

    net = load(data)
    if table is not None and table not in TABLES:
        raise UserInputError(
            "unknown table", column="--table", value=table, expected=", ".join(TABLES)
        )
    if product is not None and product not in net.products:
        raise UserInputError(
            "unknown product", column="--product", value=product, expected=", ".join(net.products)
        )
    if provenance is not None and provenance not in PROVENANCES:
        raise UserInputError("unknown provenance", column="--provenance", value=provenance,
                             expected=", ".join(PROVENANCES))  # fmt: skip
    frame = provenance_sources(net, table=table, product=product)
    if provenance is not None:
        frame = frame[frame["provenance"] == provenance]
    if search:
        text = frame["key"] + " " + frame["note"].astype(str) + " " + frame["source_url"]
        frame = frame[text.str.contains(search, case=False, regex=False)]
    if show_all or fmt is not Format.table:
        print_frame(frame.reset_index(drop=True), fmt, title="provenance")
        return
    _sources_summary(frame)


def _sources_summary(frame: pd.DataFrame) -> None:
    """Values by table and provenance, then each source URL with its count, in full."""
    import pandas as pd

    counts = pd.crosstab(frame["table"], frame["provenance"])
    counts = counts.reindex(columns=[p for p in PROVENANCES if p in counts.columns])
    counts.insert(0, "values", counts.sum(axis=1))
    print_frame(counts.reset_index(), Format.table, title=f"provenance of {len(frame):,} values")
    urls = frame.loc[frame["source_url"].astype(str) != "", "source_url"].value_counts()
    if len(urls):
        typer.echo(f"\n{len(urls)} sources (values citing each):")
        for url, n in urls.items():
            typer.echo(f"{n:>6,}  {url}")
    typer.echo("\n--all lists every value with its note; --table, --product, --provenance\n"
               "and --search filter; --format csv gives a spreadsheet.")  # fmt: skip


@app.command()
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write the tables.")],
    file_format: Annotated[str, typer.Option("--file-format", help="csv or parquet.")] = "csv",
    data: DataOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Write the dataset (one file per table) to edit and pass back with --data."""
    from rareflow.data.io import write_tables

    net = load(data)
    written = write_tables(net.tables, directory, file_format)
    if fmt is Format.table:
        typer.echo(f"wrote {len(written)} tables to {directory}")
    else:
        print_json({"directory": str(directory), "files": [str(p) for p in written]})


@app.command()
def schema(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The declared schema: every table's columns with type, unit, default and meaning."""
    import pandas as pd

    from rareflow.data.schema import TABLES

    rows = [
        {
            "table": t.name,
            "column": c.name,
            "type": c.dtype,
            "unit": c.unit,
            "required": c.required,
            "default": "" if c.default is None else str(c.default),
            "allowed": ", ".join(c.allowed) if c.allowed else (c.references or ""),
            "description": c.description,
        }
        for t in TABLES.values()
        if table is None or t.name == table
        for c in t.all_columns
    ]
    if not rows:
        raise UserInputError(
            "unknown table", column="--table", value=table, expected=", ".join(TABLES)
        )
    print_frame(pd.DataFrame(rows), fmt, title="schema")
