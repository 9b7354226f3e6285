"""The series the dashboard draws, aggregated from a stored run's tidy results (draw means).

- ``shortage``: shortage share per importing region and sector over time (the worst series;
  for a Monte Carlo run the median with its p5-p95 band);
- ``exports``: China's shipments per destination over time (t/month, all products);
- ``prices``: each product's price in China and ex-China over time (USD/kg);
- ``sankey``: tonnes shipped over the horizon, exporter -> stage of the chain -> importer.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rareflow.analytics.headline import by_month, headline, stat_table

TOP_SERIES = 12
TOP_REGIONS = 8
EXPORTER = "CHN"


def _series(table: pd.DataFrame, top: int) -> list[dict[str, Any]]:
    keep = _keys(table, top)
    names = [" · ".join(k) if isinstance(k, tuple) else str(k) for k in keep]
    return [
        {"name": name, "values": [float(v) for v in table.loc[key]]}
        for name, key in zip(names, keep, strict=True)
    ]


def shortage(results: pd.DataFrame, months: list[str]) -> list[dict[str, Any]]:
    """The worst series; a Monte Carlo run (no single path stored) gives its median with
    ``low`` and ``high`` (p5, p95) for a fan chart."""
    if (results["metric"] == "shortage_share").any() or not len(results):
        rows = results[results["metric"] == "shortage_share"]
        return _series(by_month(rows, ["region", "product"], months), TOP_SERIES)
    by = {q: stat_table(results, f"shortage_share_{q}", months) for q in ("p50", "p5", "p95")}
    series = _series(by["p50"], TOP_SERIES)
    for item, key in zip(series, _keys(by["p50"], TOP_SERIES), strict=True):
        for band, q in (("low", "p5"), ("high", "p95")):
            row = by[q].loc[key] if key in by[q].index else pd.Series(0.0, index=months)
            item[band] = [float(v) for v in row]
    return series


def _keys(table: pd.DataFrame, top: int) -> list[Any]:
    """The rows ``_series`` keeps, in its order."""
    if table.empty:
        return []
    peak = table.max(axis=1)
    return list(peak[peak > 0].sort_values(ascending=False).head(top).index)


def exports(results: pd.DataFrame, months: list[str]) -> list[dict[str, Any]]:
    rows = results[(results["metric"] == "shipments") & (results["region"] == EXPORTER)]
    return _series(by_month(rows, ["partner"], months), len(months) or TOP_SERIES)


def prices(results: pd.DataFrame, months: list[str]) -> dict[str, dict[str, list[float]]]:
    table = by_month(results[results["metric"] == "price"], ["product", "region"], months)
    out: dict[str, dict[str, list[float]]] = {}
    for (product, market), values in zip(table.index.tolist(), table.to_numpy(), strict=True):
        out.setdefault(str(product), {})[str(market)] = [float(v) for v in values]
    return out


def _lump(names: pd.Series, weights: pd.Series) -> pd.Series:
    """Names outside the top regions by weight become 'other'."""
    top = weights.groupby(names).sum().sort_values(ascending=False).head(TOP_REGIONS).index
    return names.where(names.isin(top), "other")


def sankey(results: pd.DataFrame, stages: dict[str, str]) -> dict[str, Any]:
    rows = results[results["metric"] == "shipments"]
    if rows.empty:
        return {"nodes": [], "source": [], "target": [], "value": []}
    draws = max(int(rows["draw"].nunique()), 1)
    frame = pd.DataFrame(
        {
            "exporter": _lump(rows["region"], rows["value"]),
            "stage": rows["product"].map(stages).fillna("other"),
            "importer": _lump(rows["partner"], rows["value"]),
            "value": rows["value"] / draws,
        }
    )
    left = frame.groupby(["exporter", "stage"], as_index=False)["value"].sum()
    right = frame.groupby(["stage", "importer"], as_index=False)["value"].sum()
    links = [(f"from {e}", str(s), float(v)) for e, s, v in left.itertuples(index=False) if v > 0]
    links += [(str(s), f"to {i}", float(v)) for s, i, v in right.itertuples(index=False) if v > 0]
    nodes = list(dict.fromkeys(name for a, b, _ in links for name in (a, b)))
    index = {name: i for i, name in enumerate(nodes)}
    return {
        "nodes": nodes,
        "source": [index[a] for a, _, _ in links],
        "target": [index[b] for _, b, _ in links],
        "value": [v for _, _, v in links],
    }


def payload(results: pd.DataFrame, months: list[str], stages: dict[str, str]) -> dict[str, Any]:
    return {
        "months": months,
        "headline": headline(results, months),
        "shortage": shortage(results, months),
        "exports": exports(results, months),
        "prices": prices(results, months),
        "sankey": sankey(results, stages),
    }


def policy_starts(scenario_json: str | None) -> list[dict[str, str]]:
    """The run's measures and their first months, to mark on the time charts."""
    import json

    try:
        policies = json.loads(scenario_json or "{}").get("policies", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    return [
        {"id": str(p.get("id", "")), "start": str(p.get("start", ""))}
        for p in policies
        if isinstance(p, dict) and p.get("start") and p.get("type") != "suspension"
    ]
