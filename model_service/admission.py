"""Admission by time: is there room for a request before its deadline? Pure.

The batcher estimates a wait from the texts ahead and the time a batch takes; what a request really
takes, from its headers to its answer, is often longer (parsing, the event loop, CPU shared with
inference). ``WaitCalibration`` keeps how far the estimate fell short for recent requests and scales
it by a high quantile of that, so answers come within their deadline for all but a few, whatever the
machine and the load.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

SAMPLES = 256
QUANTILE = 0.99
RECOMPUTE_EVERY = 16
MAX_FACTOR = 3.0  # an estimate off by more is a bug to fix, not a reason to refuse everything


@dataclass
class BatchCost:
    """Seconds one batch of ``n`` texts takes, as ``fixed + per_text * n`` fitted (least squares) to
    the last batches; proportional to ``n`` while every batch had the same size."""

    samples: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=64))
    fixed: float = 0.0
    per_text: float = 0.0

    @property
    def known(self) -> bool:
        return bool(self.samples)

    def add(self, texts: int, seconds: float) -> None:
        self.samples.append((max(1, texts), seconds))
        count = len(self.samples)
        mean_n = sum(n for n, _ in self.samples) / count
        mean_t = sum(t for _, t in self.samples) / count
        spread = sum((n - mean_n) ** 2 for n, _ in self.samples)
        slope = sum((n - mean_n) * (t - mean_t) for n, t in self.samples) / spread if spread else 0.0
        if slope <= 0 or mean_t - slope * mean_n < 0:
            self.fixed, self.per_text = 0.0, mean_t / mean_n
        else:
            self.fixed, self.per_text = mean_t - slope * mean_n, slope

    def seconds(self, texts: int) -> float:
        return self.fixed + self.per_text * texts if texts > 0 else 0.0


@dataclass
class WaitCalibration:
    """The factor between estimated and observed waits: the ``QUANTILE`` of recent observed/estimated."""

    ratios: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    factor: float = 1.0
    _since_recompute: int = 0

    def observed(self, estimated_s: float, actual_s: float) -> None:
        if estimated_s <= 0:
            return  # nothing timed yet: no estimate to correct
        self.ratios.append(actual_s / estimated_s)
        self._since_recompute += 1
        if self._since_recompute >= RECOMPUTE_EVERY or len(self.ratios) < RECOMPUTE_EVERY:
            self._since_recompute = 0
            ordered = sorted(self.ratios)
            high = ordered[min(len(ordered) - 1, math.floor(QUANTILE * len(ordered)))]
            self.factor = min(MAX_FACTOR, max(1.0, high))

    def expected(self, estimated_s: float) -> float:
        return estimated_s * self.factor


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and when to ask again."""

    wait_s: float
    deadline_s: float

    @property
    def message(self) -> str:
        return (
            f"overloaded: the answer would take about {self.wait_s * 1000:,.0f} ms, past the "
            f"{self.deadline_s * 1000:,.4g} ms deadline"
        )

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.wait_s - self.deadline_s))


def admit(expected_s: float, deadline_s: float) -> Refusal | None:
    """None when a wait of ``expected_s`` fits the deadline, else the refusal."""
    return None if expected_s <= deadline_s else Refusal(expected_s, deadline_s)
