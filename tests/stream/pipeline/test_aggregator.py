"""The aggregate agent's bookkeeping and what it exports, in-process on a fresh registry."""

from __future__ import annotations

from datetime import timedelta

from alerts.settings import AlertSettings
from stream.pipeline.aggregate import Aggregator
from stream.pipeline.metrics import WorkerMetrics
from stream.settings import StreamSettings
from tests.helpers import T0, scored

LANES = frozenset({0})


def test_late_documents_are_counted_and_closed_windows_set_the_key_gauges(registry) -> None:
    metrics = WorkerMetrics.create(registry)
    aggregator = Aggregator(StreamSettings(grace_s=0), frozenset({"XOM"}), AlertSettings(), metrics)
    first, second = object(), object()
    assert not aggregator.add(first, scored("a", T0, "negative", "Energy | Oil", ["XOM"]), lane=0)
    assert not aggregator.add(second, scored("b", T0 + timedelta(minutes=2)), lane=0)
    points, done = aggregator.close(LANES)
    assert {(name, p.key) for name, p in points} == {("short", "Energy | Oil"), ("short", "$XOM")}
    assert done == []  # the first document still waits on its 15-minute window
    for name, point in points:
        metrics.pipeline.window_closed(name, point)

    assert aggregator.add(object(), scored("c", T0 + timedelta(seconds=10)), lane=0) is False
    value = registry.get_sample_value
    assert value("tapewatch_late_documents_total") == 1  # late for its minute, in time for its 15 minutes
    assert value("tapewatch_windows_closed_total", {"window": "short"}) == 2
    assert value("tapewatch_topic_volume", {"key": "$XOM"}) == 1
    assert value("tapewatch_topic_negative_ratio", {"key": "Energy | Oil"}) == 1.0


def test_a_spike_in_closed_windows_becomes_an_alert_and_moves_the_detector_gauges(registry) -> None:
    metrics = WorkerMetrics.create(registry)
    alerts = AlertSettings(span_windows=1, min_count=5, warmup_windows=3)
    aggregator = Aggregator(StreamSettings(grace_s=0), frozenset(), alerts, metrics)
    fired = []
    for minute, negative in enumerate((1, 1, 1, 1, 1, 9)):
        for n in range(10):
            sentiment = "negative" if n < negative else "neutral"
            aggregator.add(object(), scored(f"{minute}-{n}", T0 + timedelta(minutes=minute), sentiment), 0)
        tick = T0 + timedelta(minutes=minute + 1)  # a later document moves the watermark on
        aggregator.add(object(), scored(f"tick{minute}", tick, "neutral", "Markets"), 0)
        points, _ = aggregator.close(LANES)
        fired += aggregator.alerts([p for name, p in points if name == "short"])
    assert [(a.key, a.state, a.severity) for a in fired] == [("Earnings", "firing", "critical")]
    assert fired[0].evidence and fired[0].evidence[0].score < 0
    assert fired[0].fired_at > fired[0].window_end  # wall clock, not event time
    value = registry.get_sample_value
    assert value("tapewatch_alert_events_total", {"severity": "critical", "state": "firing"}) == 1
    assert value("tapewatch_detector_negative_ratio", {"key": "Earnings"}) == 0.9
