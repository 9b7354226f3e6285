"""Concentration measures: hand-computed values and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rareflow.analytics.concentration import (
    concentration_class,
    hhi,
    hhi_points,
    shares,
    top_share,
)
from rareflow.errors import UserInputError

quantities = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=30,
).filter(lambda xs: sum(xs) > 1e-9)


def test_hhi_hand_values() -> None:
    # 60/20/10/10: 0.36 + 0.04 + 0.01 + 0.01
    assert hhi([60, 20, 10, 10]) == pytest.approx(0.42)
    assert hhi_points([60, 20, 10, 10]) == pytest.approx(4200.0)
    # tonnes and shares give the same answer
    assert hhi([600, 200, 100, 100]) == pytest.approx(hhi([0.6, 0.2, 0.1, 0.1]))
    # two equal suppliers: 0.5
    assert hhi([3, 3]) == pytest.approx(0.5)


def test_top_shares_hand_values() -> None:
    assert top_share([10, 60, 20, 10], 1) == pytest.approx(0.6)
    assert top_share([10, 60, 20, 10], 3) == pytest.approx(0.9)
    assert top_share([1, 1], 3) == pytest.approx(1.0)  # fewer suppliers than k


def test_concentration_class_uses_doj_bands() -> None:
    assert concentration_class(0.42) == "highly concentrated"
    assert concentration_class(0.2) == "moderately concentrated"
    assert concentration_class(0.1) == "competitive"


@pytest.mark.parametrize("bad", [[], [-1, 2], [0, 0], [math.nan]])
def test_bad_quantities_are_user_errors(bad: list[float]) -> None:
    with pytest.raises(UserInputError):
        shares(bad)


def test_top_share_rejects_k_below_one() -> None:
    with pytest.raises(UserInputError):
        top_share([1, 2], 0)


@given(quantities)
def test_hhi_lies_between_equal_split_and_monopoly(xs: list[float]) -> None:
    n = len(xs)
    value = hhi(xs)
    assert 1.0 / n - 1e-9 <= value <= 1.0 + 1e-9


@given(st.floats(min_value=1e-6, max_value=1e6), st.integers(min_value=0, max_value=10))
def test_monopoly_is_one(amount: float, zeros: int) -> None:
    assert hhi([amount] + [0.0] * zeros) == pytest.approx(1.0)
    assert top_share([0.0] * zeros + [amount], 1) == pytest.approx(1.0)


@given(quantities)
def test_top1_below_top3_below_one(xs: list[float]) -> None:
    top1, top3 = top_share(xs, 1), top_share(xs, 3)
    assert top1 <= top3 + 1e-12
    assert top3 <= 1.0 + 1e-9
    assert top1 * top1 <= hhi(xs) + 1e-9  # the largest share alone is a lower bound


@given(quantities, st.randoms())
def test_invariant_under_permutation(xs: list[float], rnd) -> None:  # type: ignore[no-untyped-def]
    ys = list(xs)
    rnd.shuffle(ys)
    assert hhi(ys) == pytest.approx(hhi(xs))
    assert top_share(ys, 3) == pytest.approx(top_share(xs, 3))
