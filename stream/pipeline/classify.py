"""Agent ``classify``: raw documents in; ScoredDocuments (keyed by topic) and window entries (one record
per batch and keyed partition) out, and a mark of each lane's progress for ``aggregate``'s watermark.

Each batch comes from ``noack_take``: events are acknowledged only once their outcome is durable
(scored document and entries, or the dead letter, delivered; duplicate counted), so a crash
redelivers instead of losing. A record read again (after a crash or a rebalance) is published again
with the labels it had, so it always counts under the same keys; a lane's duplicate table and those
labels are read back from the scored topic when a worker takes the lane. The next batch is
collected while the current one is being scored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TP, EventT

from common.records import (
    Document,
    InvalidRecord,
    RejectReason,
    ScoredDocument,
    WindowEntries,
    WindowEntry,
    decode_record,
)
from model_service.classification import Classification
from model_service.engine_process import ModelUnavailable
from model_service.entity_spans import EntityQuery
from stream.labels import scored_document
from stream.lanes import LaneProgress
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.kafka_transport import in_flight, is_current
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.recovery import Published, read_published
from stream.pipeline.scoring import Scorer
from stream.pipeline.topics import PipelineTopics
from stream.prepare.preparer import DocumentPreparer
from stream.routing import entity_labels, keys_by_partition, window_keys
from stream.settings import StreamSettings

log = logging.getLogger(__name__)

ENTRIES_PER_RECORD = 256  # a keyed record stays well under a megabyte (titles are cut to 2,000 characters)


@dataclass
class Taken:
    """One raw record of a batch: its event, and what preparing it gave."""

    event: EventT
    document: Document | None = None  # to score
    published: ScoredDocument | None = None  # read again: publish it as it was
    encoded: bytes | None = None  # ``published`` as sent

    @property
    def lane(self) -> int:
        return int(self.event.message.partition)

    @property
    def offset(self) -> int:
        return int(self.event.message.offset)


class LaneMemory:
    """Per lane, the records it published lately, by raw offset, with their labels (bounded).

    Kept encoded: 20,000 records a lane as objects were a third of what every full garbage collection
    walked; one is decoded only when its raw record is read again."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lanes: dict[int, OrderedDict[int, bytes]] = {}

    def known(self, lane: int) -> bool:
        return lane in self.lanes

    def load(self, lane: int, published: Sequence[Published]) -> None:
        """What a lane taken over published before, as read back: its bytes are kept, never encoded again."""
        self.lanes[lane] = OrderedDict(
            (p.scored.offset, p.encoded) for p in published[-self.limit :] if p.scored.offset is not None
        )

    def add(self, scored: ScoredDocument, encoded: bytes | None = None) -> None:
        """Remember a record published now (``encoded``: as it was sent, if at hand). Not for a lane
        forgotten meanwhile (a batch still in flight when the lane was revoked): the lane must be read
        back whole when it returns, or its duplicate table would miss what another worker published in
        between."""
        memory = self.lanes.get(scored.lane) if scored.lane is not None else None
        if memory is None or scored.offset is None:
            return
        memory[scored.offset] = encoded if encoded is not None else scored.dumps()
        while len(memory) > self.limit:
            memory.popitem(last=False)

    def get(self, lane: int, offset: int) -> ScoredDocument | None:
        memory = self.lanes.get(lane)
        encoded = memory.get(offset) if memory is not None else None
        return None if encoded is None else decode_record(ScoredDocument, encoded)

    def forget(self, lane: int) -> None:
        self.lanes.pop(lane, None)


class Classifier:
    """One batch at a time: prepare every record, score the new ones, publish, mark, then acknowledge."""

    def __init__(
        self,
        app: faust.App,
        topics: PipelineTopics,
        settings: StreamSettings,
        preparer: DocumentPreparer,
        metrics: PipelineMetrics,
    ) -> None:
        self.app = app
        self.topics = topics
        self.settings = settings
        self.preparer = preparer
        self.metrics = metrics
        self.deadletters = DeadLetterSink(topics.deadletter, metrics)
        self.memory = LaneMemory(max(1, settings.lane_memory_records))
        self.progress: LaneProgress | None = None  # once the raw topic's partition count is known
        self.in_hand: Counter[int] = Counter()  # lane -> records taken and not finished
        self.unseen_idle: set[int] = set()  # lanes found caught up once without a record read
        self.scorer: Scorer | None = None
        self.scoring = asyncio.Lock()  # one batch on the model at a time
        self.stream: faust.StreamT | None = None
        self.sending: deque[asyncio.Task[None]] = deque()  # batches being published, oldest first

    async def start(self, scorer: Scorer, stream: faust.StreamT) -> None:
        self.scorer, self.stream = scorer, stream
        lanes = self.app.consumer.topic_partitions(self.topics.names.raw) or self.settings.topic_partitions
        self.progress = LaneProgress(lanes, self.settings.window_s, self.settings.mark_interval_s)

    def forget(self, lanes: set[int]) -> None:
        """These lanes went to another worker: what we knew of them is stale if they come back."""
        for lane in lanes:
            self.memory.forget(lane)
            self.unseen_idle.discard(lane)
            if self.progress is not None:
                self.progress.restart(lane)

    def current(self, generation: int | None) -> bool:
        """Whether no rebalance began since ``generation``: Faust's own test for skipping a message."""
        return is_current(self.app, generation)

    async def take(self, events: Sequence[EventT]) -> list[Taken]:
        """Prepare a batch: repeats and bad records are finished here, the rest go on to scoring.

        Records fetched before a rebalance began are left alone (not acknowledged): their lane may be
        another worker's now, and is read again from its committed offset by whoever has it."""
        generation = self.app.consumer_generation_id
        taken = [Taken(event) for event in events if self.current(event.message.generation_id)]
        for item in taken:  # in hand before reading a lane back (seconds): no lane looks idle meanwhile
            self.in_hand[item.lane] += 1
        missing = {item.lane for item in taken if not self.memory.known(item.lane)}
        if missing:  # read back only once this worker's own batches are on the topic
            await self.drain()
            published = await asyncio.to_thread(
                read_published, self.settings, self.topics.names.scored, missing
            )
            tables = await asyncio.to_thread(  # up to 20,000 documents a lane: not on the event loop
                lambda: {
                    lane: self.preparer.duplicates.rebuilt(p.scored.document for p in records)
                    for lane, records in published.items()
                }
            )
            if not self.current(generation):  # a rebalance began meanwhile: leave the batch alone
                for item in taken:
                    self.in_hand[item.lane] -= 1
                return []
            for lane, records in published.items():
                self.memory.load(lane, records)
                self.preparer.duplicates.restart(lane, tables[lane])
                log.info("lane %d taken over: %d published records read back", lane, len(records))
        for item in taken:
            item.published = self.memory.get(item.lane, item.offset)
            if item.published is None:
                await self._prepare(item)
        return taken

    async def _prepare(self, item: Taken) -> None:
        message = item.event.message
        try:
            prepared = self.preparer.prepare(message.value, lane=item.lane)
        except InvalidRecord as invalid:
            await self.deadletters.reject(invalid, message)
            return
        except Exception as exc:  # a bug must not stop the worker: the record is kept for study
            log.exception("preparing %s@%d failed", message.topic, message.offset)
            failed = InvalidRecord(RejectReason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}")
            await self.deadletters.reject(failed, message)
            return
        self.metrics.documents_received.labels(
            source=self.metrics.source_label(prepared.document.source)
        ).inc()
        if prepared.duplicate.duplicate:
            self.metrics.duplicates.labels(kind=prepared.duplicate.kind).inc()
            return
        item.document = prepared.document

    async def _score(self, batch: list[Taken]) -> None:
        """Labels for the batch; if the batch fails, one by one, dead-lettering what still fails.

        Each document's entity keys are decided here, once: the watched entities and tickers (as the
        watchlist has them now) and the names the model finds in the same encoder pass, each with the
        sentiment toward it. They are stored with the document; its entries and the archive count them.
        """
        assert self.scorer is not None
        scored_at = datetime.now(UTC)
        extractor = self.preparer.entities.current()

        def labeled(item: Taken, result: Classification) -> ScoredDocument:
            assert item.document is not None
            return scored_document(
                item.document,
                result,
                scored_at,
                max_keys=self.settings.max_entity_keys,
                entity_sentiment=self.settings.entity_sentiment,
                lane=item.lane,
                offset=item.offset,
            )

        def asked(items: list[Taken]) -> list[list[EntityQuery]]:
            return [extractor.queries(item.document) for item in items if item.document is not None]

        try:
            texts = [item.document.text for item in batch if item.document]
            results = await self.scorer.score(texts, asked(batch))
            for item, result in zip(batch, results, strict=True):
                item.published = labeled(item, result)
            return
        except ModelUnavailable:
            raise  # the model closed at shutdown: the batch is not acknowledged, and read again
        except Exception:
            log.exception("scoring a batch of %d failed; retrying one by one", len(batch))
        for item in batch:
            assert item.document is not None
            try:
                (result,) = await self.scorer.score([item.document.text], asked([item]))
                item.published = labeled(item, result)
            except ModelUnavailable:
                raise
            except Exception as exc:
                failed = InvalidRecord(RejectReason.PROCESSING_ERROR, f"classification failed: {exc}")
                await self.deadletters.reject(failed, item.event.message)
                item.document = None  # finished by its dead letter: nothing to publish or count

    async def submit(self, taken: list[Taken]) -> None:
        """Publish the batch once the one before it is out; at most two batches in flight."""
        if not taken:
            return
        if len(self.sending) == 2:
            await self.sending.popleft()
        after = self.sending[-1] if self.sending else None
        self.sending.append(asyncio.create_task(self.publish(taken, after)))

    async def drain(self) -> None:
        """Until every batch in flight is published."""
        while self.sending:
            await self.sending.popleft()

    async def publish(self, taken: list[Taken], after: Awaitable[None] | None = None) -> None:
        """Score, then (once the batch before is out, so lanes stay in order) send the scored documents
        and their entries, mark the lanes and acknowledge. The model scores the next batch meanwhile."""
        assert self.stream is not None and self.progress is not None
        fresh = [item for item in taken if item.document is not None]
        if fresh:
            async with self.scoring:
                await self._score(fresh)
        if after is not None:
            await after
        deliveries = []
        partitions = self.keyed_partitions()
        entries: dict[int, list[WindowEntry]] = defaultdict(list)  # by keyed partition
        for item in taken:
            scored = item.published
            if scored is None:
                continue
            item.encoded = scored.dumps()
            deliveries.append(await self.topics.scored.send(key=scored.topic.encode(), value=item.encoded))
            for partition, keys in keys_by_partition(window_keys(scored), partitions).items():
                entries[partition].append(WindowEntry(
                    keys=keys, id=scored.document.id, published_at=scored.document.published_at,
                    sentiment=scored.sentiment, score=scored.sentiment_score, title=scored.document.headline,
                    lane=item.lane, offset=item.offset, author=scored.document.author,
                    entities=entity_labels(scored, keys),
                ))  # fmt: skip
        for partition, batch in sorted(entries.items()):
            for start in range(0, len(batch), ENTRIES_PER_RECORD):
                record = WindowEntries(entries=batch[start : start + ENTRIES_PER_RECORD])
                deliveries.append(await self.topics.keyed.send(value=record.dumps(), partition=partition))
        await asyncio.gather(*deliveries)
        done = datetime.now(UTC)
        for item in taken:
            scored = item.published
            if scored is not None and item.document is not None:  # scored now, not published again
                self.memory.add(scored, item.encoded)
                self.metrics.documents_scored.labels(
                    source=self.metrics.source_label(scored.document.source),
                    topic=scored.topic,
                    sentiment=scored.sentiment,
                ).inc()
                age = (done - scored.document.received_at).total_seconds()
                self.metrics.ingest_to_scored.observe(max(0.0, age))
            self.progress.done(item.lane, item.offset, scored.document.published_at if scored else None)
            self.in_hand[item.lane] -= 1
            await self.stream.ack(item.event)
        await self.send_marks({item.lane for item in taken})

    def keyed_partitions(self) -> int:
        return self.app.consumer.topic_partitions(self.topics.names.keyed) or self.settings.topic_partitions

    def _raw(self, lane: int) -> TP:
        return TP(self.topics.names.raw, lane)

    def idle(self, lane: int) -> bool:
        """Nothing taken and unfinished, and nothing more on the broker than what is finished."""
        assert self.progress is not None
        highwater = self.app.consumer.highwater(self._raw(lane))
        finished = self.progress.offset.get(lane)
        return (
            self.in_hand[lane] == 0
            and highwater is not None
            and finished is not None
            and finished >= highwater
        )

    async def send_marks(self, lanes: set[int]) -> None:
        """A mark for each lane that is due, to every keyed partition, after the entries it vouches for."""
        assert self.progress is not None
        now, sent_at = time.monotonic(), datetime.now(UTC)
        partitions = self.keyed_partitions()
        deliveries = []
        for lane in sorted(lanes):
            idle = self.idle(lane)
            if not self.progress.due(lane, now, idle):
                continue
            mark = self.progress.mark(lane, idle, now, sent_at)
            for partition in range(partitions):
                deliveries.append(await self.topics.keyed.send(value=mark.dumps(), partition=partition))
        await asyncio.gather(*deliveries)

    async def heartbeat(self) -> None:
        """Mark every lane this worker reads, so ``aggregate`` knows it is alive and whether it is idle.

        A lane not read from since it was assigned is vouched for (as idle, at the consumer's position)
        only once it was caught up on two heartbeats in a row with none of its records waiting in the
        consumer: records fetched but not yet taken (the agent busy with another lane) are behind that
        position, and vouching for them would make them repeats.
        """
        if self.progress is None:
            return  # still loading the model: say nothing, so windows wait for these lanes
        assigned = {
            tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.topics.names.raw
        }
        for lane in assigned - set(self.progress.offset):
            position = await self.app.consumer.position(self._raw(lane))
            highwater = self.app.consumer.highwater(self._raw(lane))
            caught_up = (
                position is not None
                and highwater is not None
                and position >= highwater
                and not in_flight(self.app.consumer, self._raw(lane))
            )
            if caught_up and position is not None and lane in self.unseen_idle:
                self.progress.caught_up(lane, position)
            self.unseen_idle = (self.unseen_idle | {lane}) if caught_up else (self.unseen_idle - {lane})
        await self.send_marks(assigned & set(self.progress.offset))


def add_classify_agent(
    app: faust.App,
    topics: PipelineTopics,
    settings: StreamSettings,
    preparer: DocumentPreparer,
    scorer_factory: Callable[[], Awaitable[Scorer]],
    metrics: PipelineMetrics,
) -> None:
    classifier = Classifier(app, topics, settings, preparer, metrics)

    @app.agent(topics.raw, name="classify")
    async def classify(stream: faust.StreamT[bytes]) -> None:
        scorer = await scorer_factory()
        await classifier.start(scorer, stream)
        try:  # one batch is sent while the next one is scored
            # StreamT does not declare noack_take; faust.Stream has it
            taking = stream.noack_take(settings.max_batch, within=settings.max_wait_s)  # type: ignore[attr-defined]
            async for events in taking:
                await classifier.submit(await classifier.take(events))
            await classifier.drain()
        finally:
            await scorer.close()

    @app.timer(settings.mark_interval_s)
    async def mark_lanes() -> None:
        await classifier.heartbeat()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # faust types handlers as (sender, *args)
    async def forget_lanes(_app: faust.App, revoked: set[TP], **_kwargs: Any) -> None:
        classifier.forget({tp.partition for tp in revoked if tp.topic == topics.names.raw})
