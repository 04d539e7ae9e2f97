"""The tails behind every z-score, against sums written out term by term."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.significance import (
    DecayedCounts,
    betabinom_tail,
    count_zscore,
    poisson_tail,
    share_zscore,
    upper_tail,
    z_of_tail,
)


def betabinom_pmf(k: int, n: int, a: float, b: float) -> float:
    log = (
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + math.lgamma(k + a) + math.lgamma(n - k + b) - math.lgamma(n + a + b)
        + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    )  # fmt: skip
    return math.exp(log)


@given(
    n=st.integers(1, 120),
    share=st.floats(0.01, 0.99),
    weight=st.floats(1, 200),
    data=st.data(),
)
def test_the_beta_binomial_tail_is_the_sum_of_its_terms(n: int, share: float, weight: float, data) -> None:
    x = data.draw(st.integers(0, n + 1))
    a, b = share * weight, (1 - share) * weight
    expected = sum(betabinom_pmf(k, n, a, b) for k in range(x, n + 1))
    assert math.isclose(betabinom_tail(x, n, a, b), min(1.0, expected), rel_tol=1e-9, abs_tol=1e-300)


@given(k=st.integers(0, 200), mean=st.floats(0.001, 150))
def test_the_poisson_tail_is_one_minus_the_sum_below(k: int, mean: float) -> None:
    below = sum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k))
    assert math.isclose(poisson_tail(k, mean), max(0.0, 1 - below), rel_tol=1e-6, abs_tol=1e-12)


@given(z=st.floats(0.1, 30))
def test_z_and_its_tail_invert_each_other(z: float) -> None:
    assert math.isclose(z_of_tail(upper_tail(z)), z, rel_tol=1e-6)


def test_the_same_share_is_news_on_many_documents_and_a_shrug_on_few() -> None:
    a, b = 10.0, 90.0  # a baseline of 10% negative, 100 documents' worth
    assert share_zscore(3, 4, a, b) < 3.5  # 3 negatives of 4
    assert share_zscore(30, 60, a, b) > 5  # 30 of 60
    assert share_zscore(0, 0, a, b) == 0.0
    assert count_zscore(12, 0.5) > 6 > count_zscore(2, 0.5)


def test_decayed_counts_fade_with_event_time_and_never_get_surer_than_the_cap() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    counts = DecayedCounts()
    counts.learn(10, 100, t0, tau_s=3600)
    counts.learn(0, 0, t0 + timedelta(hours=1), tau_s=3600)
    assert math.isclose(counts.total, 100 / math.e) and math.isclose(counts.negative, 10 / math.e)
    counts.learn(1000, 10_000, t0 + timedelta(hours=1), tau_s=3600)
    a, b = counts.share(prior_share=0.5, prior_weight=20, cap=100)
    assert math.isclose(a + b, 100) and 0.09 < a / (a + b) < 0.11


def test_a_rate_counts_the_silence_watched_before_the_first_mention() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    day = 86400
    late = DecayedCounts()  # watched for 30 days, then 3 mentions
    late.learn(0, 3, t0 + timedelta(days=30), tau_s=24 * day, watched_since=t0)
    fresh = DecayedCounts()  # the same 3 mentions, nothing known before them
    fresh.learn(0, 3, t0 + timedelta(days=30), tau_s=24 * day)
    seen = late.rate(prior_count=0, prior_seconds=1) * day
    assert 0.1 < seen < 0.2  # 3 in a faded 30 days (about 17 days' worth)
    assert fresh.rate(prior_count=0, prior_seconds=1) * day > 1000 * seen
