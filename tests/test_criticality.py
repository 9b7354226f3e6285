"""EU criticality maths against hand-computed values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rareflow.analytics.criticality import (
    bottleneck,
    economic_importance,
    hhi_wgi_t,
    is_critical,
    shares_from_percent,
    supply_risk,
    supply_risk_bounds,
)
from rareflow.analytics.criticality_inputs import parse_value
from rareflow.errors import UserInputError


def test_hhi_wgi_t_hand_value() -> None:
    # 0.5^2 x 2 x 1 + 0.5^2 x 8 x 1.2 = 0.5 + 2.4
    assert hhi_wgi_t([0.5, 0.5], [2.0, 8.0], [1.0, 1.2]) == pytest.approx(2.9)
    # a monopoly in the worst-governed country reaches the top of the 0-10 scale
    assert hhi_wgi_t([1.0], [10.0]) == pytest.approx(10.0)


def test_hhi_wgi_t_tantalum_check_from_the_2017_study() -> None:
    # s3.3 of the 2017 study: Nigeria 81% of EU Ta sourcing, scaled WGI 6.92, and
    # (HHI_WGI_t)EU = 4.6. Nigeria alone gives 4.54; the other suppliers add the rest.
    nigeria = hhi_wgi_t(shares_from_percent([81]), [6.92])
    assert nigeria == pytest.approx(0.81**2 * 6.92)
    assert 4.5 < nigeria <= 4.6


def test_hhi_wgi_t_rejects_percentages_and_bad_scores() -> None:
    with pytest.raises(UserInputError, match="Divide percentages by 100"):
        hhi_wgi_t([81.0], [6.92])
    with pytest.raises(UserInputError):
        hhi_wgi_t([0.5], [11.0])
    with pytest.raises(UserInputError):
        hhi_wgi_t([0.5, 0.5], [5.0])


def test_supply_risk_hand_values() -> None:
    # Cerium 2017 inputs: [9.2 x 1/2 + 2.6 x 1/2] x (1 - 0.01) x 1.0
    assert supply_risk(9.2, 2.6, 1.0, 0.01, 1.0) == pytest.approx(5.9 * 0.99)
    # IR = 0: EU sourcing only
    assert supply_risk(9.0, 2.0, 0.0, 0.0, 1.0) == pytest.approx(2.0)
    # a negative IR (net exporter) counts as 0, as in the study
    assert supply_risk(9.0, 2.0, -0.3, 0.0, 1.0) == pytest.approx(2.0)
    # global supply only (hhi_eu None), recycling and substitution reduce it
    assert supply_risk(3.0, None, 1.0, 0.5, 0.8) == pytest.approx(1.2)


def test_supply_risk_rejects_percent_inputs() -> None:
    with pytest.raises(UserInputError):
        supply_risk(9.2, 2.6, 100.0, 0.01, 1.0)
    with pytest.raises(UserInputError):
        supply_risk(9.2, 2.6, 1.0, 1.0, 90.0)


def test_supply_risk_bounds_bracket_the_point_value() -> None:
    values = {"hhi_gs": 7.1, "hhi_eu": 5.7, "ir": 1.0, "eol_rir": 0.28, "si_sr": 0.9}
    widths = {"hhi_gs": 0.05, "hhi_eu": 0.05, "ir": 0.005, "eol_rir": 0.005, "si_sr": 0.05}
    low, high = supply_risk_bounds(values, widths)
    point = supply_risk(7.1, 5.7, 1.0, 0.28, 0.9)
    assert low < point < high
    # hand: the high corner is [7.15/2 + 5.75/2] x (1 - 0.275) x 0.95
    assert high == pytest.approx(6.45 * 0.725 * 0.95)
    assert supply_risk_bounds(values, {}) == pytest.approx((point, point))


def test_economic_importance_hand_values() -> None:
    # 10 x (0.5 x 100 + 0.5 x 50) / 100 x 0.9
    assert economic_importance([0.5, 0.5], [100.0, 50.0], 0.9) == pytest.approx(6.75)
    # scaled by the economy's largest sector when given
    assert economic_importance([0.5, 0.5], [100.0, 50.0], 0.9, 200.0) == pytest.approx(3.375)
    # all of it in the largest sector, nothing substitutable: the top of the scale
    assert economic_importance([1.0], [80.0], 1.0) == pytest.approx(10.0)


def test_economic_importance_rejects_bad_input() -> None:
    with pytest.raises(UserInputError):
        economic_importance([0.7, 0.7], [1.0, 1.0], 1.0)
    with pytest.raises(UserInputError):
        economic_importance([0.5], [100.0], 1.0, largest_value_added=50.0)


@pytest.mark.parametrize(
    ("sr", "ei", "expected"),
    [(1.0, 2.8, True), (0.99, 9.0, False), (5.0, 2.79, False), (None, 3.0, None)],
)
def test_is_critical_thresholds(sr: float | None, ei: float, expected: bool | None) -> None:
    assert is_critical(sr, ei) is expected


def test_bottleneck_takes_the_higher_stage() -> None:
    # Antimony 2023: extraction 1.8, processing 0.7 -> extraction is the bottleneck
    assert bottleneck({"Extraction": 1.8, "Processing": 0.7}) == ("Extraction", 1.8)
    assert bottleneck({"Extraction": float("nan"), "Processing": 0.7}) == ("Processing", 0.7)
    with pytest.raises(UserInputError):
        bottleneck({})


@pytest.mark.parametrize(
    ("text", "value", "half"),
    [("9.2", 9.2, 0.05), ("100", 100.0, 0.5), ("0.97", 0.97, 0.005), ("<0.1%", 0.05, 0.05)],
)
def test_parse_value_keeps_rounding(text: str, value: float, half: float) -> None:
    assert parse_value(text) == pytest.approx((value, half))


fractions = st.floats(min_value=0.0, max_value=1.0)
hhis = st.floats(min_value=0.0, max_value=10.0)


@given(hhis, hhis, fractions, fractions, fractions, st.floats(min_value=0.0, max_value=1.0))
def test_supply_risk_properties(
    gs: float, eu: float, ir: float, eol: float, si: float, bump: float
) -> None:
    sr = supply_risk(gs, eu, ir, eol, si)
    assert 0.0 <= sr <= 10.0 + 1e-9
    # more concentration never lowers supply risk; more recycling never raises it
    assert supply_risk(min(gs + bump, 10), eu, ir, eol, si) >= sr - 1e-12
    assert supply_risk(gs, eu, ir, min(eol + bump, 1.0), si) <= sr + 1e-12
