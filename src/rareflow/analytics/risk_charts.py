"""Charts for the risk commands: HHI by stage and the criticality matrix (EI vs SR).

The file suffix picks the library: ``.html`` is plotly (self-contained, plotly.js included),
anything matplotlib can save (``.png``, ``.svg``, ``.pdf``) is matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rareflow.analytics.concentration import HHI_HIGH, HHI_MODERATE
from rareflow.analytics.criticality import EI_THRESHOLD, SR_THRESHOLD
from rareflow.errors import UserInputError

IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg")


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in (*IMAGE_SUFFIXES, ".html"):
        raise UserInputError(
            "unknown chart type", value=str(path), expected=", ".join((*IMAGE_SUFFIXES, ".html"))
        )


def hhi_chart(frame: pd.DataFrame, path: str | Path) -> Path:
    """Bar chart of HHI (0-1) by stage, with the DOJ concentration bands."""
    path = Path(path)
    _check_suffix(path)
    labels = [
        f"{s} ({e})" if e != "all" else s
        for s, e in zip(frame["stage"], frame["element"], strict=False)
    ]
    if path.suffix.lower() == ".html":
        import plotly.graph_objects as go

        fig = go.Figure(go.Bar(x=labels, y=frame["hhi"], name="HHI"))
        for level in (HHI_MODERATE, HHI_HIGH):
            fig.add_hline(y=level / 10_000, line_dash="dash")
        fig.update_layout(title="Concentration by stage (HHI)", yaxis_range=[0, 1])
        fig.write_html(path, include_plotlyjs=True)
        return path
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(labels, frame["hhi"], color="tab:red")
    for level in (HHI_MODERATE, HHI_HIGH):
        ax.axhline(level / 10_000, linestyle="--", color="grey", linewidth=1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("HHI (0-1)")
    ax.set_title("Concentration by stage")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def matrix_chart(frame: pd.DataFrame, path: str | Path, label: str = "material") -> Path:
    """EI (x) against SR (y) with the threshold lines; rows without EI sit at EI = 0, hollow."""
    path = Path(path)
    _check_suffix(path)
    data = frame.loc[frame["SR"].notna()].copy()
    ei = data["EI"] if "EI" in data else pd.Series(np.nan, index=data.index)
    data["EI_plot"] = ei.fillna(0.0)
    data["known"] = ei.notna()
    if path.suffix.lower() == ".html":
        import plotly.graph_objects as go

        fig = go.Figure()
        for known, symbol in ((True, "circle"), (False, "circle-open")):
            part = data.loc[data["known"] == known]
            name = "EI known" if known else "EI not available (drawn at 0)"
            fig.add_trace(
                go.Scatter(
                    x=part["EI_plot"],
                    y=part["SR"],
                    text=part[label],
                    mode="markers+text",
                    marker_symbol=symbol,
                    name=name,
                    textposition="top center",
                )
            )
        fig.add_hline(y=SR_THRESHOLD, line_dash="dash")
        fig.add_vline(x=EI_THRESHOLD, line_dash="dash")
        fig.update_layout(
            title="Criticality matrix", xaxis_title="Economic importance", yaxis_title="Supply risk"
        )
        fig.write_html(path, include_plotlyjs=True)
        return path
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for known, face in ((True, "tab:blue"), (False, "none")):
        part = data.loc[data["known"] == known]
        ax.scatter(part["EI_plot"], part["SR"], facecolors=face, edgecolors="tab:blue")
        for _, row in part.iterrows():
            ax.annotate(str(row[label]), (row["EI_plot"], row["SR"]), fontsize=7)
    ax.axhline(SR_THRESHOLD, linestyle="--", color="grey")
    ax.axvline(EI_THRESHOLD, linestyle="--", color="grey")
    ax.set_xlim(left=-0.2)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Economic importance (hollow: not available, drawn at 0)")
    ax.set_ylabel("Supply risk")
    ax.set_title("Criticality matrix")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
