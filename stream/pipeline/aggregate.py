"""Agent ``aggregate``: scored documents into event-time windows per topic and watched ticker.

Closed windows become TrendPoints on the trends topic and metric values; the short ones also go
through the spike monitor, whose firing and resolved events go to the alerts topic (firing ones with
the model's explanation of their evidence). A document is acknowledged once every window it counts
in has been emitted, so after a crash the open windows are rebuilt from redelivered documents (and
repeats of one id are counted once per window), and the monitor's baselines from the tail of the
trends topic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import faust
from faust.types import EventT

from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings
from common.records import (
    Alert,
    Evidence,
    InvalidRecord,
    ScoredDocument,
    TokenWeight,
    TrendPoint,
    decode_record,
)
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.metrics import WorkerMetrics
from stream.pipeline.recovery import read_trends_tail
from stream.pipeline.scoring import Explanation, Scorer
from stream.pipeline.topics import PipelineTopics
from stream.settings import StreamSettings
from stream.windows import WindowBook, window_start

log = logging.getLogger(__name__)

Explainer = Callable[[Sequence[str]], Awaitable[list[Explanation]]]


class Aggregator:
    """The window books (short and baseline) and the events each still waits on."""

    def __init__(
        self, settings: StreamSettings, watched: frozenset[str], alerts: AlertSettings, metrics: WorkerMetrics
    ) -> None:
        self.books = {
            "short": WindowBook(settings.window_s, settings.grace_s, watched, alerts.evidence),
            "baseline": WindowBook(settings.baseline_window_s, settings.grace_s, watched, alerts.evidence),
        }
        self.monitor = SpikeMonitor(alerts, settings.window_s)
        self.metrics = metrics
        self.waiting: dict[tuple[str, datetime], list[EventT]] = defaultdict(list)
        self.remaining: dict[int, int] = {}  # id(event) -> books it still waits on
        self.last_event_wall = time.monotonic()
        self.stream: faust.StreamT | None = None  # set when the agent starts; done events are acked on it

    def add(self, event: EventT, scored: ScoredDocument, lane: object) -> bool:
        """Count the document; True when it is already done (late or a repeat) and can be acked."""
        self.last_event_wall = time.monotonic()
        pending = 0
        for name, book in self.books.items():
            added = book.add(scored, lane)
            if added.late:
                self.metrics.pipeline.late_documents.inc()
            if added.keys:
                self.waiting[(name, window_start(scored.document.published_at, book.size_s))].append(event)
                pending += 1
        if pending:
            self.remaining[id(event)] = pending
        return pending == 0

    def close(
        self, lanes: frozenset[object], idle: bool = False
    ) -> tuple[list[tuple[str, TrendPoint]], list[EventT]]:
        """Closed windows, and the events that no longer wait on anything."""
        points: list[tuple[str, TrendPoint]] = []
        for name, book in self.books.items():
            book.expect(lanes)
            points.extend((name, p) for p in (book.close_idle() if idle else book.close_ready()))
        done: list[EventT] = []
        for name in self.books:
            for start in {p.window_start for n, p in points if n == name}:
                for event in self.waiting.pop((name, start), []):
                    self.remaining[id(event)] -= 1
                    if self.remaining[id(event)] == 0:
                        del self.remaining[id(event)]
                        done.append(event)
        return points, done

    def alerts(self, points: list[TrendPoint]) -> list[Alert]:
        """The monitor's events for newly closed short windows; every observation goes to the gauges."""
        events = []
        for observation in self.monitor.observe(points):
            self.metrics.detector.export(observation)
            if observation.event is not None:
                events.append(observation.event.derive(fired_at=datetime.now(UTC)))
        return events


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
    watched: frozenset[str],
    metrics: WorkerMetrics,
    scorer_factory: Callable[[], Awaitable[Scorer]] | None = None,
    alert_settings: AlertSettings | None = None,
) -> None:
    aggregator = Aggregator(settings, watched, alert_settings or AlertSettings(), metrics)
    deadletters = DeadLetterSink(topics.deadletter, metrics.pipeline)

    async def publish_alerts(points: list[TrendPoint]) -> None:
        """Run the monitor on closed short windows; its events are out before their inputs are acked."""
        if not points:  # most events close no window
            return
        deliveries = []
        for alert in aggregator.alerts(points):
            if alert.state == "firing" and scorer_factory is not None:
                alert = alert.derive(
                    evidence=await explained(alert.evidence, (await scorer_factory()).explain)
                )
            log.warning(
                "alert %s %s on %s: %.0f%% negative of %d (baseline %.0f%%, z %.1f)",
                alert.state, alert.severity, alert.key, 100 * alert.negative_ratio, alert.count,
                100 * alert.baseline, alert.zscore,
            )  # fmt: skip
            deliveries.append(await topics.alerts.send(key=alert.key.encode(), value=alert))
        for future in deliveries:
            await future

    async def publish(points: list[tuple[str, TrendPoint]], done: list[EventT]) -> None:
        deliveries = [await topics.trends.send(key=point.key.encode(), value=point) for _, point in points]
        for future in deliveries:
            await future
        await publish_alerts([point for name, point in points if name == "short"])
        for name, point in points:
            metrics.pipeline.window_closed(name, point)
        if aggregator.stream is not None:
            for event in done:
                await aggregator.stream.ack(event)

    def assigned() -> frozenset[object]:
        """The scored topic's partitions this worker reads now (they change on rebalance)."""
        return frozenset(tp.partition for tp in app.consumer.assignment() if tp.topic == topics.names.scored)

    @app.agent(topics.scored, name="aggregate")
    async def aggregate(stream: faust.StreamT[bytes]) -> None:
        aggregator.stream = stream
        tail = await asyncio.to_thread(read_trends_tail, settings, topics.names.trends)
        for reason, count in tail.skipped.items():
            metrics.pipeline.unreadable.labels(topic=topics.names.trends, reason=reason).inc(count)
        for book in aggregator.books.values():
            if book.size_s in tail.emitted_until:
                book.resume_after(tail.emitted_until[book.size_s])
                log.info("resuming %d s windows after %s", book.size_s, tail.emitted_until[book.size_s])
        short = settings.window_s
        aggregator.monitor.observe(
            p for p in tail.points if (p.window_end - p.window_start).total_seconds() == short
        )
        async for event in stream.noack().events():
            try:
                scored = decode_record(ScoredDocument, event.message.value)
            except InvalidRecord as error:
                await deadletters.reject(error, event.message)
                await stream.ack(event)
                continue
            if aggregator.add(event, scored, event.message.partition):
                await stream.ack(event)
            await publish(*aggregator.close(assigned()))

    @app.timer(1.0)
    async def close_idle_windows() -> None:
        if (
            aggregator.stream is not None
            and time.monotonic() - aggregator.last_event_wall > settings.idle_close_s
        ):
            await publish(*aggregator.close(assigned(), idle=True))
