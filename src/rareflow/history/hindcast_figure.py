"""The hindcast as charts: per product, the modelled price multiple in and outside China (lines)
and the observed multiples (diamonds), on one month axis, log scale; and as an offline page
(``rareflow report hindcast``) with the summary and the scores under the charts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rareflow.history.forecast_report import _line, table_html, write_page

if TYPE_CHECKING:
    from rareflow.history.hindcast import Hindcast

STYLE = {"ex_china": "#c0392b", "china": "#2c3e50"}


def figure(result: Hindcast) -> Any:  # plotly Figure
    from plotly.subplots import make_subplots

    paths = result.paths
    products = list(dict.fromkeys(paths["product"]))
    fig = make_subplots(rows=len(products), cols=1, subplot_titles=products)
    for row, product in enumerate(products, start=1):
        for market, color in STYLE.items():
            part = paths[(paths["product"] == product) & (paths["market"] == market)]
            _line(fig, part["month"], part["modelled_multiple"], f"modelled, {market}", row,
                  mode="lines", line={"color": color})  # fmt: skip
            if "observed_multiple" in part:
                seen = part.dropna(subset=["observed_multiple"])
                _line(fig, seen["month"], seen["observed_multiple"], f"observed, {market}",
                      row, mode="markers", marker={"symbol": "diamond", "color": color})  # fmt: skip
        fig.update_yaxes(type="log", title_text="x 2010 baseline", row=row, col=1)
    fig.update_layout(height=260 * len(products), title=f"Hindcast 2010-{result.until[:4]}: "
                      "price multiples against the no-policy 2010 run")  # fmt: skip
    return fig


def write_hindcast_report(result: Hindcast, out: Path) -> Path:
    """Write the page (plotly.js inlined: it opens offline) atomically; return its path."""
    chart = figure(result).to_html(include_plotlyjs=True, full_html=False)
    scores = (
        "<h2>Against the observed prices</h2>" + table_html(result.scores)
        if len(result.scores)
        else "<p>No observed prices given (<code>--observed FILE</code> scores them).</p>"
    )
    intro = (f"2010-01 to {result.until}: price multiples against the no-policy 2010 run, "
             "stated before the prices of those years are seen.")  # fmt: skip
    fill = ("<h2>China's export quota filled, modelled and observed (in sample)</h2>"
            + table_html(result.quota_fill))  # fmt: skip
    body = f"{chart}<h2>Peaks and decay, modelled</h2>{table_html(result.summary)}{fill}{scores}"
    return write_page(out, "hindcast", "Hindcast: the 2010-2011 episode's prices", intro, body,
                      result.notes)  # fmt: skip
