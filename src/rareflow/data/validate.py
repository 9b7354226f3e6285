"""Validation derived from the declared schemas, and the mass-balance check.

``validate_network`` converts every table to its declared types in place and raises one
``DataValidationError`` listing every problem (file, row, column, value, expectation).
Row numbers are the line numbers in the file (the header is line 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareflow.data.ranges import parameter_range
from rareflow.data.schema import TABLES, Column, Table
from rareflow.errors import DataValidationError, UserInputError

if TYPE_CHECKING:  # network.load_network calls this module: no import back at run time
    from rareflow.data.network import Network

BALANCE_TOLERANCE = 1e-3  # relative to the node's throughput
# No quantity of the chain comes near this (world output is 4e5 t/yr, the dearest unit 8e7
# USD): a value above it is a typing slip or an attack (1e308 overflows to inf in the engine).
LARGEST = 1e12
MAX_PROBLEMS = 200


class Problems:
    """Collects problems for one dataset; raises them together."""

    def __init__(self) -> None:
        self.items: list[UserInputError] = []

    def add(self, message: str, **where: object) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(UserInputError(message, **where))  # type: ignore[arg-type]

    def raise_if_any(self) -> None:
        if self.items:
            raise DataValidationError(self.items)


def validate_network(net: Network) -> None:
    problems = Problems()
    for name, schema in TABLES.items():
        file = net.files.get(name, f"{name} (in memory)")
        if schema.optional and name not in net.tables:
            net.tables[name] = empty_table(schema)
        net.tables[name] = _check_table(net.tables[name], schema, file, problems)
    problems.raise_if_any()  # references need well-typed tables
    for name, schema in TABLES.items():
        file = net.files.get(name, f"{name} (in memory)")
        _check_references(net, schema, file, problems)
        _check_sums(net.tables[name], schema, file, problems)
    _check_required_parameters(net, problems)
    problems.raise_if_any()


def empty_table(schema: Table) -> pd.DataFrame:
    """An optional table a dataset leaves out: its columns, no rows."""
    return pd.DataFrame({c.name: pd.Series(dtype=object) for c in schema.all_columns})


def _line(index: object) -> int:
    return int(index) + 2  # type: ignore[call-overload]  # header is line 1, data from line 2


def _check_table(frame: pd.DataFrame, schema: Table, file: str, problems: Problems) -> pd.DataFrame:
    frame = frame.copy()
    columns = schema.all_columns
    unknown = [c for c in frame.columns if c not in {col.name for col in columns}]
    for col in columns:
        if col.name not in frame.columns:
            if col.required:
                hint = _unit_hint(col, unknown)
                problems.add(
                    "missing column",
                    file=file,
                    column=col.name,
                    expected=f"a column '{col.name}' ({col.description} {col.unit})".strip(),
                    hint=hint,
                )
                continue
            frame[col.name] = pd.Series([col.default] * len(frame), index=frame.index)
        frame[col.name] = _convert(frame[col.name], col, file, problems)
    if len(frame) < schema.min_rows:
        problems.add(
            f"the table has {len(frame)} rows",
            file=file,
            expected=f"at least {schema.min_rows} data row(s)",
        )
    present = [k for k in schema.key if k in frame.columns]
    if len(present) == len(schema.key) and len(frame):
        dup = frame.duplicated(subset=list(schema.key), keep="first")
        for index in frame.index[dup][:10]:
            value = ", ".join(f"{k}={frame.at[index, k]!s}" for k in schema.key)
            problems.add(
                "duplicate key",
                file=file,
                row=_line(index),
                column="/".join(schema.key),
                value=value,
                expected="one row per " + " x ".join(schema.key),
            )
    if schema.provenance and {"provenance", "source_url", "note"} <= set(frame.columns):
        _check_provenance(frame, file, problems)
    return frame


def _unit_hint(col: Column, unknown: list[str]) -> str | None:
    if not unknown:
        return None
    found = ", ".join(repr(u) for u in unknown)
    unit = f" in {col.unit}" if col.unit else ""
    return f"The file has {found} instead: rename it to '{col.name}' with values{unit}"


def _convert(series: pd.Series, col: Column, file: str, problems: Problems) -> pd.Series:
    text = series.astype(str).str.strip()
    blank = series.isna() | (text == "") | (text.str.lower() == "nan")
    if col.dtype == "str":
        if col.required:
            for index in series.index[blank][:10]:
                problems.add(
                    "empty value",
                    file=file,
                    row=_line(index),
                    column=col.name,
                    expected=col.description,
                )
        out = text.where(~blank, "" if col.default is None else str(col.default))
        _check_allowed(out, col, file, problems)
        return out
    if col.default is not None:
        series = series.where(~blank, col.default)
        blank = pd.Series(False, index=series.index)
    numbers = pd.to_numeric(series.where(~blank), errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers.fillna(0.0))
    if col.dtype == "int":
        bad |= numbers.notna() & (numbers.fillna(0) % 1 != 0)
    kind = {"float": "a number", "int": "a whole number", "bool": "true/false"}[col.dtype]
    for index in series.index[bad][:10]:
        problems.add(
            "not " + kind,
            file=file,
            row=_line(index),
            column=col.name,
            value=series.at[index],
            expected=f"{kind}{' in ' + col.unit if col.unit else ''}",
        )
    numbers = numbers.fillna(0.0)
    _check_range(numbers, series, col, file, problems)
    return numbers.astype(int) if col.dtype == "int" else numbers.astype(float)


def _check_allowed(values: pd.Series, col: Column, file: str, problems: Problems) -> None:
    if col.allowed is None:
        return
    bad = ~values.isin(col.allowed) & (values != "")
    for index in values.index[bad][:10]:
        problems.add(
            "value not allowed",
            file=file,
            row=_line(index),
            column=col.name,
            value=values.at[index],
            expected="one of " + ", ".join(col.allowed),
        )


def _check_range(
    numbers: pd.Series, written: pd.Series, col: Column, file: str, problems: Problems
) -> None:
    highest = LARGEST if col.maximum is None else min(col.maximum, LARGEST)
    checks = [("at most", highest, numbers > highest)]
    if col.minimum is not None:
        checks.insert(0, ("at least", col.minimum, numbers < col.minimum))
    for side, bound, bad in checks:
        for index in numbers.index[bad][:10]:
            problems.add(
                "value out of range",
                file=file,
                row=_line(index),
                column=col.name,
                value=written.at[index],
                expected=f"{side} {bound:g} {col.unit}".strip(),
            )


def _check_provenance(frame: pd.DataFrame, file: str, problems: Problems) -> None:
    sourced = frame["provenance"] == "sourced"
    no_url = sourced & (frame["source_url"].astype(str).str.strip() == "")
    for index in frame.index[no_url][:10]:
        problems.add(
            "a sourced value needs its source",
            file=file,
            row=_line(index),
            column="source_url",
            expected="the URL the value was read from (or provenance 'assumption' with a rationale)",
        )


def _check_references(net: Network, schema: Table, file: str, problems: Problems) -> None:
    frame = net.tables[schema.name]
    for col in schema.columns:
        if col.references is None or col.name not in frame.columns:
            continue
        table, column = col.references.split(".")
        valid = set(net.tables[table][column])
        bad = ~frame[col.name].isin(valid)
        for index in frame.index[bad][:10]:
            problems.add(
                f"unknown {column}",
                file=file,
                row=_line(index),
                column=col.name,
                value=frame.at[index, col.name],
                expected=f"a code from {table}: " + ", ".join(sorted(valid)[:30]),
            )


def _check_sums(frame: pd.DataFrame, schema: Table, file: str, problems: Problems) -> None:
    if schema.sums_to is not None and not frame.empty:
        _check_sums_to(frame, schema.sums_to, file, problems)
    if schema.name != "contents" or frame.empty:
        return
    # A product cannot hold more than its own mass of elements.
    totals = frame.groupby("product")["mass_fraction"].sum()
    for product, total in totals[totals > 1.0 + 1e-9].items():
        problems.add(
            f"element contents of product '{product}' sum to {total:.4f}",
            file=file,
            column="mass_fraction",
            value=round(float(total), 6),
            expected="mass fractions of one product summing to at most 1",
        )


def _check_sums_to(
    frame: pd.DataFrame, rule: tuple[tuple[str, ...], str, float], file: str, problems: Problems
) -> None:
    """Rows grouped by the rule's columns must sum to its target (within 1e-6)."""
    groups, value, target = rule
    totals = frame.groupby(list(groups))[value].sum()
    for key, total in totals[(totals - target).abs() > 1e-6].items():
        problems.add(
            f"{value} of {'/'.join(groups)} {key!s} sum to {total:.6g}",
            file=file,
            column=value,
            value=round(float(total), 6),
            expected=f"the rows of each {'/'.join(groups)} summing to {target:g}",
        )


REQUIRED_PARAMETERS = ("base_year",)


def _check_required_parameters(net: Network, problems: Problems) -> None:
    table = net.tables["parameters"]
    file = net.files.get("parameters", "parameters")
    for name in REQUIRED_PARAMETERS:
        if name not in set(table["name"]):
            problems.add(
                f"parameter '{name}' is missing",
                file=file,
                column="name",
                expected=f"a row named '{name}'",
            )
    for line, (name, value) in enumerate(zip(table["name"], table["value"], strict=True), 2):
        lo, hi = parameter_range(str(name))
        number = pd.to_numeric(value, errors="coerce")
        if pd.notna(number) and not (np.isfinite(number) and lo <= number <= hi):
            problems.add(
                f"parameter '{name}' out of its range",
                file=file,
                row=line,
                column="value",
                value=value,
                expected=f"a finite number in [{lo:g}, {hi:g}]",
            )


# -- mass balance ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BalanceReport:
    """Per (year, region, product): supply, use and the relative imbalance."""

    table: pd.DataFrame  # year, region, product, supply, use, imbalance, relative_imbalance

    @property
    def max_relative_imbalance(self) -> float:
        return float(self.table["relative_imbalance"].max()) if len(self.table) else 0.0

    @property
    def ok(self) -> bool:
        return self.max_relative_imbalance <= BALANCE_TOLERANCE

    def worst(self, n: int = 10) -> pd.DataFrame:
        return self.table.nlargest(n, "relative_imbalance")


def balance(net: Network) -> BalanceReport:
    """production + imports = process use + final use + exports + stock change, per node."""
    t = net.tables
    recipes = t["recipes"]
    activity = t["production"].rename(columns={"tonnes_per_year": "activity"})
    flows = activity.merge(recipes, on="process")
    flows["tonnes"] = flows["activity"] * flows["tonnes_per_tonne_activity"]
    made = _sum(flows[flows["role"] == "output"], "tonnes", "production")
    used = _sum(flows[flows["role"] == "input"], "tonnes", "process_use")
    imports = _sum(t["trade"].rename(columns={"importer": "region"}), "tonnes_per_year", "imports")
    exports = _sum(t["trade"].rename(columns={"exporter": "region"}), "tonnes_per_year", "exports")
    final = _sum(t["demand"], "tonnes_per_year", "final_use")
    stock = _sum(t["stock_changes"], "tonnes_per_year", "stock_change")
    parts = [made, used, imports, exports, final, stock]
    table = pd.concat(parts, axis=1).fillna(0.0)
    table["supply"] = table["production"] + table["imports"]
    table["use"] = table["process_use"] + table["final_use"] + table["exports"]
    table["imbalance"] = table["supply"] - table["use"] - table["stock_change"]
    scale = table[["supply", "use"]].max(axis=1).where(lambda s: s > 0, 1.0)
    table["relative_imbalance"] = table["imbalance"].abs() / scale
    return BalanceReport(table.reset_index())


def _sum(frame: pd.DataFrame, value: str, name: str) -> pd.Series:
    keys = ["year", "region", "product"]
    if frame.empty:
        return pd.Series(dtype=float, name=name, index=pd.MultiIndex.from_tuples([], names=keys))
    return frame.groupby(keys)[value].sum().rename(name)
