"""Declared schemas of the dataset tables, in the PyPSA manner.

Every table is a list of columns with a type, a unit, a default, a description and the values it
may take. Validation (``rareflow.data.validate``) is derived from these declarations; nothing
about a table's shape is written anywhere else.

Quantities are tonnes per year (``tonnes_per_year``) in the tables; the engine works per month.
Concentrate is counted in tonnes of rare-earth oxide (REO); every other product in tonnes of
product. Prices are USD per kg.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DType = Literal["str", "float", "int", "bool"]

PROVENANCE_KINDS = ("sourced", "derived", "assumption")
STAGES = ("mining", "separation", "metal", "magnet")
MARKETS = ("china", "ex_china")
RECIPE_ROLES = ("input", "output")
UNIT_BASES = ("sector", "own")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    description: str
    unit: str = ""
    default: object = None  # None: required
    allowed: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" that must hold this value
    minimum: float | None = None
    maximum: float | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    provenance: bool = True  # carries provenance/source_url/note columns
    # (group columns, value column, target): rows grouped by these columns sum to target
    sums_to: tuple[tuple[str, ...], str, float] | None = None
    min_rows: int = 1
    optional: bool = False  # a dataset may leave the file out (read as an empty table)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + (PROVENANCE_COLUMNS if self.provenance else ())

    def column(self, name: str) -> Column:
        for col in self.all_columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return tuple(
            c.name for c in self.columns if c.dtype in ("float", "int") and c.name not in self.key
        )


PROVENANCE_COLUMNS = (
    Column(
        "provenance",
        "str",
        "How the value was obtained: sourced (a fact row), derived (a stated method) or "
        "assumption (a stated rationale).",
        allowed=PROVENANCE_KINDS,
    ),
    Column(
        "source_url",
        "str",
        "Where a sourced value was read (URL); empty for derived values and assumptions.",
        default="",
    ),
    Column(
        "note",
        "str",
        "Sourced: publisher, date and the fact row; derived: the method; assumption: the "
        "one-line rationale.",
    ),
)

YEAR = Column("year", "int", "Calendar year of the value.", unit="year", minimum=1990, maximum=2100)
REGION = Column("region", "str", "Region code.", references="regions.region")
PRODUCT = Column("product", "str", "Product code.", references="products.product")
PROCESS = Column("process", "str", "Process code.", references="processes.process")
SECTOR = Column("sector", "str", "End-use sector code.", references="sectors.sector")
ELEMENT = Column("element", "str", "Element symbol.", references="elements.element")
TONNES_PER_YEAR = Column("tonnes_per_year", "float", "Quantity per year.", unit="t/yr", minimum=0.0)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "regions",
            "Regions of the model: countries or groups of countries.",
            (
                Column("region", "str", "Region code (ISO3 for countries, X.. for groups)."),
                Column("name", "str", "Human-readable name."),
                Column("kind", "str", "Country or group.", allowed=("country", "group")),
            ),
            key=("region",),
            provenance=False,
            min_rows=2,
        ),
        Table(
            "country_regions",
            "Maps ISO3 country codes to model regions; edit to regroup countries.",
            (
                Column("iso3", "str", "ISO 3166-1 alpha-3 country code."),
                Column("country", "str", "Country name."),
                Column("region", "str", "Region it belongs to.", references="regions.region"),
            ),
            key=("iso3",),
            provenance=False,
        ),
        Table(
            "elements",
            "The 17 rare-earth elements.",
            (
                Column("element", "str", "Chemical symbol."),
                Column("name", "str", "Element name."),
                Column("atomic_number", "int", "Atomic number.", minimum=1, maximum=118),
                Column(
                    "group",
                    "str",
                    "Light or heavy rare earth (heavy: Gd..Lu and Y).",
                    allowed=("light", "heavy"),
                ),
            ),
            key=("element",),
            provenance=False,
        ),
        Table(
            "products",
            "Traded and stocked products, by stage of the chain.",
            (
                Column("product", "str", "Product code."),
                Column("name", "str", "Human-readable name."),
                Column("stage", "str", "Stage of the chain that makes it.", allowed=STAGES),
                Column(
                    "basis",
                    "str",
                    "What a tonne counts: REO content (concentrate) or product mass.",
                    allowed=("t REO", "t product"),
                ),
            ),
            key=("product",),
            provenance=False,
            min_rows=2,
        ),
        Table(
            "sectors",
            "End-use sectors: the sinks of the chain.",
            (
                Column("sector", "str", "Sector code."),
                Column("name", "str", "Human-readable name."),
                Column("unit_name", "str", "What one unit of output is (vehicle, MW, ...)."),
            ),
            key=("sector",),
            provenance=False,
        ),
        Table(
            "contents",
            "Element content of each product (weight fractions; a product's rows sum to <= 1).",
            (
                PRODUCT,
                ELEMENT,
                Column(
                    "mass_fraction",
                    "float",
                    "Tonnes of element per tonne of product.",
                    unit="t/t",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),
            key=("product", "element"),
        ),
        Table(
            "processes",
            "Processes that turn inputs into outputs; capacity is counted in activity units.",
            (
                Column("process", "str", "Process code."),
                Column("name", "str", "Human-readable name."),
                Column("stage", "str", "Stage of the chain.", allowed=STAGES),
                Column("activity_unit", "str", "What one tonne of activity is."),
            ),
            key=("process",),
            provenance=False,
        ),
        Table(
            "recipes",
            "Tonnes of each input used and output made per tonne of process activity.",
            (
                PROCESS,
                PRODUCT,
                Column("role", "str", "Input or output.", allowed=RECIPE_ROLES),
                Column(
                    "tonnes_per_tonne_activity",
                    "float",
                    "Tonnes of the product used or made per tonne of activity.",
                    unit="t/t",
                    minimum=0.0,
                ),
            ),
            key=("process", "product", "role"),
        ),
        Table(
            "capacities",
            "Installed capacity of each process in each region.",
            (
                REGION,
                PROCESS,
                YEAR,
                Column(
                    "tonnes_per_year",
                    "float",
                    "Capacity in tonnes of activity per year.",
                    unit="t/yr",
                    minimum=0.0,
                ),
            ),
            key=("region", "process", "year"),
        ),
        Table(
            "projects",
            "Capacity projects that ramp in on their dates (added to installed capacity).",
            (
                Column("project", "str", "Project name (company, facility)."),
                REGION,
                PROCESS,
                Column("start_month", "str", "First month of output, YYYY-MM.", unit="month"),
                Column(
                    "ramp_months",
                    "int",
                    "Months from start to full capacity (linear ramp).",
                    unit="months",
                    minimum=0,
                    maximum=120,
                ),
                Column(
                    "tonnes_per_year",
                    "float",
                    "Capacity added at full ramp, tonnes of activity per year.",
                    unit="t/yr",
                    minimum=0.0,
                ),
                Column("status", "str", "Project status.", default="planned"),
            ),
            key=("project", "region", "process"),
            min_rows=0,
        ),
        Table(
            "production",
            "Baseline activity of each process in each region (reconciled).",
            (REGION, PROCESS, YEAR, TONNES_PER_YEAR),
            key=("region", "process", "year"),
        ),
        Table(
            "trade",
            "Baseline bilateral trade, exporter to importer (reconciled).",
            (
                PRODUCT,
                Column("exporter", "str", "Exporting region.", references="regions.region"),
                Column("importer", "str", "Importing region.", references="regions.region"),
                YEAR,
                TONNES_PER_YEAR,
            ),
            key=("product", "exporter", "importer", "year"),
        ),
        Table(
            "demand",
            "Baseline final use of each product by end-use sector and region (reconciled).",
            (REGION, SECTOR, PRODUCT, YEAR, TONNES_PER_YEAR),
            key=("region", "sector", "product", "year"),
        ),
        Table(
            "stock_changes",
            "Baseline change in stocks per region and product (reconciled; + is a build-up).",
            (
                REGION,
                PRODUCT,
                YEAR,
                Column(
                    "tonnes_per_year",
                    "float",
                    "Stock change per year (negative is a draw-down).",
                    unit="t/yr",
                ),
            ),
            key=("region", "product", "year"),
            min_rows=0,
        ),
        Table(
            "inventories",
            "Target inventory cover per region and product, months of use held in stock.",
            (
                REGION,
                PRODUCT,
                Column(
                    "cover_months",
                    "float",
                    "Target stock in months of use.",
                    unit="months",
                    minimum=0.0,
                    maximum=60.0,
                ),
            ),
            key=("region", "product"),
        ),
        Table(
            "transit",
            "Months a region's imports spend between the exporter's customs record and arrival "
            "(a region left out, or the file, receives its imports the month they are shipped).",
            (
                REGION,
                Column(
                    "transit_months",
                    "float",
                    "Share of a month between shipment and arrival: that share of a month's "
                    "shipments arrives the next month (at most one month).",
                    unit="months",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),
            key=("region",),
            min_rows=0,
            optional=True,
        ),
        Table(
            "intensities",
            "Product needed per unit of sector output, and the value of one unit.",
            (
                SECTOR,
                PRODUCT,
                Column(
                    "kg_per_unit",
                    "float",
                    "Kilograms of the product in one unit of sector output.",
                    unit="kg/unit",
                    minimum=0.0,
                ),
                Column(
                    "usd_per_unit",
                    "float",
                    "Value (gross output) of one unit of sector output.",
                    unit="USD/unit",
                    minimum=0.0,
                ),
                Column(
                    "unit_basis",
                    "str",
                    "sector: the product is one input of the sector's unit (a unit needs all "
                    "of them; the scarcest decides); own: each kg used is its own line of "
                    "output (units add up over products).",
                    allowed=UNIT_BASES,
                    default="sector",
                ),
            ),
            key=("sector", "product"),
        ),
        Table(
            "platforms",
            "A sector's unit as a mix of platforms (defence: fighters, ships, missiles, ...): "
            "its kg and value per unit replace the sector's intensities (the intensities' "
            "split of kg between products is kept).",
            (
                SECTOR,
                Column("platform", "str", "Platform name."),
                Column(
                    "mass_share",
                    "float",
                    "Share of the sector's rare-earth tonnes that go into the platform.",
                    unit="fraction",
                    minimum=0.0,
                    maximum=1.0,
                ),
                Column(
                    "kg_per_unit",
                    "float",
                    "Kilograms of rare-earth product in one platform.",
                    unit="kg/unit",
                    minimum=0.0,
                ),
                Column(
                    "usd_per_unit",
                    "float",
                    "Value (gross output) of one platform.",
                    unit="USD/unit",
                    minimum=0.0,
                ),
            ),
            key=("sector", "platform"),
            sums_to=(("sector",), "mass_share", 1.0),
            min_rows=0,
            optional=True,
        ),
        Table(
            "value_added",
            "Value added as a share of gross output, per region and sector: what a unit not "
            "built destroys (a cell left out counts as 1: gross output).",
            (
                REGION,
                SECTOR,
                Column(
                    "value_added_share",
                    "float",
                    "Value added / gross output.",
                    unit="fraction",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),
            key=("region", "sector"),
            min_rows=0,
            optional=True,
        ),
        Table(
            "prices",
            "Baseline prices per product and market.",
            (
                PRODUCT,
                Column("market", "str", "Market.", allowed=MARKETS),
                YEAR,
                Column("usd_per_kg", "float", "Price.", unit="USD/kg", minimum=0.0),
            ),
            key=("product", "market", "year"),
        ),
        Table(
            "parameters",
            "Scalar behavioural parameters of the model (overridable in scenarios).",
            (
                Column("name", "str", "Parameter name."),
                Column("value", "float", "Value."),
                Column("unit", "str", "Unit.", default=""),
                Column("description", "str", "What it controls."),
            ),
            key=("name",),
        ),
    )
}

# Tables whose rows must exist for a run; the rest may be empty.
DIMENSION_TABLES = ("regions", "elements", "products", "sectors", "processes")

# The 2025 calibration tables (``rareflow/data/reference``, ``$RAREFLOW_CALIBRATION_DIR``):
# observations the model is judged against, never inputs to a run. They carry their own
# provenance columns (quality, source_url, source_note), so ``provenance`` is off here; a column
# with a default ("") may be left empty (numbers then read as NaN).
QUALITY = Column(
    "quality",
    "str",
    "sourced (printed in the source) or derived (computed from printed numbers; formula in "
    "the note).",
    allowed=("sourced", "derived"),
)
SOURCE_URL = Column("source_url", "str", "Page the value was read from (URL).")
SOURCE_NOTE = Column("source_note", "str", "Publisher, date, quote and any formula.")
OPTIONAL = ""


def _reference(name: str, description: str, columns: tuple[Column, ...]) -> Table:
    return Table(name, description, columns, key=(), provenance=False)


REFERENCE_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _reference(
            "china_magnet_exports_by_destination",
            "China's HS 8505.11 magnet exports by destination and month (customs, via press).",
            (
                Column("month", "str", "Month, YYYY-MM."),
                Column("destination", "str", "Destination country or group, as printed."),
                Column(
                    "tonnes", "float", "Exports.", unit="t/month", minimum=0.0, default=OPTIONAL
                ),
                Column(
                    "mom_change_pct",
                    "float",
                    "Change on the month before.",
                    unit="%",
                    minimum=-100.0,
                    default=OPTIONAL,
                ),
                Column(
                    "yoy_change_pct",
                    "float",
                    "Change on the same month a year before.",
                    unit="%",
                    minimum=-100.0,
                    default=OPTIONAL,
                ),
                QUALITY,
                SOURCE_URL,
                SOURCE_NOTE,
            ),
        ),
        _reference(
            "prices_2025_monthly",
            "Oxide prices in China and outside it, dated points 2024-02 to 2025-09.",
            (
                Column("date", "str", "Date, YYYY-MM or YYYY-MM-DD."),
                Column("product", "str", "Product and grade, as printed."),
                Column("market", "str", "Market.", allowed=MARKETS),
                Column("value", "float", "Price, in ``unit``.", minimum=0.0),
                Column("unit", "str", "Price unit.", allowed=("CNY/t", "USD/kg", "AUD/kg")),
                QUALITY,
                SOURCE_URL,
                SOURCE_NOTE,
            ),
        ),
        _reference(
            "shortage_events_2025",
            "Production stoppages and cuts attributed to magnet shortages in 2025.",
            (
                Column("date_start", "str", "First date, YYYY-MM or YYYY-MM-DD."),
                Column("date_end_or_duration", "str", "End date or duration, as printed."),
                Column("country", "str", "Country or group where output stopped."),
                Column("company", "str", "Company or group of companies."),
                Column("sector", "str", "End-use sector code.", references="sectors.sector"),
                Column("what_stopped", "str", "What stopped, as reported."),
                Column("units_or_share_if_stated", "str", "Size, as printed.", default=OPTIONAL),
                QUALITY,
                SOURCE_URL,
                SOURCE_NOTE,
            ),
        ),
        _reference(
            "licence_approvals_2025",
            "China's export-licence processing in 2025: review period, approval shares, counts.",
            (
                Column("date", "str", "Date, YYYY-MM or YYYY-MM-DD."),
                Column("region", "str", "Who reported, for which destination."),
                Column(
                    "measure",
                    "str",
                    "What the value measures.",
                    allowed=(
                        "approval_share",
                        "applications",
                        "approvals",
                        "processing_days",
                        "note",
                    ),
                ),
                Column(
                    "value",
                    "float",
                    "Value, in ``unit`` (empty: qualitative).",
                    minimum=0.0,
                    default=OPTIONAL,
                ),
                Column("unit", "str", "Unit, or the statement for qualitative rows."),
                QUALITY,
                SOURCE_URL,
                SOURCE_NOTE,
            ),
        ),
        _reference(
            "inventory_cover_2025",
            "Reported magnet inventory cover of users before and during the 2025 episode.",
            (
                Column("date", "str", "Date, YYYY-MM or YYYY-MM-DD."),
                Column("region", "str", "Country or region of the holder."),
                Column("sector", "str", "Sector, as printed."),
                Column("holder", "str", "Who holds the stock."),
                Column(
                    "cover_months_or_weeks",
                    "str",
                    "Cover: a number, 'lo-hi' or '<x'.",
                    default=OPTIONAL,
                ),
                Column(
                    "unit",
                    "str",
                    "Unit of the cover.",
                    allowed=("days", "weeks", "months"),
                    default=OPTIONAL,
                ),
                QUALITY,
                SOURCE_URL,
                SOURCE_NOTE,
            ),
        ),
    )
}
# Date columns of the reference tables: YYYY-MM, or YYYY-MM-DD where the day is known.
REFERENCE_DATES = {
    "china_magnet_exports_by_destination": ("month",),
    "prices_2025_monthly": ("date",),
    "shortage_events_2025": ("date_start",),
    "licence_approvals_2025": ("date",),
    "inventory_cover_2025": ("date",),
}
