"""``rareflow report forecast``: the forecast as an offline HTML page, one chart per series.

Each chart shows what was known and what is forecast side by side, so that the later customs
figures can be read against it month by month:

- the customs figures of the fitted window (red points; hollow where implied by a reported
  change);
- the forecast at the bundled point (solid line), the posterior predictive 5-95% (blue band)
  and the wider 90% interval that adds the model's in-sample error (grey band);
- the two naive forecasts made from what was known at the origin (dotted: persistence;
  dash-dot: the same month a year earlier);
- later observations, where given (black diamonds), with the scores table under the charts.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rareflow.history.backtest import series_order

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.history.forecast import Forecast

KNOWN_MONTHS = 24  # months of the fitted window drawn before the origin


def _band(fig: Any, part: pd.DataFrame, low: str, high: str, name: str, color: str,
          row: int) -> None:  # fmt: skip
    import plotly.graph_objects as go

    fig.add_trace(go.Scatter(x=part["month"], y=part[high], mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip", legendgroup=name),
                  row=row, col=1)  # fmt: skip
    _line(fig, part["month"], part[low], name, row, mode="lines", line={"width": 0},
          fill="tonexty", fillcolor=color)  # fmt: skip


def _line(fig: Any, x: Any, y: Any, name: str, row: int, **style: Any) -> None:
    """A trace of chart ``row``, in the legend once (from the first chart) and toggled with
    its kind on every chart."""
    import plotly.graph_objects as go

    fig.add_trace(go.Scatter(x=x, y=y, name=name, legendgroup=name, showlegend=row == 1,
                             **style), row=row, col=1)  # fmt: skip


def figure(result: Forecast, known: pd.DataFrame):  # -> plotly Figure
    """Charts of ``result`` (``forecast``), with ``known`` (month, destination,
    observed_tonnes, kind) the fitted window's observations; one month axis for all."""
    from plotly.subplots import make_subplots

    rows = result.rows
    names = series_order(rows["destination"].unique())
    fig = make_subplots(rows=len(names), cols=1, subplot_titles=names)
    if "observed_tonnes" not in rows:  # no later figures given
        rows = rows.assign(observed_tonnes=float("nan"))
    later = rows.dropna(subset=["observed_tonnes"])
    for i, name in enumerate(names, start=1):
        part = rows[rows["destination"] == name]
        seen = known[known["destination"] == name]
        _band(fig, part, "low_90", "high_90", "90% with the in-sample error",
              "rgba(127,127,127,0.2)", i)  # fmt: skip
        _band(fig, part, "posterior_p5", "posterior_p95", "posterior 5-95%",
              "rgba(31,119,180,0.3)", i)  # fmt: skip
        _line(fig, part["month"], part["point_tonnes"], "forecast (bundled point)", i,
              mode="lines", line={"color": "#1f77b4"})  # fmt: skip
        _line(fig, part["month"], part["persistence_tonnes"], "naive: persistence", i,
              mode="lines", line={"color": "#7f7f7f", "dash": "dot"})  # fmt: skip
        _line(fig, part["month"], part["last_year_tonnes"], "naive: a year earlier", i,
              mode="lines", line={"color": "#7f7f7f", "dash": "dashdot"})  # fmt: skip
        symbols = ["circle-open" if k == "implied" else "circle" for k in seen["kind"]]
        _line(fig, seen["month"], seen["observed_tonnes"], "observed (fitted)", i,
              mode="markers", marker={"color": "#d62728", "symbol": symbols, "size": 7})  # fmt: skip
        mine = later[later["destination"] == name]
        _line(fig, mine["month"], mine["observed_tonnes"], "observed (later)", i,
              mode="markers", marker={"color": "black", "symbol": "diamond", "size": 9})  # fmt: skip
        fig.add_vline(x=result.fitted_through, row=i, col=1,
                      line={"dash": "dash", "width": 1, "color": "#999"})  # fmt: skip
    first = str(known["month"].min()) if len(known) else result.fitted_through
    fig.update_xaxes(range=[first, result.until])
    fig.update_layout(height=280 * len(names),
                      title=f"China magnet exports, t/month (HS 8505.11): forecast from "
                      f"{result.fitted_through}")  # fmt: skip
    return fig


def known_window(fitted_through: str) -> pd.DataFrame:
    """The bundled observations of the ``KNOWN_MONTHS`` up to ``fitted_through``."""
    import pandas as pd

    from rareflow.history.observed import read_observed

    first = str(pd.Period(fitted_through, freq="M") - (KNOWN_MONTHS - 1))
    known = read_observed()
    return known[(known["month"] >= first) & (known["month"] <= fitted_through)]


def table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:,.3g}", na_rep="")


def write_page(out: Path, name: str, heading: str, intro: str, body: str,
               notes: list[str]) -> Path:  # fmt: skip
    """An offline page (plotly.js inlined in ``body``'s charts) written atomically: ``name``
    titles it, ``intro`` (text, escaped) opens it, ``body`` (HTML) follows, then the notes."""
    from rareflow.data.files import atomic_path

    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>rareflow {name}</title>"
        f"</head><body><h1>{html.escape(heading)}</h1><p>{html.escape(intro)}</p>{body}"
        f"<h2>How to read it</h2><ul>{items}</ul></body></html>"
    )
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return Path(out)


def write_forecast_report(result: Forecast, out: Path) -> Path:
    """Write the page (plotly.js inlined: it opens offline) atomically; return its path."""
    import pandas as pd

    chart = figure(result, known_window(result.fitted_through)).to_html(
        include_plotlyjs=True, full_html=False
    )
    scores = (
        "<h2>Against the later observations</h2>" + table_html(pd.DataFrame(result.scores))
        if result.scores
        else "<p>No later observations given (<code>--observed FILE</code> scores them).</p>"
    )
    intro = (f"Fitted through {result.fitted_through}; forecast to {result.until} over "
             f"{result.draws} posterior draws.")  # fmt: skip
    return write_page(out, "forecast", "Forecast: China magnet exports by destination", intro,
                      chart + scores, result.notes)  # fmt: skip
