"""Admission by time, pure: the cost of a batch, the calibration of estimates, the refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_service.admission import MAX_FACTOR, BatchCost, WaitCalibration, admit


def test_a_batch_costs_a_fixed_part_and_a_part_per_text() -> None:
    cost = BatchCost()
    for texts in (1, 8, 32, 4, 16):
        cost.add(texts, 0.010 + 0.005 * texts)
    assert cost.seconds(32) == pytest.approx(0.170)
    assert cost.seconds(1) == pytest.approx(0.015)
    assert cost.seconds(0) == 0


def test_batches_of_one_size_are_scaled_in_proportion() -> None:
    """Only single texts seen so far: a full batch is guessed high (32 of them), never low."""
    cost = BatchCost()
    cost.add(1, 0.02)
    assert cost.known and cost.seconds(32) == pytest.approx(0.64)


@given(st.lists(st.tuples(st.integers(1, 64), st.floats(0.001, 5)), min_size=1, max_size=80))
def test_the_cost_is_never_negative_and_grows_with_the_texts(samples: list[tuple[int, float]]) -> None:
    cost = BatchCost()
    for texts, seconds in samples:
        cost.add(texts, seconds)
    assert 0 <= cost.seconds(1) <= cost.seconds(32)


def test_the_calibration_scales_estimates_by_how_far_they_fell_short() -> None:
    calibration = WaitCalibration()
    assert calibration.expected(0.5) == 0.5
    for _ in range(200):
        calibration.observed(0.5, 0.75)
    assert calibration.expected(0.5) == pytest.approx(0.75)
    for _ in range(300):  # estimates that were right bring it back to 1
        calibration.observed(0.5, 0.4)
    assert calibration.factor == 1.0
    for _ in range(300):
        calibration.observed(0.01, 10)
    assert calibration.factor == MAX_FACTOR


def test_a_wait_past_the_deadline_is_refused_with_a_retry_after() -> None:
    assert admit(0.9, 1.0) is None
    refusal = admit(3.2, 1.0)
    assert (
        refusal is not None
        and refusal.retry_after_s == 3
        and "3,200 ms, past the 1,000 ms deadline" in refusal.message
    )
    assert admit(1.01, 1.0).retry_after_s == 1  # type: ignore[union-attr]
