"""``rareflow exposure BOM_FILE``: how exposed the products of a bill of materials are."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rareflow.cli.output import Format, print_frame, print_json

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SCENARIO = "reimpose-oct-2025"
SHARE_COLUMNS = ("share_at_risk", "peak_output_lost")
EXAMPLE_NAME = "example"
SHORT_NAMES = {
    "controlled_elements": "controlled",
    "controlled_content": "controlled",
    "binding_part": "part",
    "months_of_cover": "cover (mo)",
    "first_shortage": "short from",
    "share_at_risk": "at risk",
    "peak_output_lost": "lost",
}


class Level(StrEnum):
    product = "product"
    part = "part"


def register(app: typer.Typer) -> None:
    """Add the top-level ``exposure`` command to ``app``."""
    app.command("exposure")(exposure)


def _bom_path(bom_file: str | None) -> Path:
    from rareflow.analytics.bom import EXAMPLE
    from rareflow.errors import UserInputError

    if bom_file is None:
        raise UserInputError(
            "no BOM file given",
            expected="a CSV or Excel bill of materials",
            hint=f"Try `rareflow exposure {EXAMPLE_NAME}` (the bundled example, {EXAMPLE}) "
            "and `rareflow exposure --schema` for its columns",
        )
    return EXAMPLE if bom_file == EXAMPLE_NAME else Path(bom_file)


def _shown(frame: pd.DataFrame, fmt: Format) -> pd.DataFrame:
    """Shares as percentages in the table; JSON and CSV keep fractions."""
    if fmt is not Format.table:
        return frame
    frame = frame.copy()
    for col in SHARE_COLUMNS:
        frame[col] = frame[col].map(lambda v: f"{100.0 * v:.0f}%")
    # the measures' ids only; --format json gives the reasons (shares, lead times, thresholds)
    frame["caught_by"] = frame["caught_by"].str.replace(r" \([^)]*\)", "", regex=True)
    return frame.rename(columns=SHORT_NAMES)


def exposure(
    bom_file: Annotated[
        str | None,
        typer.Argument(help=f"BOM as CSV or Excel (.xlsx); '{EXAMPLE_NAME}': the bundled one."),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Bundled scenario name or YAML file.")
    ] = DEFAULT_SCENARIO,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Where the products are made, for rows without plant_country: an ISO3 code "
            "(FRA maps to XEU, the rest of the EU; an unlisted country to ROW, the rest of the "
            "world).",
        ),
    ] = None,
    by: Annotated[Level, typer.Option("--by", help="One row per product or per part.")] = (
        Level.product
    ),
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the BOM columns and exit.")
    ] = False,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset directory (default: bundled baseline).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Exposure of each product in a bill of materials (CSV or Excel), most exposed first.

    Controlled content, the measures that catch it, months of cover, first month of shortage,
    share of output at risk and alternative sources with spare capacity.
    """
    if schema:
        from rareflow.analytics.bom import describe

        print_frame(describe(), fmt, title="BOM columns (one row per rare-earth part)")
        return
    from rareflow.analytics.bom import read_bom
    from rareflow.analytics.exposure import exposure as compute
    from rareflow.cli.run import prepare, simulate
    from rareflow.data.network import region_lookup
    from rareflow.errors import UserInputError

    path = _bom_path(bom_file)
    loaded, network = prepare(scenario, data)
    bom = read_bom(path, network)
    plant = ""
    if region is not None:
        plant = region_lookup(network).get(region.upper(), "")
        if not plant:
            raise UserInputError(
                "unknown region", column="--region", value=region, expected="an ISO3 or region code"
            )
    result = simulate(loaded, network)
    report = compute(bom, loaded, network, result=result, region=plant)
    if fmt is Format.json:  # data, not prose: months or null, lists of objects
        print_json(report.records(by.value))
        return
    frame = report.table(by.value)
    if fmt is Format.csv:  # one value per cell: the month, or empty when none
        months = [str(r["first_shortage"] or "") for r in report.records(by.value)]
        frame = frame.assign(first_shortage=months)
    title = f"Exposure under {report.scenario}, {report.months[0]} to {report.months[-1]}"
    print_frame(_shown(frame, fmt), fmt, title=title)
