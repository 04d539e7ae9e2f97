"""Closed windows in, spike observations out: the rolling detection windows and the detector.

The one path from TrendPoints to alerts, used by the live ``aggregate`` agent, by its restart
recovery (to rebuild the baselines) and by replay and backtests.
"""

from __future__ import annotations

from collections.abc import Iterable

from alerts.detector import Observation, SpikeDetector
from alerts.rolling import ClosedWindow, RollingWindows
from alerts.settings import AlertSettings


class SpikeMonitor:
    def __init__(self, settings: AlertSettings, window_s: int) -> None:
        self.settings = settings
        self.rolling: RollingWindows[ClosedWindow] = RollingWindows(settings.span_windows, window_s)
        self.detector = SpikeDetector(settings)

    def observe(self, closed: Iterable[ClosedWindow]) -> list[Observation]:
        """Observations of every active key at each window end in ``closed``, in event-time order."""
        return [self.detector.observe(window) for window in self.rolling.add(closed)]
