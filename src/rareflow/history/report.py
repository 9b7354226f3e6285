"""``rareflow report backtest``: an offline HTML page of modelled against observed exports.

One chart per series (World first), modelled as a line and observed as points (hollow where the
figure is implied by a reported change), with the timeline's events in the window drawn as
vertical lines: solid for modelled events, dotted for those not modelled. Where a calibrated
posterior is bundled (``rareflow calibrate``), each chart is a fan chart: the 5-95% and 25-75%
bands and the median of the posterior predictive (the history run over posterior draws), so
observations can be read against the model's calibrated uncertainty. The skill tables follow
the charts.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rareflow.history.timeline import TimelineEvent, load_timeline

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.history.backtest import BacktestResult
    from rareflow.history.simulator import HistorySimulator

RELEVANT = ("export_license", "deal", "suspension", "export_ban", "tariff", "price_floor")


def _events(first: str, last: str) -> list[TimelineEvent]:
    return [
        e
        for e in load_timeline()
        if first <= e.date[:7] <= last
        and (e.modelled or e.instrument in RELEVANT)
        and ("rare earth" in e.items.lower() or e.modelled or "magnet" in e.items.lower())
    ]


BAND_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def posterior_bands(
    until: str,
    series: list[str],
    draws: int = 100,
    seed: int = 0,
    sim: HistorySimulator | None = None,
) -> pd.DataFrame | None:
    """Posterior predictive quantiles of the export series: columns month, destination, p5,
    p25, p50, p75, p95 (None without a bundled posterior). ``draws`` parameter sets are drawn
    from the posterior sample by weight and run as one batch; ``sim``: a simulator to ``until``
    already built (else one is)."""
    import numpy as np
    import pandas as pd

    from rareflow.history.posterior import load_bundled
    from rareflow.history.simulator import HistorySimulator

    sim = sim or HistorySimulator(until)
    every = load_bundled()
    known = tuple(sorted(n for n in every.names if sim.knows(n))) if every is not None else ()
    sample = load_bundled(known) if known else None
    if sample is None:
        return None
    u = (np.arange(draws) + np.random.default_rng(seed).random(draws)) / draws  # stratified
    out = sim.series(sample.draw(u))
    frames = []
    for name in series:
        if name not in out:
            continue
        q = np.quantile(out[name], BAND_QUANTILES, axis=0)  # (5, T)
        frame = pd.DataFrame({"month": sim.months, "destination": name})
        for j, level in enumerate(BAND_QUANTILES):
            frame[f"p{round(level * 100)}"] = q[j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def _fan(fig: Any, part: pd.DataFrame, name: str, row: int) -> None:
    import plotly.graph_objects as go

    for lo, hi, alpha in (("p5", "p95", 0.15), ("p25", "p75", 0.3)):
        fig.add_trace(go.Scatter(x=part["month"], y=part[hi], mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip"), row=row, col=1)  # fmt: skip
        fig.add_trace(
            go.Scatter(x=part["month"], y=part[lo], mode="lines", line={"width": 0},
                       fill="tonexty", fillcolor=f"rgba(31,119,180,{alpha})",
                       name=f"{name} posterior {lo}-{hi}"),
            row=row, col=1,
        )  # fmt: skip
    fig.add_trace(go.Scatter(x=part["month"], y=part["p50"], mode="lines",
                             line={"color": "#1f77b4", "dash": "dash"},
                             name=f"{name} posterior median"), row=row, col=1)  # fmt: skip


def figure(result: BacktestResult, bands: pd.DataFrame | None = None):  # -> plotly Figure
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = result.rows
    names = list(dict.fromkeys(rows["destination"]))
    fig = make_subplots(rows=len(names), cols=1, subplot_titles=names, shared_xaxes=False)
    months = sorted(rows["month"].unique())
    events = _events(months[0], months[-1])
    for i, name in enumerate(names, start=1):
        part = rows[rows["destination"] == name]
        if bands is not None and (bands["destination"] == name).any():
            _fan(fig, bands[bands["destination"] == name], name, i)
        fig.add_trace(
            go.Scatter(
                x=part["month"],
                y=part["modelled_tonnes"],
                name=f"{name} modelled",
                mode="lines",
                line={"color": "#1f77b4"},
            ),
            row=i,
            col=1,
        )
        seen = part.dropna(subset=["observed_tonnes"])
        symbols = ["circle-open" if k == "implied" else "circle" for k in seen["kind"]]
        fig.add_trace(
            go.Scatter(
                x=seen["month"],
                y=seen["observed_tonnes"],
                name=f"{name} observed",
                mode="markers",
                marker={"color": "#d62728", "symbol": symbols, "size": 8},
            ),
            row=i,
            col=1,
        )
        for event in events:
            fig.add_vline(
                x=event.date[:7],
                row=i,
                col=1,
                line={
                    "dash": "solid" if event.modelled else "dot",
                    "width": 1,
                    "color": "#2ca02c" if event.modelled else "#999",
                },
            )
    for event in events:  # labels once, on the first chart
        fig.add_annotation(
            x=event.date[:7],
            y=1.0,
            yref="y domain",
            xref="x",
            text=event.reference[:28],
            showarrow=False,
            textangle=-90,
            font={"size": 9},
            xanchor="left",
            yanchor="top",
            hovertext=html.escape(event.description),
        )
    fig.update_layout(height=320 * len(names), title="China magnet exports, t/month (HS 8505.11)")
    return fig


def _prices_and_stoppages(result: BacktestResult) -> str:
    """HTML tables of the price scores and of the reported stoppages (empty where absent)."""
    import pandas as pd

    def table(rows: list[dict] | pd.DataFrame) -> str:
        return pd.DataFrame(rows).to_html(index=False, float_format=lambda v: f"{v:,.3g}")

    parts = []
    if result.prices is not None:
        parts.append(f"<h2>Prices (in sample)</h2>{table(result.prices.metrics)}")
    if result.stoppages is not None:
        events = result.stoppages.events
        parts.append(
            f"<h2>Reported stoppages: {int(events['matched'].sum())} of {len(events)} "
            f"matched</h2>{table(events)}"
        )
    return "".join(parts)


def write_backtest_report(
    result: BacktestResult, out: Path, bands: pd.DataFrame | None = None
) -> Path:
    """Write the page (plotly.js inlined, so it opens offline) and return its path."""
    import pandas as pd

    chart = figure(result, bands).to_html(include_plotlyjs=True, full_html=False)
    fan = (
        "<p>Fan charts: the posterior predictive (5-95% and 25-75% bands, dashed median) of "
        "the bundled calibration; the solid line is the run at the stored point values.</p>"
        if bands is not None
        else "<p>No calibrated posterior is bundled: no fan charts.</p>"
    )
    metrics = result.metrics_table().to_html(index=False, float_format=lambda v: f"{v:,.3g}")
    oos = pd.DataFrame(result.out_of_sample).to_html(
        index=False, float_format=lambda v: f"{v:,.3g}"
    )
    summary = result.summary_table().to_html(index=False, float_format=lambda v: f"{v:,.3g}")
    extra = _prices_and_stoppages(result)
    months = sorted(result.rows["month"].unique())
    listed = "".join(
        f"<li>{html.escape(e.date)}: {html.escape(e.reference)} "
        f"({'modelled: ' + ', '.join(p.id for p in e.policies) if e.modelled else 'not modelled: ' + html.escape(e.why_not_modelled)})</li>"
        for e in _events(months[0], months[-1])
    )
    params = "".join(f"<li>{html.escape(k)} = {v:.4g}</li>" for k, v in result.parameters.items())
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>rareflow backtest</title>"
        "</head><body><h1>Backtest: China magnet exports</h1>"
        f"<p>History scenario 2024-01..{html.escape(result.until)}.</p>{fan}{chart}"
        f"<h2>Skill by destination against naive forecasts</h2>{summary}"
        f"<h2>Skill by series (in sample)</h2>{metrics}"
        f"<h2>Rolling-origin (out of sample)</h2>{oos}{extra}"
        f"<h2>Parameters</h2><ul>{params or '<li>priors (no stored calibration)</li>'}</ul>"
        f"<h2>Events in the window</h2><ul>{listed}</ul></body></html>"
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
