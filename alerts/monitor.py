"""Closed windows in, spike observations out: the rolling detection windows and the detector.

The one path from TrendPoints to alerts, used by the live ``aggregate`` agent, by its restart
recovery (to rebuild the baselines) and by replay and backtests. Each event comes with the most
negative documents of its detection window as evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from alerts.detector import Observation, SpikeDetector
from alerts.rolling import ClosedWindow, DetectionWindow, RollingWindows
from alerts.settings import AlertSettings
from common.records import Evidence


def most_negative(window: DetectionWindow[ClosedWindow], limit: int) -> list[Evidence]:
    """The most negative documents of the detection window's parts, lowest score first."""
    found: dict[str, Evidence] = {}
    for part in window.parts:
        for evidence in getattr(part, "most_negative", None) or ():  # TrendPoints keep them
            found[evidence.id] = evidence
    return sorted(found.values(), key=lambda e: (e.score, e.id))[:limit]


class SpikeMonitor:
    def __init__(self, settings: AlertSettings, window_s: int) -> None:
        self.settings = settings
        self.rolling: RollingWindows[ClosedWindow] = RollingWindows(settings.span_windows, window_s)
        self.detector = SpikeDetector(settings)

    def observe(self, closed: Iterable[ClosedWindow], until: datetime | None = None) -> list[Observation]:
        """Observations of every active key at each window end up to the newest in ``closed`` (or
        ``until``, when every window ending by then has been given), in event-time order."""
        return [self._with_evidence(self.detector.observe(w)) for w in self.rolling.add(closed, until)]

    def _with_evidence(self, observation: Observation) -> Observation:
        if observation.event is None:
            return observation
        window: DetectionWindow[ClosedWindow] = observation.window  # type: ignore[assignment]
        evidence = most_negative(window, self.settings.evidence)
        return dataclasses.replace(observation, event=observation.event.derive(evidence=evidence))
