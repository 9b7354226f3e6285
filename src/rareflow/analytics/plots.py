"""Plot one metric of a run over time: PNG (matplotlib) or self-contained HTML (plotly).

One line per region (for ``shipments``, per importing region; for ``price``, per product and
market). Over the other dimensions a metric is summed (tonnes, units, USD) or averaged
(shares, probabilities, prices: ``averaged``); over draws it is averaged. Lines that are zero
throughout are left out. A Monte Carlo statistic (``shortage_share_p95``, ``value_lost_se``)
is not additive at all, so its lines are per region and sector (``region/sector``) and never
summed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rareflow.errors import UserInputError

EXTENSIONS = (".png", ".html", ".htm")
MEAN_METRICS = ("price", "shortage_share")  # averaged over sectors/products, not summed
STATS = ("mean", "se", "p5", "p50", "p95", "min", "max")  # Monte Carlo statistics (suffixes)


def statistic(metric: str) -> bool:
    """A Monte Carlo statistic (``<output>_<stat>``, ``shortage_prob``): not additive."""
    return metric.startswith("shortage_prob") or metric.rsplit("_", 1)[-1] in STATS


def averaged(metric: str) -> bool:
    """Shares, probabilities and prices: a mean over sectors or products, never a sum."""
    return metric in MEAN_METRICS or metric.startswith(("shortage_share", "shortage_prob"))


def line_label(frame: pd.DataFrame, metric: str) -> pd.Series:
    if metric == "price":
        return frame["product"].astype(str) + " (" + frame["region"].astype(str) + ")"
    if metric == "shipments":
        return frame["partner"].astype(str)
    if statistic(metric):
        return frame["region"].astype(str) + "/" + frame["product"].astype(str)
    return frame["region"].astype(str)


def series(frame: pd.DataFrame, metric: str, months: list[str] | None = None) -> pd.DataFrame:
    """month x line table of the metric (mean over draws); zero lines dropped. ``months``
    (all of the run's, 'YYYY-MM') fills the months where stored results hold no rows."""
    known = sorted(frame["metric"].unique())
    if metric not in known:
        raise UserInputError("unknown metric", value=metric, expected="one of " + ", ".join(known))
    rows = frame[frame["metric"] == metric].assign(line=lambda f: line_label(f, metric))
    how = "mean" if averaged(metric) or statistic(metric) else "sum"
    per_draw = rows.groupby(["draw", "month", "line"])["value"].agg(how)
    table = per_draw.groupby(["month", "line"]).mean().unstack("line").fillna(0.0)
    if months is not None:
        table = table.reindex(sorted(set(months) | set(table.index)), fill_value=0.0)
    table.index = pd.to_datetime(table.index.astype(str), format="%Y-%m")
    nonzero = table.loc[:, (table.abs() > 0).any()]
    return nonzero if not nonzero.empty else table


def _title(frame: pd.DataFrame, metric: str) -> tuple[str, str]:
    rows = frame[frame["metric"] == metric]
    unit = str(rows["unit"].iloc[0]) if "unit" in rows and len(rows) else ""
    unit = "share" if unit in ("1", "") and metric.endswith("share") else unit
    scenario = str(rows["scenario"].iloc[0]) if "scenario" in rows and len(rows) else ""
    over = {"price": "", "shipments": " (imports from all origins, all products)"}
    if statistic(metric):
        how = " (per region/sector, over draws)"
    elif averaged(metric):
        how = " (mean over sectors)"
    else:
        how = " (sum over products/sectors)"
    title = metric + over.get(metric, how)
    return f"{title} - {scenario}" if scenario else title, unit


def _png(table: pd.DataFrame, title: str, unit: str, out: Path) -> None:
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, Agg canvas

    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for line in table.columns:
        ax.plot(table.index, table[line], label=str(line))
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))
    ax.grid(alpha=0.3)
    if len(table.columns) <= 20:
        ax.legend(fontsize="small", ncols=2 if len(table.columns) > 8 else 1)
    fig.savefig(out, format="png", dpi=120)


def _html(table: pd.DataFrame, title: str, unit: str, out: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    for line in table.columns:
        fig.add_trace(go.Scatter(x=table.index, y=table[line], mode="lines", name=str(line)))
    fig.update_layout(title=title, yaxis_title=unit, xaxis_title="month")
    fig.write_html(out, include_plotlyjs=True, full_html=True)


def check_extension(out: str | Path) -> str:
    """The plot file's extension, if it is one we can write."""
    ext = Path(out).suffix.lower()
    if ext not in EXTENSIONS:
        raise UserInputError(
            "unknown plot format",
            file=str(out),
            value=ext or "(no extension)",
            expected="a file ending in " + ", ".join(EXTENSIONS),
        )
    return ext


def plot(
    frame: pd.DataFrame, metric: str, out: str | Path, months: list[str] | None = None
) -> Path:
    """Plot ``metric`` from a tidy results frame to ``out`` (.png or .html); atomic.
    The store drops exact zeros: pass the run's ``months`` to show them as zeros."""
    from rareflow.io.export import atomic_path

    out = Path(out)
    ext = check_extension(out)
    table = series(frame, metric, months)
    title, unit = _title(frame, metric)
    with atomic_path(out) as tmp:
        (_png if ext == ".png" else _html)(table, title, unit, tmp)
    return out
