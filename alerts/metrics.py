"""Metrics of the spike detector. The Prometheus rules are written against these names.

Built against a registry passed in (``DetectorMetrics.create``); the worker serves them with the
pipeline's, and a test reads them on a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from alerts.detector import Observation
from common.metrics import BoundedLabel

ZSCORE = "tapewatch_detector_zscore"
NEGATIVE_RATIO = "tapewatch_detector_negative_ratio"
DOCUMENTS = "tapewatch_detector_documents"


@dataclass(frozen=True)
class DetectorMetrics:
    zscore: Gauge
    negative_ratio: Gauge
    documents: Gauge
    baseline: Gauge
    events: Counter
    key_label: BoundedLabel  # shared with the window gauges, so a key is "other" in both or neither

    @classmethod
    def create(cls, registry: CollectorRegistry, key_label: BoundedLabel) -> DetectorMetrics:
        def gauge(name: str, help_text: str) -> Gauge:
            return Gauge(name, help_text, ["key"], registry=registry)

        return cls(
            zscore=gauge(
                ZSCORE, "z-score of the latest detection window against the key's baseline (once trusted)"
            ),
            negative_ratio=gauge(NEGATIVE_RATIO, "Negative share of the latest detection window"),
            documents=gauge(DOCUMENTS, "Documents in the latest detection window"),
            baseline=gauge("tapewatch_detector_baseline", "The key's baseline negative share"),
            events=Counter(
                "tapewatch_alert_events_total",
                "Spike events published to the alerts topic",
                ["severity", "state"],
                registry=registry,
            ),
            key_label=key_label,
        )

    def export(self, observation: Observation) -> None:
        """The detection window's numbers as gauges; the z-score only once the baseline is trusted."""
        label = self.key_label(observation.key)
        window = observation.window
        self.documents.labels(key=label).set(window.count)
        self.negative_ratio.labels(key=label).set(window.negative_ratio)
        self.baseline.labels(key=label).set(observation.baseline)
        if observation.trusted:
            self.zscore.labels(key=label).set(observation.zscore)
        if observation.event is not None:
            self.events.labels(severity=observation.event.severity, state=observation.event.state).inc()
