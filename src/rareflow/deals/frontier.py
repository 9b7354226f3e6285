"""``rareflow deals frontier``: a deal's concession levels varied over a grid, run as one
batch of draws (draw 0 the no-deal arm, one draw per grid point), with the Pareto frontier of
the parties' payoffs and the Nash bargaining point for stated disagreement payoffs.

A grid axis is ``<term policy id>.<attribute>=LO:HI:N`` (N levels from LO to HI) or
``=A,B,C``; the attribute is one the instrument lets vary per draw (``PerDraw``), within the
field's bounds. Payoffs are those of ``evaluate.payoffs`` (USD over the deal's months).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rareflow.deals.arms import Arms, build_arms
from rareflow.deals.evaluate import payoffs
from rareflow.deals.model import load_deal
from rareflow.deals.runs import run_batch
from rareflow.errors import UserInputError
from rareflow.policies.fields import ATTRIBUTES


@dataclass
class Axis:
    key: str  # "<policy id>.<attribute>"
    levels: np.ndarray


@dataclass
class Frontier:
    arms: Arms
    axes: list[Axis]
    points: np.ndarray  # (N, axes) concession levels
    payoff: np.ndarray  # (N, parties) USD
    pareto: np.ndarray  # (N,) bool
    disagreement: np.ndarray  # (parties,)
    nash: int | None  # index of the Nash bargaining point

    @property
    def parties(self) -> list[str]:
        return list(self.arms.deal.parties)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                **{a.key: float(self.points[n, j]) for j, a in enumerate(self.axes)},
                **{f"{p}_payoff_usd": float(self.payoff[n, k]) for k, p in enumerate(self.parties)},
                "pareto": bool(self.pareto[n]),
                "nash": n == self.nash,
            }
            for n in range(len(self.points))
        ]


def parse_axis(text: str, arms: Arms) -> Axis:
    key, _, spec = text.partition("=")
    policy_id, _, attribute = key.partition(".")
    terms = {p.id: p for p in arms.with_deal.policies if p.id in arms.term_ids}
    if policy_id not in terms:
        raise UserInputError(
            "not a term policy of the deal", column="--grid", value=policy_id,
            expected=", ".join(terms) or "a deal with policy terms",
        )  # fmt: skip
    allowed = ATTRIBUTES[terms[policy_id].type]
    if attribute not in allowed:
        raise UserInputError(
            "not an attribute that can vary", column="--grid", value=key,
            expected=", ".join(f"{policy_id}.{a}" for a in allowed) or "none for this term",
        )  # fmt: skip
    levels = _levels(spec, text)
    lo, hi = allowed[attribute].low, allowed[attribute].high
    if levels.min() < lo or levels.max() > hi:
        raise UserInputError(
            "a level outside the field's bounds", column="--grid", value=text,
            expected=f"levels from {lo:g} to {hi:g}",
        )  # fmt: skip
    return Axis(key, levels)


def _levels(spec: str, text: str) -> np.ndarray:
    try:
        if ":" in spec:
            lo, hi, n = spec.split(":")
            return np.linspace(float(lo), float(hi), int(n))
        return np.array([float(x) for x in spec.split(",") if x.strip()])
    except ValueError:
        raise UserInputError(
            "not a grid axis", column="--grid", value=text,
            expected="ID.ATTRIBUTE=LO:HI:N or ID.ATTRIBUTE=A,B,C",
        ) from None  # fmt: skip


def pareto_mask(payoff: np.ndarray) -> np.ndarray:
    """(N,) points no other point dominates (at least as good for all, better for one)."""
    n = len(payoff)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        better = (payoff >= payoff[i]).all(axis=1) & (payoff > payoff[i]).any(axis=1)
        keep[i] = not better.any()
    return keep


def nash_point(payoff: np.ndarray, disagreement: np.ndarray) -> int | None:
    """The point maximising the product of gains over the disagreement payoffs, among points
    where every party gains; parties whose payoff never moves are left out of the product."""
    moving = np.ptp(payoff, axis=0) > 0
    gains = payoff[:, moving] - disagreement[moving]
    ok = (gains > 0).all(axis=1)
    if not ok.any():
        return None
    score = np.where(ok, np.log(np.where(gains > 0, gains, 1.0)).sum(axis=1), -np.inf)
    return int(np.argmax(score))


def frontier(
    name_or_path: str,
    grid: list[str],
    disagreement: dict[str, float] | None = None,
    against: str | None = None,
    kernel: str | None = None,
) -> Frontier:
    deal, file = load_deal(name_or_path)
    arms = build_arms(deal, file, against)
    if not grid:
        raise UserInputError("no grid axis given", column="--grid", expected="ID.ATTR=LO:HI:N")
    axes = [parse_axis(text, arms) for text in grid]
    points = np.array(list(itertools.product(*(a.levels for a in axes))))
    values = {a.key: points[:, j] for j, a in enumerate(axes)}
    batch = run_batch(arms, len(points), values, kernel=kernel)
    pay = payoffs(batch)[1:]
    given = disagreement or {}
    unknown = [p for p in given if p not in deal.parties]
    if unknown:
        raise UserInputError(
            "unknown party", column="--disagreement", value=unknown[0],
            expected=", ".join(deal.parties),
        )  # fmt: skip
    d = np.array([given.get(p, 0.0) for p in deal.parties])
    return Frontier(arms, axes, points, pay, pareto_mask(pay), d, nash_point(pay, d))


def write_plot(f: Frontier, out: Path, parties: tuple[str, str] | None = None) -> Path:
    """Payoffs of two parties (default: the first two), the frontier and the Nash point, as a
    self-contained (offline) plotly HTML file."""
    import plotly.graph_objects as go

    a, b = parties or (f.parties[0], f.parties[1 if len(f.parties) > 1 else 0])
    i, j = f.parties.index(a), f.parties.index(b)
    labels = [", ".join(f"{x.key}={p[k]:g}" for k, x in enumerate(f.axes)) for p in f.points]
    fig = go.Figure()
    fig.add_scatter(x=f.payoff[:, i], y=f.payoff[:, j], mode="markers", name="grid points",
                    text=labels, marker={"color": "lightgray"})  # fmt: skip
    front = np.flatnonzero(f.pareto)
    front = front[np.argsort(f.payoff[front, i])]
    fig.add_scatter(x=f.payoff[front, i], y=f.payoff[front, j], mode="lines+markers",
                    name="Pareto frontier", text=[labels[k] for k in front])  # fmt: skip
    if f.nash is not None:
        fig.add_scatter(x=[f.payoff[f.nash, i]], y=[f.payoff[f.nash, j]], mode="markers",
                        name="Nash bargaining point", text=[labels[f.nash]],
                        marker={"size": 14, "symbol": "star"})  # fmt: skip
    fig.update_layout(title=f"{f.arms.deal.name}: payoffs over the deal's months (USD)",
                      xaxis_title=f"{a} payoff (USD)", yaxis_title=f"{b} payoff (USD)")  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(out, include_plotlyjs=True, full_html=True)
    return out
