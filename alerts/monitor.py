"""Closed windows in, spike observations out: the horizons and the detector.

The one path from TrendPoints to alerts, used by the live ``aggregate`` agent, by its restart
recovery (to rebuild the baselines) and by replay and backtests. Each event comes with the most
negative documents of its horizon as evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from alerts.detector import Observation, SpikeDetector
from alerts.horizons import ClosedWindow, HorizonRoller, HorizonWindow, evidence_of
from alerts.settings import AlertSettings
from common.records import Evidence


def most_negative(window: HorizonWindow[ClosedWindow], limit: int) -> list[Evidence]:
    """The most negative documents of the horizon's windows, lowest score first."""
    found = {evidence.id: evidence for evidence in evidence_of(window)}
    return sorted(found.values(), key=lambda e: (e.score, e.id))[:limit]


class SpikeMonitor:
    def __init__(self, settings: AlertSettings, window_s: int) -> None:
        self.settings = settings
        self.horizons: HorizonRoller[ClosedWindow] = HorizonRoller(
            settings.horizons_s, window_s, settings.max_keys
        )
        self.detector = SpikeDetector(settings)

    def observe(self, closed: Iterable[ClosedWindow], until: datetime | None = None) -> list[Observation]:
        """Observations of every horizon of each key whose sums change, at each window end up to the newest
        in ``closed`` (or ``until``, when every window ending by then has been given), in event-time order."""
        return [
            self._with_evidence(observation)
            for step in self.horizons.steps(closed, until)
            for observation in self.detector.observe(step)
        ]

    def _with_evidence(self, observation: Observation) -> Observation:
        if observation.event is None:
            return observation
        evidence = most_negative(observation.window, self.settings.evidence)
        return observation.with_event(observation.event.derive(evidence=evidence))
