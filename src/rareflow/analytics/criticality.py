"""EU criticality methodology (2017, reused in 2020/2023) as small pure functions.

Supply risk (SR) of a stage (extraction or processing)::

    SR = [HHI_WGI,t(GS) x IR/2 + HHI_WGI,t(EU) x (1 - IR/2)] x (1 - EoL_RIR) x SI_SR

    HHI_WGI,t = sum over countries c of  S_c^2 x WGI_c x t_c

with S_c the country's share as a fraction, WGI_c its World Governance Indicator rescaled to
0-10 (10 = worst governance) and t_c the trade-related variable (0.8 .. 1.2), so HHI_WGI,t is
on the 0-10 scale the studies publish. GS is global supply, EU is EU sourcing (domestic
production plus imports). IR (import reliance) and EoL_RIR (end-of-life recycling input rate)
are fractions here. Where the study used global supply only, the EU term is dropped.

Economic importance (EI)::

    EI = 10 x sum over sectors s of (A_s x Q_s) / Q_max x SI_EI

with A_s the share of end use in NACE Rev.2 2-digit sector s, Q_s that sector's value added and
Q_max the value added of the largest sector (the scaling that puts EI on 0-10).

A material is critical when SR >= 1 and EI >= 2.8 (thresholds of the 2017 study).
The 2020/2023 assessments compute SR for extraction and processing and keep the higher one
(the bottleneck stage); ``bottleneck`` does that.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from rareflow.errors import UserInputError

SR_THRESHOLD = 1.0
EI_THRESHOLD = 2.8
_SHARE_TOLERANCE = 1e-6
_ROUNDED_SHARES_TOLERANCE = 0.05  # published shares are rounded: 1.005 is fine, 100 is not


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise UserInputError(
            f"{name} must be a fraction in [0, 1]", value=value, hint="Divide percentages by 100."
        )
    return float(value)


def hhi_wgi_t(
    shares: Sequence[float], wgi: Sequence[float], t: Sequence[float] | None = None
) -> float:
    """Governance- and trade-weighted HHI, 0-10: sum of share^2 x WGI (0-10) x t.

    ``shares`` are fractions (they may sum to less than 1 when small producers are omitted).
    """
    s = np.asarray(shares, dtype=float)
    w = np.asarray(wgi, dtype=float)
    tt = np.ones_like(s) if t is None else np.asarray(t, dtype=float)
    if not (s.shape == w.shape == tt.shape):
        raise UserInputError("shares, WGI and t must have one value per country")
    if np.any(s < 0) or s.sum() > 1.0 + _ROUNDED_SHARES_TOLERANCE:
        raise UserInputError(
            "shares must be non-negative fractions summing to about 1 at most",
            value=float(s.sum()),
            hint="Divide percentages by 100.",
        )
    if np.any((w < 0) | (w > 10)):
        raise UserInputError("scaled WGI must lie in [0, 10]", value=w.tolist())
    return float(np.sum(s * s * w * tt))


def supply_risk(
    hhi_gs: float,
    hhi_eu: float | None,
    ir: float,
    eol_rir: float,
    si_sr: float,
) -> float:
    """SR of one stage; ``hhi_eu=None`` uses global supply only (as the study did for some)."""
    ir = _fraction("IR", max(ir, 0.0))  # the study sets a negative IR (net exporter) to 0
    eol_rir = _fraction("EoL_RIR", eol_rir)
    si_sr = _fraction("SI_SR", si_sr)
    concentration = hhi_gs if hhi_eu is None else hhi_gs * ir / 2 + hhi_eu * (1 - ir / 2)
    return float(concentration * (1 - eol_rir) * si_sr)


def _interval(value: float, half_width: float, top: float) -> tuple[float, float]:
    return max(value - half_width, 0.0), min(value + half_width, top)


def supply_risk_bounds(
    values: Mapping[str, float | None], half_widths: Mapping[str, float]
) -> tuple[float, float]:
    """Smallest and largest SR when each input may lie within +-half_width of its value.

    SR is multilinear in its inputs, so its extremes lie on the corners of the box; fractions
    are clipped to [0, 1] and HHIs to [0, 10]. ``hhi_eu=None`` means global supply only.
    Used to test against published results computed from unrounded inputs.
    """
    hw = {k: half_widths.get(k, 0.0) for k in ("hhi_gs", "hhi_eu", "ir", "eol_rir", "si_sr")}

    def box(name: str, top: float = 1.0) -> tuple[float, float]:
        value = values[name]
        assert value is not None
        return _interval(value, hw[name], top)

    eu_values: tuple[float | None, ...] = (None,)
    if values.get("hhi_eu") is not None:
        eu_values = box("hhi_eu", 10.0)
    corners = itertools.product(
        box("hhi_gs", 10.0), eu_values, box("ir"), box("eol_rir"), box("si_sr")
    )
    results = [supply_risk(gs, eu, ir, eol, si) for gs, eu, ir, eol, si in corners]
    return min(results), max(results)


def economic_importance(
    end_use_shares: Sequence[float],
    value_added: Sequence[float],
    si_ei: float,
    largest_value_added: float | None = None,
) -> float:
    """EI on 0-10: sum of end-use share x sector value added, over the largest, x SI_EI x 10.

    ``largest_value_added`` is the largest 2-digit manufacturing sector's value added in the
    economy; by default the largest among the sectors given.
    """
    a = np.asarray(end_use_shares, dtype=float)
    q = np.asarray(value_added, dtype=float)
    if a.shape != q.shape or a.size == 0:
        raise UserInputError("one end-use share and one value added per sector are needed")
    if np.any(a < 0) or a.sum() > 1.0 + _SHARE_TOLERANCE or np.any(q < 0):
        raise UserInputError("end-use shares must be fractions summing to at most 1")
    q_max = float(q.max()) if largest_value_added is None else float(largest_value_added)
    if q_max <= 0 or q_max < q.max():
        raise UserInputError("the largest value added must be positive and >= every sector's")
    return float(10.0 * np.sum(a * q) / q_max * _fraction("SI_EI", si_ei))


def is_critical(
    sr: float | None,
    ei: float | None,
    sr_threshold: float = SR_THRESHOLD,
    ei_threshold: float = EI_THRESHOLD,
) -> bool | None:
    """Critical when both thresholds are met; None when either value is unknown."""
    if sr is None or ei is None or np.isnan(sr) or np.isnan(ei):
        return None
    return bool(sr >= sr_threshold and ei >= ei_threshold)


def bottleneck(stage_sr: Mapping[str, float]) -> tuple[str, float]:
    """The stage with the highest SR (the 2020/2023 rule) and that SR."""
    known = {k: v for k, v in stage_sr.items() if v is not None and not np.isnan(v)}
    if not known:
        raise UserInputError("no stage has a supply risk to compare")
    stage = max(known, key=lambda k: known[k])
    return stage, known[stage]


def shares_from_percent(values: Iterable[float]) -> list[float]:
    """Percentages (as the studies publish) to fractions."""
    return [float(v) / 100.0 for v in values]
