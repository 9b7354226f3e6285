"""``rareflow risk``: concentration of each stage and EU-method criticality."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rareflow.cli.output import Format, print_frame

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.data.network import Network

app = typer.Typer(
    help="Risk analytics: concentration (HHI) and EU criticality (supply risk, importance).",
    no_args_is_help=True,
)

TABLE_COLUMNS = {
    "inputs": [
        "material",
        "stage",
        "SR",
        "EI",
        "EI_basis",
        "critical",
        "published_SR",
        "published_EI",
        "missing",
    ],
    "baseline": [
        "element",
        "stage",
        "tonnes",
        "HHI",
        "top1_region",
        "top1_share",
        "HHI_WGI_t_GS",
        "HHI_WGI_t_EU",
        "IR",
        "SR",
        "bottleneck",
    ],
}


class Source(StrEnum):
    inputs = "inputs"
    baseline = "baseline"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Dataset directory (default: bundled baseline).")
]
YearOpt = Annotated[int | None, typer.Option("--year", help="Year (default: base year).")]
ElementOpt = Annotated[str | None, typer.Option("--element", help="Element symbol, e.g. Dy.")]
ChartOpt = Annotated[
    Path | None, typer.Option("--chart", help="Write a chart: .png/.svg (matplotlib) or .html.")
]


def _network(data: Path | None) -> Network:
    from rareflow.data.network import load_network

    return load_network(data)


def _show(frame: pd.DataFrame, fmt: Format, columns: list[str], title: str) -> None:
    """The table is for reading: main columns, reasons once below; JSON/CSV carry everything."""
    if fmt is not Format.table:
        print_frame(frame, fmt, title=title)
        return
    reasons = frame["missing"].fillna("").str.split("; ") if "missing" in frame else None
    table = frame[[c for c in columns if c in frame.columns]].copy()
    if reasons is not None:
        table["missing"] = [
            ", ".join(dict.fromkeys(r.split(":")[0] for r in rs if r)) for rs in reasons
        ]
    print_frame(table, fmt, title=title)
    if reasons is not None:
        for reason in sorted({r for rs in reasons for r in rs if r}):
            typer.echo(f"missing {reason}")


def _element_of(network: Network, material: str) -> str:
    """The element symbol for a material name (or symbol) in the network's elements table."""
    from rareflow.errors import UserInputError

    table = network.tables["elements"]
    for symbol, name in zip(table["element"], table["name"], strict=True):
        if material.strip().lower() in (str(symbol).lower(), str(name).lower()):
            return str(symbol)
    raise UserInputError("unknown material", value=material, expected=", ".join(table["name"]))


@app.command()
def concentration(
    year: YearOpt = None,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage", help="mining, separation, heavy_separation, metal or magnet (default all)."
        ),
    ] = None,
    element: ElementOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
    chart: ChartOpt = None,
) -> None:
    """HHI (0-1) and top-1/top-3 regional shares of each stage of the chain."""
    from rareflow.analytics.shares import concentration as compute

    frame = compute(_network(data), year=year, stage=stage, element=element)
    if chart is not None:
        from rareflow.analytics.risk_charts import hhi_chart

        hhi_chart(frame, chart)
    print_frame(frame, fmt, title="Concentration by stage (HHI on 0-1)")


@app.command()
def criticality(
    assessment: Annotated[
        str | None,
        typer.Option(
            "--assessment",
            help="eu2017 or eu2023 (default eu2017; with --source baseline the EoL_RIR and "
            "SI_SR inputs, default eu2023).",
        ),
    ] = None,
    material: Annotated[
        str | None, typer.Option("--material", help="One material, e.g. Dysprosium.")
    ] = None,
    source: Annotated[
        Source,
        typer.Option(
            "--source", help="inputs: the EU studies' inputs; baseline: the network's shares."
        ),
    ] = Source.inputs,
    wgi: Annotated[
        Path | None,
        typer.Option("--wgi", help="CSV of scaled WGI (0-10): country or region, wgi."),
    ] = None,
    inputs: Annotated[
        Path | None, typer.Option("--inputs", help="criticality_inputs.csv (default: shared).")
    ] = None,
    year: YearOpt = None,
    element: ElementOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
    chart: ChartOpt = None,
) -> None:
    """EU criticality: supply risk (SR), economic importance (EI) and the verdict."""
    from rareflow.analytics.criticality_inputs import load_wgi

    scores = load_wgi(wgi) if wgi is not None else None
    if source is Source.baseline:
        from rareflow.analytics.criticality_baseline import baseline_supply_risk

        network = _network(data)
        if material is not None:
            element = _element_of(network, material)
        frame = baseline_supply_risk(
            network,
            year=year,
            element=element,
            wgi=scores,
            inputs_path=inputs,
            assessment=assessment or "eu2023",
        )
        frame["label"] = frame["element"] + " " + frame["stage"]  # two stages per element
        title, label = "EU-method supply risk of the network (HHI-based)", "label"
    else:
        from rareflow.analytics.criticality_table import assess

        assessment = assessment or "eu2017"
        frame = assess(assessment, material, wgi=scores, inputs_path=inputs)
        title, label = f"EU criticality ({assessment})", "material"
    if chart is not None:
        from rareflow.analytics.risk_charts import matrix_chart

        matrix_chart(frame, chart, label=label)
    _show(frame, fmt, TABLE_COLUMNS[source.value], title)
