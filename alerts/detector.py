"""Negative-sentiment spike detection over closed windows. Pure and deterministic.

Per key, an exponentially weighted baseline of the negative ratio and of its spread. A window
fires when it has at least ``min_count`` documents, its negative ratio is at or above ``floor``,
and its z-score reaches ``z_warning`` (``z_critical`` makes it critical). The z-score's spread
includes the window's own sampling noise, p(1-p)/n, so a window of three documents cannot look as
certain as one of thirty. A firing key resolves when the ratio falls back near the baseline; after
that it stays quiet for ``cooldown_s``. The baseline learns only from windows that do not fire.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DetectorSettings(BaseSettings):
    """Thresholds of the detector; the Prometheus rules are rendered from the same values."""

    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_ALERT_", extra="ignore")

    min_count: int = Field(5, ge=1, description="Documents a window needs before it can fire")
    floor: float = Field(0.4, ge=0, le=1, description="Negative ratio a window needs before it can fire")
    z_warning: float = Field(3.0, gt=0)
    z_critical: float = Field(5.0, gt=0)
    resolve_z: float = Field(1.0, ge=0, description="A firing key resolves when its z-score drops below this")
    alpha: float = Field(0.05, gt=0, le=1, description="EWMA weight of one document's window")
    min_std: float = Field(
        0.05, gt=0, description="Lower bound on the spread, against over-confident baselines"
    )
    warmup_windows: int = Field(10, ge=0, description="Windows a key needs before its baseline is trusted")
    cooldown_s: float = Field(600, ge=0, description="Quiet time after a resolve before a key fires again")


class WindowSummary(Protocol):
    """What the detector reads of a closed window (a TrendPoint has these fields)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative_ratio: float


@dataclass(frozen=True)
class SpikeEvent:
    key: str
    state: str  # "firing" | "resolved"
    severity: str  # "warning" | "critical"
    window_start: datetime
    window_end: datetime
    negative_ratio: float
    baseline: float
    zscore: float
    count: int


@dataclass
class KeyBaseline:
    mean: float = 0.0
    variance: float = 0.0
    windows: int = 0
    firing: SpikeEvent | None = None
    quiet_until: datetime | None = None


class SpikeDetector:
    """Feed it closed windows in event-time order per key; it answers with firing and resolved events."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.keys: dict[str, KeyBaseline] = {}

    def zscore(self, state: KeyBaseline, ratio: float, count: int) -> float:
        sampling = state.mean * (1 - state.mean) / max(1, count)
        spread = max(self.settings.min_std, math.sqrt(state.variance + sampling))
        return (ratio - state.mean) / spread

    def observe(self, window: WindowSummary) -> SpikeEvent | None:
        if window.count <= 0:
            return None
        s = self.settings
        state = self.keys.setdefault(window.key, KeyBaseline())
        z = self.zscore(state, window.negative_ratio, window.count)
        if state.firing is not None:
            if z < s.resolve_z or window.count < s.min_count:
                resolved = self._event(window, state, z, "resolved", state.firing.severity)
                state.firing = None
                state.quiet_until = window.window_end + timedelta(seconds=s.cooldown_s)
                return resolved
            return None
        trusted = state.windows >= s.warmup_windows
        quiet = state.quiet_until is not None and window.window_start < state.quiet_until
        spike = (
            trusted and window.count >= s.min_count and window.negative_ratio >= s.floor and z >= s.z_warning
        )
        if spike and not quiet:
            severity = "critical" if z >= s.z_critical else "warning"
            state.firing = self._event(window, state, z, "firing", severity)
            return state.firing
        if not spike:  # a spike kept quiet by the cooldown must not raise the baseline either
            self._learn(state, window.negative_ratio, window.count)
        return None

    def _learn(self, state: KeyBaseline, ratio: float, count: int) -> None:
        weight = 1 - (1 - self.settings.alpha) ** count
        if state.windows == 0:
            state.mean = ratio
        else:
            delta = ratio - state.mean
            # only the spread beyond the window's own sampling noise, which zscore() adds back per window
            excess = max(0.0, delta * delta - state.mean * (1 - state.mean) / count)
            state.mean += weight * delta
            state.variance = (1 - weight) * state.variance + weight * excess
        state.windows += 1

    @staticmethod
    def _event(window: WindowSummary, state: KeyBaseline, z: float, kind: str, severity: str) -> SpikeEvent:
        return SpikeEvent(
            key=window.key,
            state=kind,
            severity=severity,
            window_start=window.window_start,
            window_end=window.window_end,
            negative_ratio=window.negative_ratio,
            baseline=state.mean,
            zscore=z,
            count=window.count,
        )
