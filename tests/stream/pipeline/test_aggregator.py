"""One keyed partition's windows, lane clock and monitor, and what they export, in-process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from alerts.settings import AlertSettings
from common.records import Alert, EntityLabel, LaneMark, TrendPoint, WindowEntry
from stream.pipeline import aggregate
from stream.pipeline.aggregate import PartitionWindows
from stream.pipeline.metrics import WorkerMetrics
from stream.pipeline.recovery import TrendsTail
from stream.settings import StreamSettings
from tests.helpers import T0, ManualClock

SCORES = {"negative": -0.8, "neutral": 0.0, "positive": 0.6}
NOW = datetime.now(UTC)


class Feed:
    """Entries and marks as one lane of ``classify`` would send them."""

    def __init__(self, state: PartitionWindows) -> None:
        self.state, self.offset = state, 0
        self.sent: list[WindowEntry] = []

    def entry(
        self, key: str, seconds: float, sentiment: str = "neutral", name: str = ""
    ) -> tuple[bool, bool]:
        """Whether the entry is done at once (can be acked), and whether it was late. ``name``: what the
        document calls the entity ``key`` is."""
        entities = {key: EntityLabel(sentiment, SCORES[sentiment], name=name)} if name else None
        entry = WindowEntry(
            keys=[key], id=f"d{self.offset}", published_at=T0 + timedelta(seconds=seconds),
            sentiment=sentiment, score=SCORES[sentiment], title=f"headline {self.offset}", lane=0,
            offset=self.offset, entities=entities,
        )  # fmt: skip
        self.offset += 1
        self.sent.append(entry)
        done, late = self.state.add(object(), [entry])
        return done, bool(late)

    def mark(self, seconds: float, idle: bool = False, offset: int | None = None) -> None:
        """A mark vouching for every entry sent so far, or up to ``offset``."""
        watermark = T0 + timedelta(seconds=seconds)
        offset = self.offset if offset is None else offset
        mark = LaneMark(lane=0, lanes=1, offset=offset, watermark=watermark, idle=idle, sent_at=NOW)
        self.state.heard(mark)


def test_late_entries_are_counted_and_emitted_windows_set_the_key_gauges(registry) -> None:
    metrics = WorkerMetrics.create(registry)
    state = PartitionWindows(0, StreamSettings(grace_s=0), AlertSettings(), metrics)
    feed = Feed(state)
    assert feed.entry("Energy | Oil", 0, "negative") == (False, False)
    assert feed.entry("$XOM", 0, "negative") == (False, False)
    feed.entry("Markets", 120)
    assert state.close()[0] == []  # no mark yet: the lane may still hold anything
    feed.mark(120)
    points, done, until = state.close()
    assert {(name, p.key) for name, p in points} == {("short", "Energy | Oil"), ("short", "$XOM")}
    assert done == [] and until == T0 + timedelta(minutes=2)  # the entries also wait on 15-minute windows
    for name, point in points:
        metrics.pipeline.window_closed(name, point)
    assert points[0][1].upto == {"0": 3}

    assert feed.entry("Energy | Oil", 10) == (False, True)  # late for its minute, in time for its 15 minutes
    value = registry.get_sample_value
    assert value("tapewatch_late_documents_total") == 1
    assert value("tapewatch_windows_closed_total", {"window": "short"}) == 2
    assert value("tapewatch_topic_volume", {"key": "$XOM"}) == 1
    assert value("tapewatch_topic_negative_ratio", {"key": "Energy | Oil"}) == 1.0


def test_a_symbol_exports_the_name_its_documents_call_it_one_series_per_key(registry) -> None:
    """What the ticker dashboard and the ticker alert's summary show beside the symbol."""
    metrics = WorkerMetrics.create(registry)
    state = PartitionWindows(0, StreamSettings(grace_s=0), AlertSettings(), metrics)
    feed = Feed(state)
    feed.entry("$XOM", 0, "negative", name="Exxon Mobil")
    feed.entry("Markets", 0)
    feed.entry("$XOM", 70, name="ExxonMobil")
    feed.mark(180)
    points, _, _ = state.close()
    assert [p.name for _, p in points if p.key == "$XOM"] == ["Exxon Mobil", "ExxonMobil"]
    for name, point in points:
        metrics.pipeline.window_closed(name, point)
    info = [
        (s.labels, s.value)
        for m in registry.collect()
        for s in m.samples
        if s.name == "tapewatch_entity_info"
    ]
    assert info == [({"key": "$XOM", "name": "ExxonMobil"}, 1.0)]  # the older name's series is gone


def test_a_spike_in_emitted_windows_becomes_an_alert_and_moves_the_detector_gauges(registry) -> None:
    metrics = WorkerMetrics.create(registry)
    state = PartitionWindows(0, StreamSettings(grace_s=0), AlertSettings(), metrics)
    feed = Feed(state)
    fired = []
    for minute in range(31):  # half an hour at 10% negative, then a minute at 95% on four times the volume
        count, negative = (40, 38) if minute == 30 else (10, 1)
        for n in range(count):
            feed.entry("Earnings", minute * 60 + n, "negative" if n < negative else "neutral")
        feed.mark((minute + 1) * 60)
        points, _, until = state.close()
        fired += state.alerts([p for name, p in points if name == "short"], until)
    assert [(a.key, a.state, a.severity) for a in fired] == [("Earnings", "firing", "critical")]
    assert fired[0].evidence and fired[0].evidence[0].score < 0
    assert fired[0].fired_at > fired[0].window_end  # wall clock, not event time
    value = registry.get_sample_value
    labels = {"severity": "critical", "state": "firing", "horizon": "5m"}
    assert value("tapewatch_alert_events_total", labels) == 1 and fired[0].horizon == "5m"
    assert value("tapewatch_detector_negative_ratio", {"key": "Earnings", "horizon": "5m"}) == 42 / 80
    assert value("tapewatch_detector_keys", {"partition": "0"}) == 1


def test_quiet_lanes_emit_windows_early_and_a_late_entry_amends_them(registry) -> None:
    settings, clock = StreamSettings(grace_s=60, idle_close_s=60), ManualClock()
    state = PartitionWindows(0, settings, AlertSettings(), WorkerMetrics.create(registry), monotonic=clock)
    feed = Feed(state)
    feed.entry("Macro", 5)
    feed.mark(5, idle=True)
    assert state.close()[0] == []  # idle, but not for long enough yet
    clock.now += 61
    feed.mark(5, idle=True)  # a minute later, the lane's heartbeat: still idle
    points, _, _ = state.close()
    assert [(p.key, p.count, p.final) for name, p in points if name == "short"] == [("Macro", 1, False)]
    assert feed.entry("Macro", 30) == (False, False)  # amends: waits for the next emission
    amended = [p for name, p in state.close()[0] if name == "short"]
    assert [(p.count, p.revision, p.final) for p in amended] == [(2, 1, False)]


def test_an_entry_emitted_early_before_its_mark_is_a_repeat_when_read_again_after_a_crash(registry) -> None:
    """An entry arrives before the mark that vouches for it, and an early emission in between counts it:
    the emission's ``upto`` must cover it, or a worker reading it again after a crash counts it twice."""
    settings, clock = StreamSettings(grace_s=60, idle_close_s=60), ManualClock()
    metrics = WorkerMetrics.create(registry)
    state = PartitionWindows(0, settings, AlertSettings(), metrics, monotonic=clock)
    feed = Feed(state)
    feed.mark(5, idle=True)  # vouches for nothing yet: offset 0
    feed.entry("Macro", 10)
    clock.now += 61
    feed.mark(5, idle=True, offset=0)  # the lane's heartbeat a minute later, still idle
    points = [point for _, point in state.close()[0]]
    assert [(p.key, p.count, p.final, p.upto) for p in points] == [("Macro", 1, False, {"0": 1})] * 2
    restarted = PartitionWindows(0, settings, AlertSettings(), metrics)
    restarted.recover(TrendsTail(points=points))
    assert restarted.add(object(), [feed.sent[0]]) == (True, [])  # a repeat in both windows: acked at once


def test_an_event_of_many_entries_is_done_once_every_window_of_each_is_emitted(registry) -> None:
    """``classify`` sends a batch's entries for one keyed partition as one record: it is acknowledged only
    once the windows of all of them are out, and only its late entries go to the late topic."""
    state = PartitionWindows(0, StreamSettings(grace_s=0), AlertSettings(), WorkerMetrics.create(registry))
    feed = Feed(state)
    feed.entry("Macro", 0)
    feed.mark(120)
    state.close()  # the first minute is final now
    event = object()
    entries = [
        WindowEntry(
            keys=["Macro"],
            id=f"b{n}",
            published_at=T0 + timedelta(seconds=seconds),
            sentiment="neutral",
            score=0.0,
            title="t",
            lane=0,
            offset=10 + n,
        )
        for n, seconds in enumerate((10, 130, 200))
    ]
    done, late = state.add(event, entries)
    assert not done and [e.id for e in late] == ["b0"]  # late for its minute, in time for its 15 minutes
    feed.mark(190, offset=13)
    points, acked, _ = state.close()
    assert ("short", T0 + timedelta(minutes=2)) in {(name, p.window_start) for name, p in points}
    assert event not in acked  # the third minute and the 15-minute window still hold it
    feed.mark(1000, offset=13)
    assert state.close()[1].count(event) == 1  # once, though it waited on six windows


def test_the_monitor_run_a_few_window_ends_at_a_time_gives_what_it_gives_at_once(monkeypatch) -> None:
    """``monitored`` lets the event loop go between chunks of a long emission: the events must be those
    of the whole emission handed to the monitor at once."""
    monkeypatch.setattr(aggregate, "YIELD_EVERY", 3)

    def emission() -> tuple[PartitionWindows, list[TrendPoint], datetime | None]:
        state = PartitionWindows(
            0, StreamSettings(grace_s=0), AlertSettings(), WorkerMetrics.create(CollectorRegistry())
        )
        feed = Feed(state)
        for minute in range(31):  # as above, on two keys, then a quiet hour in which the alerts resolve
            count, negative = (40, 38) if minute == 30 else (10, 1)
            for key in ("Earnings", "$XOM"):
                for n in range(count):
                    feed.entry(key, minute * 60 + n, "negative" if n < negative else "neutral")
        feed.entry("Earnings", 90 * 60)
        feed.mark(91 * 60)  # one mark closes all of it: one long emission
        points, _, until = state.close()
        return state, [p for name, p in points if name == "short"], until

    state, points, until = emission()
    at_once = state.alerts(points, until)
    state, points, until = emission()

    async def in_chunks() -> list[Alert]:
        return [alert async for alert in aggregate.monitored(state, points, until)]

    chunked = asyncio.run(in_chunks())
    assert len(points) > 20 * aggregate.YIELD_EVERY
    assert {(a.key, a.state) for a in at_once} == {
        (k, s) for k in ("Earnings", "$XOM") for s in ("firing", "resolved")
    }
    assert [(a.id, a.window_end, a.zscore) for a in chunked] == [
        (a.id, a.window_end, a.zscore) for a in at_once
    ]
