"""How surprising a count is against a baseline, as a z-score any horizon can share. Pure.

A negative share is judged with a beta-binomial model: the baseline is a Beta distribution of the share
(what the key's own history says, never more certain than ``cap`` documents' worth), the window draws
its documents from it. So 3 negatives of 4 are a shrug and 30 of 60 are news, at any volume. A count
of mentions is judged with a Poisson model against the key's own rate. Tail probabilities are turned
into the z-score of the same one-sided normal tail, so thresholds read the same for every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist

EXACT_UP_TO = 2000  # documents; beyond, the normal approximation is as good
EXACT_FROM_Z = 1.5  # below this approximate z the exact tail cannot matter to any threshold
Z_LIMIT = 40.0
_NORMAL = NormalDist()


def upper_tail(z: float) -> float:
    """The upper normal tail beyond ``z``."""
    return 0.5 * math.erfc(z / math.sqrt(2))  # exact far into the tail, where 1 - cdf is all rounding


def z_of_tail(p: float) -> float:
    """The z-score whose upper normal tail is ``p``."""
    return min(Z_LIMIT, -_NORMAL.inv_cdf(min(max(p, 1e-300), 0.5)))


def betabinom_tail(x: int, n: int, a: float, b: float) -> float:
    """P(X >= x) for X ~ BetaBinomial(n, a, b), summed from x up (terms fall off past the mode)."""
    if x <= 0:
        return 1.0
    if x > n:
        return 0.0
    log_term = (
        math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1)
        + math.lgamma(x + a) + math.lgamma(n - x + b) - math.lgamma(n + a + b)
        + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    )  # fmt: skip
    term, total = math.exp(log_term), 0.0
    for k in range(x, n + 1):
        total += term
        if k == n or (term < total * 1e-12 and k > x + 2):
            break
        term *= (n - k) / (k + 1) * (k + a) / (n - k - 1 + b)
    return min(1.0, total)


def poisson_tail(k: int, mean: float) -> float:
    """P(N >= k) for N ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    term = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) if mean > 0 else 0.0
    total, i = 0.0, k
    while term > 0:
        total += term
        if term < total * 1e-12:
            break
        i += 1
        term *= mean / i
    return min(1.0, total)


def share_zscore(negative: int, total: int, a: float, b: float) -> float:
    """z-score of ``negative`` of ``total`` against a Beta(a, b) baseline share."""
    if total <= 0:
        return 0.0
    p = a / (a + b)
    mean = total * p
    variance = total * p * (1 - p) * (a + b + total) / (a + b + 1)
    gap = negative - mean
    approx = (gap - 0.5 if gap > 0.5 else min(gap, 0.0)) / math.sqrt(variance)
    if approx < EXACT_FROM_Z or total > EXACT_UP_TO:
        return approx
    return z_of_tail(betabinom_tail(negative, total, a, b))


def count_zscore(count: int, mean: float) -> float:
    """z-score of ``count`` mentions where ``mean`` were expected."""
    mean = max(mean, 1e-9)
    approx = (
        (count - 0.5 - mean) / math.sqrt(mean) if count > mean + 0.5 else (count - mean) / math.sqrt(mean)
    )
    if approx < EXACT_FROM_Z or mean > 1000:
        return approx
    return z_of_tail(poisson_tail(count, mean))


@dataclass
class DecayedCounts:
    """Negatives, documents and time seen, each fading with time constant ``tau_s`` (event time)."""

    negative: float = 0.0
    total: float = 0.0
    seconds: float = 0.0
    at: datetime | None = None

    def learn(
        self, negative: float, total: float, at: datetime, tau_s: float, watched_since: datetime | None = None
    ) -> None:
        """``watched_since``: when watching began. The time before the first thing learnt is watched time
        too (a name nobody mentioned for weeks has a rate near zero, not its first day's)."""
        if self.at is None and watched_since is not None and at > watched_since:
            self.seconds = tau_s * -math.expm1(-(at - watched_since).total_seconds() / tau_s)
        if self.at is not None and at > self.at:
            elapsed = (at - self.at).total_seconds()
            fade = math.exp(-elapsed / tau_s)
            self.negative, self.total = self.negative * fade, self.total * fade
            self.seconds = self.seconds * fade + elapsed
        if self.at is None or at > self.at:
            self.at = at
        self.negative += negative
        self.total += total

    def share(self, prior_share: float, prior_weight: float, cap: float) -> tuple[float, float]:
        """The baseline share as Beta(a, b): the prior plus what was seen, no surer than ``cap`` documents."""
        a = prior_weight * prior_share + self.negative
        b = prior_weight * (1 - prior_share) + (self.total - self.negative)
        weight = a + b
        if weight > cap:
            a, b = a * cap / weight, b * cap / weight
        return a, b

    def rate(self, prior_count: float, prior_seconds: float) -> float:
        """Documents a second: the prior (``prior_count`` in ``prior_seconds``) plus what was seen."""
        return (self.total + prior_count) / (self.seconds + prior_seconds)
