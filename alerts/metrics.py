"""Metrics of the spike detector. The Prometheus rules are written against these names."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ZSCORE = "tapewatch_detector_zscore"
NEGATIVE_RATIO = "tapewatch_detector_negative_ratio"
DOCUMENTS = "tapewatch_detector_documents"

DETECTOR_ZSCORE = Gauge(
    ZSCORE, "z-score of the latest detection window against the key's baseline (once trusted)", ["key"]
)
DETECTOR_NEGATIVE_RATIO = Gauge(NEGATIVE_RATIO, "Negative share of the latest detection window", ["key"])
DETECTOR_DOCUMENTS = Gauge(DOCUMENTS, "Documents in the latest detection window", ["key"])
DETECTOR_BASELINE = Gauge("tapewatch_detector_baseline", "The key's baseline negative share", ["key"])
ALERT_EVENTS = Counter(
    "tapewatch_alert_events_total", "Spike events published to the alerts topic", ["severity", "state"]
)
