"""The detector's gauges and event counter, read in-process from a fresh registry."""

from __future__ import annotations

from datetime import timedelta

from alerts.metrics import DetectorMetrics
from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings
from common.metrics import OTHER, BoundedLabel
from common.records import Evidence, TrendPoint
from tests.helpers import T0

SETTINGS = AlertSettings(span_windows=1, min_count=5, warmup_windows=3, z_warning=3, z_critical=5)


def point(minute: int, count: int, negative: int, key: str = "Energy | Oil") -> TrendPoint:
    start = T0 + timedelta(minutes=minute)
    return TrendPoint(
        key=key, window_start=start, window_end=start + timedelta(minutes=1), count=count, negative=negative,
        neutral=count - negative, positive=0, mean_score=-negative / count, negative_ratio=negative / count,
        most_negative=[Evidence(id=f"d{minute}", title=f"headline {minute}", score=-0.9)],
    )  # fmt: skip


def test_observations_set_the_gauges_and_a_spike_counts_one_event(registry) -> None:
    metrics = DetectorMetrics.create(registry, BoundedLabel(limit=8))
    monitor = SpikeMonitor(SETTINGS, window_s=60)
    quiet = [point(m, 10, 1) for m in range(6)]
    for observation in monitor.observe(quiet):
        metrics.export(observation)
    assert (
        registry.get_sample_value("tapewatch_alert_events_total", {"severity": "critical", "state": "firing"})
        is None
    )
    assert registry.get_sample_value("tapewatch_detector_baseline", {"key": "Energy | Oil"}) == 0.1

    [spike] = monitor.observe([point(6, 20, 19)])
    metrics.export(spike)
    value = registry.get_sample_value
    assert value("tapewatch_alert_events_total", {"severity": "critical", "state": "firing"}) == 1
    assert value("tapewatch_detector_documents", {"key": "Energy | Oil"}) == 20
    assert value("tapewatch_detector_negative_ratio", {"key": "Energy | Oil"}) == 0.95
    assert value("tapewatch_detector_zscore", {"key": "Energy | Oil"}) >= 5
    assert spike.event is not None and [e.id for e in spike.event.evidence] == ["d6"]


def test_no_zscore_before_the_baseline_is_trusted_and_extra_keys_share_one_series(registry) -> None:
    metrics = DetectorMetrics.create(registry, BoundedLabel(limit=1))
    monitor = SpikeMonitor(SETTINGS, window_s=60)
    for observation in monitor.observe([point(0, 10, 1), point(0, 10, 5, key="$XOM")]):
        metrics.export(observation)
    assert registry.get_sample_value("tapewatch_detector_zscore", {"key": "$XOM"}) is None
    assert registry.get_sample_value("tapewatch_detector_documents", {"key": OTHER}) == 10
    assert registry.get_sample_value("tapewatch_detector_zscore", {"key": "Energy | Oil"}) is None
