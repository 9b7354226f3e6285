"""A one-page brief of a stored run, to send: an offline HTML page with the answer first (who
is short of what, from when, for how long, at what cost), the shortage paths with each
measure's start marked, the prices that moved, the measures and their sources, and the
model's assumptions. plotly.js is inlined, so the page opens without a network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rareflow.analytics.headline import headline, stat_table

if TYPE_CHECKING:
    from rareflow.io.store import ResultStore

TOP_LINES = 8
TOP_ROWS = 20  # one page: the rest is counted
HEADINGS = {"peak_short": "peak short", "peak_stopped": "peak stopped",
            "value_lost_usd": "value lost ($m)"}  # fmt: skip
TOP_PRICES = 10
ASSUMPTIONS = [
    "One baseline year (2024); behavioural parameters are calibrated on China's 2024-2025 "
    "magnet exports or labelled assumptions (`rareflow data sources`).",
    "A shortage is final use not met once a region's pooled stock is empty; a stoppage is "
    "the share of buyers' output stopped when their own cover runs out first (depth not "
    "calibrated).",
    "Value lost is units not built times their gross value (not value added).",
    "Prices respond to tightness within bounds; China-domestic prices do not yet follow "
    "China's own balance (see the README's Limits).",
]


def _shortage_figure(results: pd.DataFrame, months: list[str], starts: list[dict[str, str]]) -> str:
    import plotly.graph_objects as go

    single = (results["metric"] == "shortage_share").any()
    table = stat_table(results, "shortage_share" if single else "shortage_share_p50", months)
    fig = go.Figure()
    worst = table.max(axis=1).sort_values(ascending=False)
    for key in worst[worst > 0].head(TOP_LINES).index:
        fig.add_scatter(x=months, y=list(table.loc[key]), name=" · ".join(key), mode="lines")
    for policy in starts:
        if policy["start"] in months:
            fig.add_vline(x=policy["start"], line={"dash": "dot", "width": 1, "color": "#888"})
    fig.update_layout(
        title="Shortage by region and sector (share of need not met)",
        yaxis={"tickformat": ".1~%", "rangemode": "tozero"},
        height=380,
        margin={"t": 50},
    )
    return fig.to_html(include_plotlyjs=True, full_html=False)


def _table(rows: list[dict[str, Any]] | pd.DataFrame, formats: dict[str, Any]) -> str:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return "<p>None.</p>"
    for column, show in formats.items():
        if column in frame:
            frame[column] = frame[column].map(show)
    return frame.to_html(index=False, escape=True)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _policies(scenario: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "measure": p.get("id", ""),
            "type": p.get("type", ""),
            "actor": p.get("actor", ""),
            "from": p.get("start", ""),
            "to": p.get("end") or "",
            "source": p.get("source", ""),
        }
        for p in scenario.get("policies", [])
    ]
    return pd.DataFrame(rows)


def brief_html(store: ResultStore, run_id: str) -> str:
    """The page for ``run_id`` (an id or unique prefix in ``store``)."""
    run_id = store.resolve(run_id)
    info = store.run(run_id)
    scenario = json.loads(info["scenario_json"] or "{}")
    results, months = store.results(run_id), store.months(run_id)
    starts = [{"id": str(p.get("id")), "start": str(p.get("start"))}
              for p in scenario.get("policies", []) if p.get("type") != "suspension"]  # fmt: skip
    prices = store.peak_prices(run_id)
    prices = prices.assign(change=prices["peak_usd_per_kg"] / prices["base_usd_per_kg"] - 1.0)
    moved = prices.reindex(prices["change"].abs().sort_values(ascending=False).index)
    sources = [
        *scenario.get("sources", []),
        *(p.get("source", "") for p in scenario.get("policies", [])),
    ]
    links = "".join(
        f'<li><a href="{html.escape(s)}">{html.escape(s)}</a></li>'
        for s in dict.fromkeys(x for x in sources if x)
    )
    rows = sorted(headline(results, months),
                  key=lambda r: (-r["value_lost_usd"], -max(r["peak_short"], r["peak_stopped"])))  # fmt: skip
    short = _table(
        rows[:TOP_ROWS],
        {"peak_short": _pct, "peak_stopped": _pct, "value_lost_usd": lambda v: f"{v / 1e6:,.1f}"},
    )
    for column, label in HEADINGS.items():
        short = short.replace(f"<th>{column}</th>", f"<th>{label}</th>")
    if len(rows) > TOP_ROWS:
        short += f'<p class="muted">... and {len(rows) - TOP_ROWS} more region-sector rows.</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rareflow brief: {html.escape(run_id)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;font-size:.9rem}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}}
td:first-child,th:first-child,td:nth-child(2){{text-align:left}}.muted{{color:#666}}</style></head>
<body>
<h1>{html.escape(str(scenario.get("name", info["scenario"])))}</h1>
<p>{html.escape(str(scenario.get("description", "")))}</p>
<p class="muted">Run {html.escape(run_id)}: {len(months)} months from {html.escape(months[0] if months else "")},
{int(info.get("draws") or 1)} draw(s), finished {html.escape(str(info.get("finished_at", "")))}; mass balance held
every month (largest residual {float(info.get("mass_balance_max_residual") or 0.0):.1e}).</p>
<h2>Who is short, from when, for how long, at what cost</h2>
{short}
{_shortage_figure(results, months, starts)}
<h2>Prices that moved most (USD/kg)</h2>
{_table(moved.head(TOP_PRICES), {"base_usd_per_kg": "{:,.1f}".format, "peak_usd_per_kg": "{:,.1f}".format, "change": _pct})}
<h2>The measures</h2>
{_table(_policies(scenario), {})}
<h2>Assumptions</h2>
<ul>{"".join(f"<li>{html.escape(a)}</li>" for a in ASSUMPTIONS)}</ul>
<h2>Sources</h2>
<ul>{links or "<li>The scenario names no source.</li>"}</ul>
<p class="muted">Written by rareflow; every bundled number's source: <code>rareflow data sources</code>.</p>
</body></html>
"""


def write_brief(store: ResultStore, run_id: str, out: Path) -> Path:
    """Write the page atomically to ``out`` and return its path."""
    from rareflow.io.export import atomic_path

    page = brief_html(store, run_id)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return Path(out)
