"""``rareflow risk``: concentration of each stage (also along a run), EU-method criticality
and stock-out dates."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rareflow.cli.output import Format, print_frame, unit_formats

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from rareflow.data.network import Network

REGIONS_HELP = (
    "Regions are ISO3 country codes (CHN, USA, JPN, DEU, ...) and two groups: XEU, the rest "
    "of the EU (every EU member but Germany), and ROW, the rest of the world (every country "
    "not listed on its own)."
)
app = typer.Typer(
    help="Risk analytics: concentration (HHI), EU criticality (supply risk, importance) and "
    "stock-out dates.\n\n" + REGIONS_HELP,
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


DEFAULT_SCENARIO = "reimpose-oct-2025"


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
RunOpt = Annotated[
    str | None, typer.Option("--run", help="A stored run id (or a unique prefix of one).")
]
ScenarioOpt = Annotated[
    str | None,
    typer.Option("--scenario", "-s", help="Run this scenario (bundled name or YAML) first."),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Results store (DuckDB file); default: $RAREFLOW_STORE or the user data directory.",
    ),
]


def _network(data: Path | None) -> Network:
    from rareflow.data.network import load_network

    return load_network(data)


VERDICT = {True: "critical", False: "not critical", None: "unknown"}
SHORT_BASIS = {"published": "published", "missing": "missing"}  # else the network's, below


def _show(frame: pd.DataFrame, fmt: Format, columns: list[str], title: str) -> None:
    """The table is for reading: main columns, reasons once below; JSON/CSV carry everything."""
    if fmt is not Format.table:
        print_frame(frame, fmt, title=title)
        return
    reasons = frame["missing"].fillna("").str.split("; ") if "missing" in frame else None
    table = frame[[c for c in columns if c in frame.columns]].copy()
    notes = []
    if "critical" in table:
        table["critical"] = [VERDICT.get(v if v is None else bool(v), "unknown")
                             for v in table["critical"]]  # fmt: skip
    if "EI_basis" in table:
        network = ~table["EI_basis"].isin(list(SHORT_BASIS))
        if network.any():
            notes.append("EI 'network': the EU formula on the network's end uses and NACE "
                         "value added\n  (assumptions: rareflow.analytics.criticality_ei)")  # fmt: skip
        table.loc[network, "EI_basis"] = "network"
    if reasons is not None:
        table["missing"] = [
            ", ".join(dict.fromkeys(r.split(":")[0] for r in rs if r)) for rs in reasons
        ]
    print_frame(table, fmt, title=title, float_format="{:.2f}",
                formats=unit_formats(table.columns))  # fmt: skip
    for note in notes:
        typer.echo(note)
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
    run_id: RunOpt = None,
    scenario: ScenarioOpt = None,
    store: StoreOpt = None,
    every: Annotated[
        int, typer.Option("--every", help="With --run/--scenario: every N-th month (and the last).")
    ] = 6,
) -> None:
    """HHI (0-1) and top-1/top-3 regional shares of each stage of the chain.

    With --run or --scenario: month by month along the run, as capacity projects ramp in.
    """
    if run_id is not None or scenario is not None:
        _run_concentration(run_id, scenario, store, data, stage, element, every, fmt)
        return
    from rareflow.analytics.shares import concentration as compute

    frame = compute(_network(data), year=year, stage=stage, element=element)
    if chart is not None:
        from rareflow.analytics.risk_charts import hhi_chart

        hhi_chart(frame, chart)
    print_frame(frame, fmt, title="Concentration by stage (HHI on 0-1)",
                formats=unit_formats(frame.columns))  # fmt: skip


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
        frame = assess(assessment, material, wgi=scores, inputs_path=inputs,
                       network=_network(data))  # fmt: skip
        title, label = f"EU criticality ({assessment})", "material"
    if chart is not None:
        from rareflow.analytics.risk_charts import matrix_chart

        matrix_chart(frame, chart, label=label)
    _show(frame, fmt, TABLE_COLUMNS[source.value], title)


# -- along a run: concentration and stock-out dates ---------------------------------------------
def _run_data(
    run_id: str | None,
    scenario: str | None,
    store: Path | None,
    data: Path | None,
    metrics: dict[str, str],
) -> tuple[xr.Dataset, str]:
    """``metrics`` (name -> the dimension after region) of a stored run, or of a fresh run of
    ``scenario`` (default reimpose-oct-2025); and a label for the title."""
    from rareflow.errors import UserInputError

    if run_id is not None and scenario is not None:
        raise UserInputError("give --run or --scenario, not both", value=f"{run_id} / {scenario}")
    if run_id is None:
        from rareflow.cli.run import prepare, simulate

        loaded, network = prepare(scenario or DEFAULT_SCENARIO, data)
        return simulate(loaded, network).dataset, f"scenario {loaded.name}"
    import xarray as xr

    from rareflow.analytics.run_shares import stored_array
    from rareflow.io.store import ResultStore

    network = _network(data)
    coords = {"region": network.regions, "product": network.products, "sector": network.sectors}
    results = ResultStore(store)
    run_id = results.resolve(run_id)
    arrays = {m: stored_array(results, run_id, m, dim, coords) for m, dim in metrics.items()}
    return xr.Dataset(arrays), f"run {run_id}"


def _run_concentration(
    run_id: str | None,
    scenario: str | None,
    store: Path | None,
    data: Path | None,
    stage: str | None,
    element: str | None,
    every: int,
    fmt: Format,
) -> None:
    from rareflow.analytics.run_shares import run_concentration

    ds, label = _run_data(run_id, scenario, store, data, {"production": "product"})
    frame = run_concentration(
        ds["production"], _network(data), stage=stage, element=element, every=every
    )
    print_frame(frame, fmt, title=f"Concentration along {label} (HHI on 0-1)",
                formats=unit_formats(frame.columns))  # fmt: skip


STOCKOUT_METRICS = {"shortage_share": "sector", "shortage": "product", "demand": "product"}


@app.command()
def stockout(
    run_id: RunOpt = None,
    scenario: ScenarioOpt = None,
    store: StoreOpt = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="One region, e.g. DEU, XEU (rest of the EU) or ROW (rest of the world).",
        ),
    ] = None,
    sector: Annotated[str | None, typer.Option("--sector", help="One sector, e.g. wind.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list regions and sectors that never run out.")
    ] = False,
    tol: Annotated[
        float, typer.Option("--tol", help="Shortage share that counts as running out.")
    ] = 1e-3,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Per region and sector, the month its inputs' inventories run out.

    That is its first month of shortage, under a scenario (default reimpose-oct-2025) or a
    stored run; for a run with many draws (Monte Carlo), the median, p10 and p90 months and
    the share of draws that run out.
    """
    from rareflow.analytics.stockout import stockout as compute
    from rareflow.model.compiled import compile_network

    network = _network(data)
    ds, label = _run_data(run_id, scenario, store, data, STOCKOUT_METRICS)
    frame = compute(ds, tol=tol, network=compile_network(network), include_all=show_all)
    for name, wanted, valid in (
        ("region", region, network.regions),
        ("sector", sector, network.sectors),
    ):
        if wanted is not None:
            if wanted not in valid:
                from rareflow.errors import UserInputError

                raise UserInputError(
                    f"unknown {name}", column=f"--{name}", value=wanted, expected=", ".join(valid)
                )
            frame = frame[frame[name] == wanted]
    print_frame(frame, fmt, title=f"Stock-out months under {label}",
                formats=unit_formats(frame.columns))  # fmt: skip
