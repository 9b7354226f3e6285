"""Reading the fact files and choosing among conflicting rows.

Every chosen figure is returned with its provenance (``Prov``): the fact row's URL and a note
quoting the file, row number and the publisher/date, so that tables can carry it through.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

FACT_FILES = (
    "mine_production",
    "stage_shares",
    "capacity_projects",
    "chinese_quotas",
    "demand_by_sector",
    "intensities",
    "prices",
    "trade_flows_annual",
    "inventories",
)

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Prov:
    """Provenance of one value: kind, URL and note."""

    kind: str  # sourced | derived | assumption
    note: str
    url: str = ""


@dataclass(frozen=True)
class Facts:
    tables: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def load_facts(directory: Path) -> Facts:
    """Read every fact CSV; each frame keeps its file row number in ``row``."""
    tables = {}
    for name in FACT_FILES:
        frame = pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.insert(0, "row", range(2, len(frame) + 2))  # line number in the file (header = 1)
        frame.attrs["file"] = f"{name}.csv"
        tables[name] = frame
    return Facts(tables)


def number(text: str) -> float:
    """A fact cell as a float; 'lo-hi' ranges give their mid-point."""
    text = str(text).replace(",", "").strip()
    if "-" in text[1:]:
        lo, hi = text.split("-", 1)
        return (float(lo) + float(hi)) / 2.0
    return float(text.lstrip("><~"))


def sourced(frame: pd.DataFrame, row: pd.Series, what: str = "") -> Prov:
    """Provenance for a value read from one fact row."""
    file = frame.attrs.get("file", "facts")
    note = f"{file} row {row['row']}: {row['source_note']}"
    if what:
        note = f"{what}; {note}"
    return Prov("sourced", note, str(row["source_url"]))


def derived(method: str, *rows: tuple[pd.DataFrame, pd.Series]) -> Prov:
    refs = "; ".join(f"{f.attrs.get('file', 'facts')} row {r['row']}" for f, r in rows)
    note = f"{method} (from {refs})" if refs else method
    url = str(rows[0][1]["source_url"]) if len(rows) == 1 else ""
    return Prov("derived", note, url)


def find(frame: pd.DataFrame, **equal: object) -> pd.DataFrame:
    """Rows whose columns equal the given values (as strings)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        mask &= frame[column] == str(value)
    return frame[mask]


def one(frame: pd.DataFrame, **equal: object) -> pd.Series:
    """The first row matching; KeyError with the filter if none."""
    rows = find(frame, **equal)
    if rows.empty:
        raise KeyError(f"no fact row in {frame.attrs.get('file')} with {equal}")
    return rows.iloc[0]


def edition_rank(edition: str) -> int:
    """Newer editions rank higher: 'MCS 2026' > 'MCS 2025' > 'MYB 2022' > 'DS140'."""
    digits = "".join(ch for ch in edition if ch.isdigit())[:4]
    official = 1 if edition.startswith(("MCS", "MYB", "Minerals")) else 0
    return official * 10_000 + (int(digits) if digits else 0)


def mine_rows(facts: Facts, year: int) -> pd.DataFrame:
    """One mine-production row per country for ``year``: the newest official edition wins."""
    frame = facts["mine_production"]
    rows = frame[(frame["year"] == str(year)) & (frame["tonnes_reo"] != "")].copy()
    rows["rank"] = rows["source_edition"].map(edition_rank)
    rows = rows.sort_values(["country", "rank"], ascending=[True, False], kind="stable")
    chosen = rows.drop_duplicates("country", keep="first").drop(columns="rank")
    chosen.attrs["file"] = frame.attrs["file"]
    return chosen


def mine_note(chosen: pd.Series, facts: Facts) -> str:
    """Note on the precedence choice for one country's mine output."""
    frame = facts["mine_production"]
    others = frame[
        (frame["country"] == chosen["country"])
        & (frame["year"] == chosen["year"])
        & (frame["source_edition"] != chosen["source_edition"])
        & (frame["tonnes_reo"] != "")
    ]
    if others.empty:
        return f"{chosen['source_edition']} chosen (only edition)"
    alt = ", ".join(
        f"{r.source_edition} {number(r.tonnes_reo):,.0f} t" for r in others.itertuples()
    )
    return f"{chosen['source_edition']} chosen over {alt} (newest official edition first)"
