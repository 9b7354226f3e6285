"""The reconciliation maths on textbook-size examples."""

from __future__ import annotations

import numpy as np
import pytest

from rareflow.build.reconcile import (
    adjustment_note,
    gls_project,
    reconcile,
    relative_imbalance,
    relative_variance,
    within,
)


def test_gls_splits_a_discrepancy_in_proportion_to_variance() -> None:
    # Two inflows and one outflow: x1 + x2 - x3 = 0, priors 10 + 20 != 33.
    a = np.array([[1.0, 1.0, -1.0]])
    x0 = np.array([10.0, 20.0, 33.0])
    var = np.array([1.0, 1.0, 1.0])
    x = gls_project(x0, var, a, np.zeros(1))
    # Equal variances: the discrepancy (-3) is shared equally, each moves by 1.
    np.testing.assert_allclose(x, [11.0, 21.0, 32.0])


def test_gls_matches_the_closed_form() -> None:
    a = np.array([[1.0, 1.0, -1.0, 0.0], [0.0, 0.0, 1.0, -1.0]])
    x0 = np.array([10.0, 20.0, 33.0, 30.0])
    var = np.array([4.0, 1.0, 0.25, 9.0])
    v = np.diag(var)
    expected = x0 - v @ a.T @ np.linalg.solve(a @ v @ a.T, a @ x0)
    x = gls_project(x0, var, a, np.zeros(2))
    np.testing.assert_allclose(x, expected)
    np.testing.assert_allclose(a @ x, 0.0, atol=1e-12)


def test_zero_variance_values_do_not_move() -> None:
    a = np.array([[1.0, 1.0, -1.0]])
    x = gls_project(np.array([10.0, 20.0, 33.0]), np.array([0.0, 1.0, 0.0]), a, np.zeros(1))
    np.testing.assert_allclose(x, [10.0, 23.0, 33.0])


def test_negative_results_are_clamped_and_re_solved() -> None:
    # x1 - x2 - x3 = 0 with x1 = 10 (sure), x2 = 2, x3 = 12 (both loose): x2 would go negative.
    a = np.array([[1.0, -1.0, -1.0]])
    x0 = np.array([10.0, 2.0, 12.0])
    var = np.array([1e-6, 100.0, 1.0])
    sol = reconcile(x0, var, a, np.zeros(1), nonneg=np.array([True, True, True]))
    assert sol.clamped.tolist() == [False, True, False]
    assert sol.x[1] == 0.0
    assert sol.x[0] + 0.0 == pytest.approx(sol.x[2], rel=1e-9)
    assert sol.max_residual < 1e-9


def test_relative_variance_and_imbalance() -> None:
    np.testing.assert_allclose(
        relative_variance(np.array([100.0, 0.0]), np.array([0.1, 0.1]), 1.0), [101.0, 1.0]
    )
    a = np.array([[1.0, -1.0]])
    rel = relative_imbalance(a, np.array([100.0, 99.0]), np.zeros(1), np.array([100.0]))
    np.testing.assert_allclose(rel, [0.01])


def test_adjustment_note_and_tolerance() -> None:
    note = adjustment_note("USGS MCS 2026", 12_000.0, 11_628.0)
    assert "prior 12,000.0 t" in note and "-3.1%" in note and "USGS MCS 2026" in note
    assert within(1000.0, 1000.9) and not within(1000.0, 1001.1)
