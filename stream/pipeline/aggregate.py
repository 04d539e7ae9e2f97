"""Agent ``aggregate``: window entries into event-time windows per key, one keyed partition at a time.

Every key (a topic, a watched ticker) lives in one partition of the keyed topic, so one worker counts
it. Each partition keeps its own windows, its view of the input lanes' marks (the watermark) and its
keys' spike monitor. Emitted windows become TrendPoints on the trends topic (on the partition of the
same number, so a worker taking the partition over reads back exactly its windows) and metric
values; the short ones also go through the monitor, whose events go to the alerts topic (firing ones
with the model's explanation of their evidence). An entry is acknowledged once every window it
counts in has been emitted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.types import TP, EventT

from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings
from common.records import (
    Alert,
    Evidence,
    InvalidRecord,
    LaneMark,
    TokenWeight,
    TrendPoint,
    WindowEntry,
    decode_keyed,
)
from stream.lanes import LaneClock
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.metrics import WorkerMetrics
from stream.pipeline.recovery import TrendsTail, read_alert_ids, read_partition_tail
from stream.pipeline.scoring import Explanation, Scorer
from stream.pipeline.topics import PipelineTopics
from stream.settings import StreamSettings
from stream.windows import Counted, Outcome, WindowBook, window_start

log = logging.getLogger(__name__)

YIELD_EVERY = 64  # windows handled between two turns of the event loop

Explainer = Callable[[Sequence[str]], Awaitable[list[Explanation]]]
Slot = tuple[str, str, datetime]  # book, key, window start


class PartitionWindows:
    """The windows of one keyed partition's keys: the books, the lane clock, the monitor, the held events.

    Time comes from ``monotonic`` and ``wall_clock`` (injected, so tests move it instead of waiting)."""

    def __init__(
        self,
        partition: int,
        settings: StreamSettings,
        alerts: AlertSettings,
        metrics: WorkerMetrics,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.partition = partition
        self.settings = settings
        self.metrics = metrics
        self.books = {
            "short": WindowBook(settings.window_s, settings.grace_s, alerts.evidence),
            "baseline": WindowBook(settings.baseline_window_s, settings.grace_s, alerts.evidence),
        }
        self.monotonic = monotonic  # when marks were heard and how long lanes have been quiet
        self.wall_clock = wall_clock  # no window closes past it
        self.lanes = LaneClock(settings.lane_stale_s)
        self.monitor = SpikeMonitor(alerts, settings.window_s)
        self.future = timedelta(seconds=settings.max_future_s)
        self.waiting: dict[Slot, list[EventT]] = defaultdict(list)
        self.remaining: dict[int, int] = {}  # id(event) -> windows it still waits on
        self.read_upto: dict[int, int] = {}  # lane -> past the newest entry of the lane read here
        # the agent and the clock both publish: one at a time, or the monitor could be given a later
        # emission before an earlier one and step past the earlier windows without seeing them
        self.publishing = asyncio.Lock()

    def recover(self, tail: TrendsTail) -> list[Alert]:
        """Windows emitted before (by this worker before a crash, or by another): repeats are known,
        early windows can be amended, and the monitor has its baselines back. Returns the monitor's
        events for the newest windows, which a worker that crashed after emitting them may not have sent."""
        for book in self.books.values():
            book.recover(tail.points)
        latest: dict[tuple[str, datetime], TrendPoint] = {}
        for point in tail.points:
            if (point.window_end - point.window_start).total_seconds() == self.settings.window_s:
                latest[(point.key, point.window_start)] = point
        if not latest:
            return []
        observed = self.monitor.observe(sorted(latest.values(), key=lambda p: (p.window_end, p.key)))
        at_risk = max(p.window_end for p in latest.values()) - timedelta(seconds=2 * self.settings.window_s)
        return [o.event for o in observed if o.event is not None and o.event.window_end >= at_risk]

    def heard(self, mark: LaneMark) -> None:
        self.lanes.heard(mark, self.monotonic())

    def add(self, event: EventT, entries: Sequence[WindowEntry]) -> tuple[bool, list[WindowEntry]]:
        """Count the event's entries: whether it is already done (every entry late or a repeat) and can
        be acked, and the entries that came after one of their windows was final."""
        pending, late = 0, []
        for entry in entries:
            self.read_upto[entry.lane] = max(self.read_upto.get(entry.lane, 0), entry.offset + 1)
            was_late = False
            for key in entry.keys:
                item = Counted.entry(entry, key)
                for name, book in self.books.items():
                    outcome = book.add(key, item)
                    if outcome is Outcome.LATE:
                        was_late = True
                    elif outcome in (Outcome.COUNTED, Outcome.AMENDED):
                        self.waiting[(name, key, window_start(entry.published_at, book.size_s))].append(event)
                        pending += 1
            if was_late:
                late.append(entry)
        if pending:
            self.remaining[id(event)] = pending
        if late:
            self.metrics.pipeline.late_documents.inc(len(late))
        return pending == 0, late

    def upto(self) -> dict[int, int]:
        """Per lane, the offset before which every record with keys here has been read here: what the
        marks vouch for, or past the newest entry read, whichever is further (a lane's entries arrive
        in offset order, and an entry can arrive, and be emitted early, before the mark after it)."""
        marks = self.lanes.upto()
        lanes = sorted(marks.keys() | self.read_upto.keys())
        return {lane: max(marks.get(lane, 0), self.read_upto.get(lane, 0)) for lane in lanes}

    def close(self) -> tuple[list[tuple[str, TrendPoint]], list[EventT], datetime | None]:
        """Windows to emit (final ones, and early ones once every lane has been idle long enough), the
        events no longer waiting on anything, and the end up to which every short window is emitted."""
        now = self.monotonic()
        upto = self.upto()
        points: list[tuple[str, TrendPoint]] = []
        watermark = self.lanes.watermark(now)
        if watermark is not None:
            watermark = min(watermark, self.wall_clock() + self.future)  # never past the clock
            for name, book in self.books.items():
                points.extend((name, point) for point in book.close(watermark, upto))
        if self.lanes.quiet_for(now) >= self.settings.idle_close_s:
            for name, book in self.books.items():
                points.extend((name, point) for point in book.flush(upto))
        done: list[EventT] = []
        for name, point in points:
            for event in self.waiting.pop((name, point.key, point.window_start), []):
                self.remaining[id(event)] -= 1
                if self.remaining[id(event)] == 0:
                    del self.remaining[id(event)]
                    done.append(event)
        return points, done, self.books["short"].horizon

    def alerts(self, points: list[TrendPoint], until: datetime | None) -> list[Alert]:
        """The monitor's events for newly emitted short windows; every observation goes to the gauges."""
        observations = self.monitor.observe(points, until)
        self.metrics.detector.export_latest(observations)
        events = [o.event.derive(fired_at=datetime.now(UTC)) for o in observations if o.event is not None]
        self.metrics.detector.keys.labels(partition=str(self.partition)).set(len(self.monitor.horizons.keys))
        return events


async def monitored(
    state: PartitionWindows, points: list[TrendPoint], until: datetime | None
) -> AsyncIterator[Alert]:
    """The monitor's events for ``points``, run a few window ends at a time with the event loop let go in
    between: a history sent at full speed closes thousands of windows per mark, and classify's batches
    (whose latency the feed sees) must not wait for all of them. Ends are given in order, and ``until``
    only with the last, so the monitor steps exactly as it would through them at once."""
    ordered = sorted(points, key=lambda point: point.window_end)
    chunks: list[list[TrendPoint]] = []
    for point in ordered:
        if chunks and (len(chunks[-1]) < YIELD_EVERY or chunks[-1][-1].window_end == point.window_end):
            chunks[-1].append(point)
        else:
            chunks.append([point])
    chunks = chunks or [[]]
    for index, chunk in enumerate(chunks):
        if index:
            await asyncio.sleep(0)
        for alert in state.alerts(chunk, until if index == len(chunks) - 1 else None):
            yield alert


async def explained(evidence: list[Evidence], explain: Explainer) -> list[Evidence]:
    """Evidence with the tokens behind each score; without them if the model cannot answer now."""
    if not evidence:
        return evidence
    try:
        weights = await explain([e.title for e in evidence])
    except Exception as exc:  # an alert without explanations beats no alert
        log.warning("could not explain alert evidence: %s", exc)
        return evidence
    return [
        e.derive(explanation=[TokenWeight(token=t, weight=w) for t, w in tokens])
        for e, tokens in zip(evidence, weights, strict=True)
    ]


def add_aggregate_agent(
    app: faust.App,
    topics: PipelineTopics,
    settings: StreamSettings,
    metrics: WorkerMetrics,
    scorer_factory: Callable[[], Awaitable[Scorer]] | None = None,
    alert_settings: AlertSettings | None = None,
) -> None:
    alerts = alert_settings or AlertSettings()
    deadletters = DeadLetterSink(topics.deadletter, metrics.pipeline)
    partitions: dict[int, PartitionWindows] = {}
    streams: list[faust.StreamT] = []

    async def taken_over(partition: int) -> PartitionWindows:
        state = PartitionWindows(partition, settings, alerts, metrics)
        tail = await asyncio.to_thread(read_partition_tail, settings, topics.names.trends, partition)
        for reason, count in tail.skipped.items():
            metrics.pipeline.unreadable.labels(topic=topics.names.trends, reason=reason).inc(count)
        unsent = state.recover(tail)
        if unsent:
            sent = await asyncio.to_thread(read_alert_ids, settings, topics.names.alerts, partition)
            for alert in (a for a in unsent if a.id not in sent):
                log.warning("alert %s %s on %s was not sent before a crash: sending it", alert.state,
                            alert.severity, alert.key)  # fmt: skip
                await topics.alerts.send(key=alert.key.encode(), value=alert, partition=partition)
        log.info("keyed partition %d taken: %d trend points read back", partition, len(tail.points))
        return partitions.setdefault(partition, state)

    async def publish_alerts(
        state: PartitionWindows, points: list[TrendPoint], until: datetime | None
    ) -> None:
        """Run the monitor on emitted short windows; its events are out before their inputs are acked."""
        deliveries = []
        for alert in [alert async for alert in monitored(state, points, until)]:
            if alert.state == "firing" and scorer_factory is not None:
                evidence = await explained(alert.evidence, (await scorer_factory()).explain)
                alert = alert.derive(evidence=evidence)
            log.warning(
                "alert %s %s on %s over %s: %.0f%% negative of %d (%d of %d authors), baseline %.0f%%, "
                "z %.1f", alert.state, alert.severity, alert.key, alert.horizon, 100 * alert.negative_ratio,
                alert.count, alert.negative_authors, alert.authors, 100 * alert.baseline, alert.zscore,
            )  # fmt: skip
            deliveries.append(
                await topics.alerts.send(key=alert.key.encode(), value=alert, partition=state.partition)
            )
        for future in deliveries:
            await future

    async def publish(state: PartitionWindows) -> None:
        """Emit what is due, in order: trend points, then alerts, then acknowledge what they held."""
        async with state.publishing:
            points, done, until = state.close()
            short = [point for name, point in points if name == "short"]
            deliveries = []
            for index, (_, point) in enumerate(points, 1):
                deliveries.append(
                    await topics.trends.send(key=point.key.encode(), value=point, partition=state.partition)
                )
                if index % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            for future in deliveries:
                await future
            await publish_alerts(state, short, until)
            for name, point in points:
                metrics.pipeline.window_closed(name, point)
            if streams:
                for event in done:
                    await streams[0].ack(event)

    acks: set[asyncio.Future[None]] = set()  # kept until done, so no acknowledgement is collected early

    async def ack_when_delivered(stream: faust.StreamT, event: EventT, delivery: Awaitable[Any]) -> None:
        await delivery
        await stream.ack(event)

    @app.agent(topics.keyed, name="aggregate")
    async def aggregate(stream: faust.StreamT[bytes]) -> None:
        streams.append(stream)
        async for event in stream.noack().events():  # type: ignore[attr-defined]  # faust.Stream has it
            acks.difference_update({done for done in acks if done.done()})
            partition = int(event.message.partition)
            state = partitions.get(partition) or await taken_over(partition)
            try:
                record = decode_keyed(event.message.value)
            except InvalidRecord as error:
                await deadletters.reject(error, event.message)
                await stream.ack(event)
                continue
            if isinstance(record, LaneMark):  # only marks (and the clock) move the watermark: close then
                state.heard(record)
                await stream.ack(event)
                await publish(state)
                continue
            done, late = state.add(event, record.entries)
            if late:  # acknowledged once its late entries are out, without holding the stream up
                sent = [
                    await topics.late.send(key=entry.keys[0].encode(), value=entry.dumps()) for entry in late
                ]
                if done:
                    acks.add(asyncio.ensure_future(ack_when_delivered(stream, event, asyncio.gather(*sent))))
            elif done:
                await stream.ack(event)

    @app.timer(1.0)
    async def close_quiet_windows() -> None:
        """Marks stop when lanes go quiet or their worker is away: closing also runs on the clock."""
        for state in list(partitions.values()):
            await publish(state)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # faust types handlers as (sender, *args)
    async def forget_partitions(_app: faust.App, revoked: set[TP], **_kwargs: Any) -> None:
        for tp in revoked:
            if tp.topic == topics.names.keyed:
                partitions.pop(tp.partition, None)
