"""Provenance of every value: sourced (a fact row), derived (a method) or assumption."""

from __future__ import annotations

import pandas as pd

from rareflow.data.network import Network
from rareflow.data.schema import PROVENANCE_KINDS, TABLES


def provenance_counts(net: Network) -> dict[str, int]:
    """Numbers of values by provenance; a value is one numeric cell of a provenance table."""
    counts = dict.fromkeys(("values", *PROVENANCE_KINDS, "unsourced"), 0)
    for name, schema in TABLES.items():
        if not schema.provenance or name not in net.tables:  # an optional table left out
            continue
        frame = net.tables[name]
        width = len(schema.value_columns)
        kinds = frame["provenance"].value_counts()
        counts["values"] += len(frame) * width
        for kind in PROVENANCE_KINDS:
            counts[kind] += int(kinds.get(kind, 0)) * width
        missing = ~frame["provenance"].isin(PROVENANCE_KINDS) | (
            frame["note"].astype(str).str.strip() == ""
        )
        counts["unsourced"] += int(missing.sum()) * width
    counts["assumptions"] = counts.pop("assumption")
    return counts


def sources(net: Network, table: str | None = None, product: str | None = None) -> pd.DataFrame:
    """One row per value: table, key, column, value, provenance, source_url, note."""
    rows = []
    for name, schema in TABLES.items():
        if not schema.provenance or (table is not None and name != table):
            continue
        if name not in net.tables:  # an optional table left out
            continue
        frame = net.tables[name]
        if product is not None and "product" in frame.columns:
            frame = frame[frame["product"] == product]
        elif product is not None:
            continue
        keys = [k for k in schema.key]
        label = (
            frame[keys]
            .astype(str)
            .apply(lambda r: ", ".join(f"{k}={v}" for k, v in r.items()), axis=1)
        )
        for column in schema.value_columns:
            rows.append(
                pd.DataFrame(
                    {
                        "table": name,
                        "key": label,
                        "column": column,
                        "value": frame[column],
                        "provenance": frame["provenance"],
                        "source_url": frame["source_url"],
                        "note": frame["note"],
                    }
                )
            )
    if not rows:
        return pd.DataFrame(
            columns=["table", "key", "column", "value", "provenance", "source_url", "note"]
        )
    return pd.concat(rows, ignore_index=True)
