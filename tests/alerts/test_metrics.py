"""The detector's gauges and event counter, read in-process from a fresh registry."""

from __future__ import annotations

from datetime import timedelta

from alerts.metrics import DetectorMetrics
from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings
from common.metrics import OTHER, BoundedLabel
from common.records import Evidence, TrendPoint
from tests.helpers import T0

SETTINGS = AlertSettings(horizons="5m,1h", min_authors=3)
KEY = "Energy | Oil"


def point(minute: int, count: int, negative: int, key: str = KEY, score: float = -0.9) -> TrendPoint:
    start = T0 + timedelta(minutes=minute)
    return TrendPoint(
        key=key, window_start=start, window_end=start + timedelta(minutes=1), count=count, negative=negative,
        neutral=count - negative, positive=0, mean_score=-negative / count, negative_ratio=negative / count,
        most_negative=[Evidence(id=f"d{minute}", title=f"headline {minute}", score=score)],
    )  # fmt: skip


def test_each_horizon_has_its_gauges_and_a_spike_counts_one_event_with_its_horizon(registry) -> None:
    metrics = DetectorMetrics.create(registry, BoundedLabel(limit=8))
    monitor = SpikeMonitor(SETTINGS, window_s=60)
    for observation in monitor.observe([point(m, 10, 1) for m in range(30)]):
        metrics.export(observation)
    value = registry.get_sample_value
    assert value("tapewatch_detector_documents", {"key": KEY, "horizon": "5m"}) == 50
    assert value("tapewatch_detector_documents", {"key": KEY, "horizon": "1h"}) == 300
    assert abs(value("tapewatch_detector_baseline", {"key": KEY, "horizon": "5m"}) - 0.1) < 0.01
    assert (
        value("tapewatch_alert_events_total", {"severity": "critical", "state": "firing", "horizon": "5m"})
        is None
    )

    spike = monitor.observe([point(30, 40, 38, score=-0.99)])
    for observation in spike:
        metrics.export(observation)
    assert (
        value("tapewatch_alert_events_total", {"severity": "critical", "state": "firing", "horizon": "5m"})
        == 1
    )
    assert value("tapewatch_detector_negative_authors", {"key": KEY, "horizon": "5m"}) == 42
    assert value("tapewatch_detector_zscore", {"key": KEY, "horizon": "5m"}) >= 6
    fired = spike[0].event
    assert fired is not None and fired.horizon == "5m" and fired.evidence[0].id == "d30"


def test_extra_keys_share_one_series_and_entities_have_series_only_while_emerging(registry) -> None:
    metrics = DetectorMetrics.create(registry, BoundedLabel(limit=1))
    monitor = SpikeMonitor(SETTINGS, window_s=60)
    for observation in monitor.observe([point(0, 10, 1), point(0, 10, 5, key="Markets")]):
        metrics.export(observation)
    value = registry.get_sample_value
    assert value("tapewatch_detector_documents", {"key": OTHER, "horizon": "5m"}) == 10
    assert value("tapewatch_detector_documents", {"key": "Markets", "horizon": "5m"}) is None

    monitor.observe([point(1450, 10, 1)])  # a day and the 5 minutes watched: names may be judged
    for observation in monitor.observe([point(1451, 6, 0, key="name:Velix")]):  # never seen: on the rise
        metrics.export(observation)
    assert value("tapewatch_entity_emergence", {"key": "name:Velix", "horizon": "5m"}) > 1
    assert value("tapewatch_detector_documents", {"key": "name:Velix", "horizon": "5m"}) == 6
    assert value("tapewatch_entity_emergence", {"key": "name:Velix", "horizon": "1h"}) is None  # judged later
    for observation in monitor.observe([], until=T0 + timedelta(minutes=1458)):  # left the 5 minutes
        metrics.export(observation)
    assert value("tapewatch_entity_emergence", {"key": "name:Velix", "horizon": "5m"}) is None
    assert value("tapewatch_detector_documents", {"key": "name:Velix", "horizon": "5m"}) is None
