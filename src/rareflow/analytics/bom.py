"""A user's bill of materials (BOM): declared columns, reading (CSV or Excel) and validation.

One row per rare-earth-bearing part of a product. Columns are declared like the dataset
tables (``rareflow.data.schema.Column``); element contents of a part go in ``content_<El>``
columns (mass fraction, e.g. ``content_Dy``). Every problem found is reported together, each
naming the file, row (the spreadsheet's line number: the header is row 1), column, value and
what was expected (``DataValidationError``, exit 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareflow.data.network import region_lookup
from rareflow.data.schema import Column
from rareflow.data.validate import Problems
from rareflow.errors import UserInputError

if TYPE_CHECKING:
    from rareflow.data.network import Network

CUSTOM = "custom"
CONTENT_PREFIX = "content_"
UNITS_KG = {"kg": 1.0, "g": 0.001}
EXAMPLE = Path(__file__).parents[1] / "examples" / "bom_example.csv"
NAN = math.nan

BOM_COLUMNS: tuple[Column, ...] = (
    Column("product", "str", "Your product (e.g. a motor model)."),
    Column("part", "str", "The part of the product that holds rare earths."),
    Column(
        "quantity_per_unit",
        "float",
        "Mass of the part in one unit of the product.",
        unit="kg or g (see unit)",
        minimum=0.0,
    ),
    Column("unit", "str", "Unit of quantity_per_unit.", allowed=tuple(UNITS_KG)),
    Column(
        "part_type",
        "str",
        "A rareflow product code (e.g. ndfeb_sintered, smco) or 'custom' with content_<El> columns.",
    ),
    Column("supplier_country", "str", "Supplier: ISO3 country code or rareflow region code."),
    Column(
        "inventory_months",
        "float",
        "Months of the part's use held in stock.",
        unit="months",
        minimum=0.0,
        maximum=120.0,
    ),
    Column(
        "units_per_month",
        "float",
        "Units of the product made per month (optional).",
        unit="units/month",
        default=NAN,
        minimum=0.0,
    ),
    Column("sector", "str", "End-use sector code (optional), e.g. defence.", default=""),
    Column(
        "plant_country",
        "str",
        "Where the product is made: ISO3 or region code (optional; default --region).",
        default="",
    ),
    Column(
        "origin_share",
        "float",
        "Share of the part's controlled content that comes from the policy actor (e.g. China); "
        "blank: the model's estimate for the supplier.",
        unit="fraction",
        default=NAN,
        minimum=0.0,
        maximum=1.0,
    ),
)
COLUMN_NAMES = tuple(c.name for c in BOM_COLUMNS)


@dataclass(frozen=True)
class Bom:
    """A validated BOM: typed rows and each part's element contents."""

    frame: pd.DataFrame  # BOM_COLUMNS plus row (line number), supplier_region, plant_region, kg
    content: np.ndarray  # (N, E) mass fraction of each element in each part
    elements: tuple[str, ...]
    file: str


def describe() -> pd.DataFrame:
    """The BOM schema as a table (column, type, unit, required, allowed, description)."""
    rows = [
        {
            "column": c.name,
            "type": c.dtype,
            "unit": c.unit,
            "required": c.required,
            "allowed": ", ".join(c.allowed) if c.allowed else "",
            "description": c.description,
        }
        for c in BOM_COLUMNS
    ]
    rows.append(
        {
            "column": CONTENT_PREFIX + "<El>",
            "type": "float",
            "unit": "mass fraction",
            "required": False,
            "allowed": "",
            "description": "Element content of the part, e.g. content_Dy; required for custom parts, "
            "overrides the product's contents otherwise.",
        }
    )
    return pd.DataFrame(rows)


# -- reading ---------------------------------------------------------------------------------
def read_raw(path: str | Path) -> pd.DataFrame:
    """The BOM file as text cells (CSV, or the first sheet of an .xlsx/.xlsm workbook)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError("BOM file not found", file=str(path), expected="a .csv or .xlsx file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from rareflow.data.io import read_table

        frame = read_table(path)
    elif suffix in (".xlsx", ".xlsm"):
        frame = _read_excel(path)
    else:
        raise UserInputError(
            "unsupported BOM file type", file=str(path), value=path.suffix, expected=".csv or .xlsx"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False)
    except ImportError:
        raise UserInputError(
            "reading Excel needs openpyxl", file=str(path), hint="pip install openpyxl"
        ) from None
    except Exception as exc:  # openpyxl raises several types for a broken workbook
        raise UserInputError(f"cannot read the workbook: {exc}", file=str(path)) from None
    if frame.columns.empty:
        raise UserInputError("the file is empty", file=str(path), expected="a header row")
    return frame


# -- validation ------------------------------------------------------------------------------
def _line(index: object) -> int:
    return int(index) + 2  # type: ignore[call-overload]  # header is row 1


def _check_header(frame: pd.DataFrame, elements: list[str], file: str, pb: Problems) -> None:
    from rareflow.scenarios.load import did_you_mean

    known = [*COLUMN_NAMES, *(CONTENT_PREFIX + e for e in elements)]
    for name in frame.columns:
        if name not in known:
            pb.add(
                "unknown column",
                file=file,
                row=1,
                column=name,
                expected="one of " + ", ".join([*COLUMN_NAMES, CONTENT_PREFIX + "<El>"]),
                hint=did_you_mean(name, known),
            )
    for col in BOM_COLUMNS:
        if col.required and col.name not in frame.columns:
            pb.add("missing column", file=file, row=1, column=col.name, expected=col.description)
    if frame.empty:
        pb.add("the BOM has no parts", file=file, row=2, expected="at least one data row")


def _cell(raw: object, col: Column, line: int, file: str, pb: Problems) -> object:
    """One cell converted to the column's type, with its problems recorded."""
    text = "" if raw is None else str(raw).strip()
    if text == "" or text.lower() == "nan":
        if col.required:
            pb.add("empty value", file=file, row=line, column=col.name, expected=col.description)
        return col.default
    if col.dtype == "str":
        if col.allowed and text not in col.allowed:
            pb.add(
                "value not allowed",
                file=file,
                row=line,
                column=col.name,
                value=text,
                expected="one of " + ", ".join(col.allowed),
            )
        return text
    return _number(text, col, line, file, pb)


def _number(text: str, col: Column, line: int, file: str, pb: Problems) -> float:
    try:
        value = float(text)
    except ValueError:
        value = NAN
    unit = f" in {col.unit}" if col.unit else ""
    if not math.isfinite(value):
        pb.add(
            "not a number",
            file=file,
            row=line,
            column=col.name,
            value=text,
            expected=f"a number{unit}",
        )
        return NAN
    low, high = col.minimum, col.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = " and ".join(
            f"{side} {bound:g}"
            for side, bound in (("at least", low), ("at most", high))
            if bound is not None
        )
        pb.add(
            "value out of range",
            file=file,
            row=line,
            column=col.name,
            value=text,
            expected=f"{bounds}{unit}",
        )
    return value


def _typed(frame: pd.DataFrame, columns: list[Column], file: str, pb: Problems) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        raw = frame[col.name] if col.name in frame.columns else pd.Series(None, index=frame.index)
        out[col.name] = pd.Series(
            [_cell(v, col, _line(i), file, pb) for i, v in raw.items()], index=frame.index
        )
    return out


def _regions(bom: pd.DataFrame, network: Network, file: str, pb: Problems) -> None:
    lookup = region_lookup(network)
    for name, target in (
        ("supplier_country", "supplier_region"),
        ("plant_country", "plant_region"),
    ):
        codes = bom[name].fillna("").astype(str).str.upper()
        bom[target] = codes.map(lookup).fillna("")
        for index in bom.index[(codes != "") & (bom[target] == "")]:
            pb.add(
                "unknown country or region",
                file=file,
                row=_line(index),
                column=name,
                value=bom.at[index, name],
                expected="an ISO3 code from country_regions (e.g. CHN, JPN, USA, VNM) or a region "
                "code: " + ", ".join(network.regions),
            )


def _codes(bom: pd.DataFrame, network: Network, file: str, pb: Problems) -> None:
    checks = (
        ("part_type", [*network.products, CUSTOM]),
        ("sector", list(network.sectors)),
    )
    for name, valid in checks:
        for index in bom.index[(bom[name] != "") & ~bom[name].isin(valid)]:
            pb.add(
                f"unknown {name.replace('_', ' ')}",
                file=file,
                row=_line(index),
                column=name,
                value=bom.at[index, name],
                expected="one of " + ", ".join(valid),
            )


def _contents(
    bom: pd.DataFrame, given: pd.DataFrame, network: Network, file: str, pb: Problems
) -> np.ndarray:
    """(N, E) contents: the given content_<El> columns, else the product's network contents."""
    elements = list(network.elements)
    table = network.tables["contents"]
    content = np.zeros((len(bom), len(elements)))
    for n, index in enumerate(bom.index):
        row = given.loc[index].fillna(0.0)
        if row.sum() > 0:
            for name, value in row.items():
                content[n, elements.index(str(name)[len(CONTENT_PREFIX) :])] = value
            if row.sum() > 1.0 + 1e-9:
                pb.add(
                    "element contents sum to more than 1",
                    file=file,
                    row=_line(index),
                    column=CONTENT_PREFIX + "*",
                    value=round(float(row.sum()), 6),
                    expected="mass fractions summing to at most 1",
                )
        elif bom.at[index, "part_type"] == CUSTOM:
            pb.add(
                "a custom part needs its element contents",
                file=file,
                row=_line(index),
                column=CONTENT_PREFIX + "*",
                expected="a mass fraction in at least one content_<El> column, e.g. content_Dy",
            )
        else:
            rows = table[table["product"] == bom.at[index, "part_type"]]
            for element, fraction in zip(rows["element"], rows["mass_fraction"], strict=True):
                content[n, elements.index(str(element))] = float(fraction)
    return content


def validate_bom(frame: pd.DataFrame, network: Network, file: str = "<bom>") -> Bom:
    """Check a raw BOM frame (text cells) against the declared columns and the network."""
    pb = Problems()
    elements = list(network.elements)
    _check_header(frame, elements, file, pb)
    pb.raise_if_any()
    bom = _typed(frame, list(BOM_COLUMNS), file, pb)
    content_cols = [
        Column(
            c,
            "float",
            "Element content.",
            unit="mass fraction",
            default=NAN,
            minimum=0.0,
            maximum=1.0,
        )
        for c in frame.columns
        if c.startswith(CONTENT_PREFIX)
    ]
    given = _typed(frame, content_cols, file, pb)
    _regions(bom, network, file, pb)
    _codes(bom, network, file, pb)
    _duplicates(bom, file, pb)
    pb.raise_if_any()
    content = _contents(bom, given, network, file, pb)
    pb.raise_if_any()
    bom.insert(0, "row", [_line(i) for i in bom.index])
    bom["kg"] = bom["quantity_per_unit"] * bom["unit"].map(UNITS_KG)
    return Bom(bom.reset_index(drop=True), content, tuple(elements), file)


def _duplicates(bom: pd.DataFrame, file: str, pb: Problems) -> None:
    for index in bom.index[bom.duplicated(subset=["product", "part"])][:10]:
        pb.add(
            "duplicate part",
            file=file,
            row=_line(index),
            column="product/part",
            value=f"{bom.at[index, 'product']!s} / {bom.at[index, 'part']!s}",
            expected="one row per product and part",
        )


def read_bom(path: str | Path, network: Network) -> Bom:
    """Read and validate a BOM file (CSV or Excel) against ``network``."""
    return validate_bom(read_raw(path), network, file=str(path))
