"""Negative-sentiment spike detection over closed windows. Pure and deterministic.

Per key, an exponentially weighted baseline of the negative ratio and of its spread. A window
fires when it has at least ``min_count`` documents, its negative ratio is at or above ``floor``,
and its z-score reaches ``z_warning`` (``z_critical`` makes it critical). The z-score's spread
includes the window's own sampling noise, p(1-p)/n, so a window of three documents cannot look as
certain as one of thirty. A firing key resolves when the ratio falls back near the baseline (or its
volume falls under half of ``min_count``); after that it stays quiet for ``cooldown_s``. Once a
key is trusted, its baseline learns only from windows below ``learn_z``, so spikes and their
onsets do not raise it.

Events are ``Alert`` records stamped with event time; the monitor adds the evidence, the live worker
the wall-clock time it published them.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from alerts.settings import AlertSettings
from common.records import Alert

SAMPLING_FLOOR = 0.05
ALERT_KIND = "negative_spike"


class WindowSummary(Protocol):
    """What the detector reads of a closed window (a TrendPoint has these fields)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative_ratio: float


def alert_id(key: str, window_end: datetime, state: str) -> str:
    """Stable across restarts and replays: the same event always gets the same id."""
    return hashlib.sha256(f"{key}|{window_end.isoformat()}|{state}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Observation:
    """What the detector made of one window: its z-score against the baseline, and any event."""

    window: WindowSummary
    zscore: float
    baseline: float
    trusted: bool  # the baseline has seen warmup_windows windows
    event: Alert | None = None

    @property
    def key(self) -> str:
        return self.window.key


@dataclass
class KeyBaseline:
    mean: float = 0.0
    variance: float = 0.0
    windows: int = 0
    firing: Alert | None = None
    quiet_until: datetime | None = None


class SpikeDetector:
    """Feed it closed windows in event-time order per key; it answers with firing and resolved events."""

    def __init__(self, settings: AlertSettings | None = None) -> None:
        self.settings = settings or AlertSettings()
        self.keys: dict[str, KeyBaseline] = {}

    def zscore(self, state: KeyBaseline, ratio: float, count: int) -> float:
        p = min(max(state.mean, SAMPLING_FLOOR), 1 - SAMPLING_FLOOR)  # a 0% baseline still has noise
        sampling = p * (1 - p) / max(1, count)
        spread = max(self.settings.min_std, math.sqrt(max(0.0, state.variance) + sampling))
        return (ratio - state.mean) / spread

    def observe(self, window: WindowSummary) -> Observation:
        s = self.settings
        state = self.keys.setdefault(window.key, KeyBaseline())
        z = self.zscore(state, window.negative_ratio, window.count) if window.count > 0 else 0.0
        trusted = state.windows >= s.warmup_windows

        def seen(event: Alert | None = None) -> Observation:
            return Observation(window, z, state.mean, trusted, event)

        if state.firing is not None:
            if z < s.resolve_z or window.count < s.min_count / 2:  # a dip in volume alone must not flap
                resolved = self._event(window, state, z, "resolved", state.firing.severity)
                state.firing = None
                state.quiet_until = window.window_end + timedelta(seconds=s.cooldown_s)
                return seen(resolved)
            return seen()
        if window.count <= 0:
            return seen()
        quiet = state.quiet_until is not None and window.window_start < state.quiet_until
        spike = (
            trusted and window.count >= s.min_count and window.negative_ratio >= s.floor and z >= s.z_warning
        )
        if spike and not quiet:
            severity = "critical" if z >= s.z_critical else "warning"
            state.firing = self._event(window, state, z, "firing", severity)
            return seen(state.firing)
        if not trusted or z < s.learn_z:  # once trusted, spikes and their onsets must not raise it
            self._learn(state, window.negative_ratio, window.count)
        return seen()

    def _learn(self, state: KeyBaseline, ratio: float, count: int) -> None:
        # a plain average until 1/alpha windows are seen (no bias towards the first window), then
        # a fixed weight per window: a burst of documents must not pull the baseline along faster
        weight = max(self.settings.alpha, 1 / (state.windows + 1))
        delta = ratio - state.mean
        # the spread beyond the window's own sampling noise, which zscore() adds back per window;
        # unclipped here, so that it averages to zero when there is none
        excess = delta * delta - state.mean * (1 - state.mean) / count if state.windows else 0.0
        state.mean += weight * delta
        state.variance = (1 - weight) * state.variance + weight * excess
        state.windows += 1

    @staticmethod
    def _event(window: WindowSummary, state: KeyBaseline, z: float, kind: str, severity: str) -> Alert:
        return Alert(
            id=alert_id(window.key, window.window_end, kind),
            key=window.key,
            kind=ALERT_KIND,
            state=kind,
            severity=severity,
            window_start=window.window_start,
            window_end=window.window_end,
            negative_ratio=window.negative_ratio,
            baseline=state.mean,
            zscore=z,
            count=window.count,
            evidence=[],
            fired_at=window.window_end,
        )
