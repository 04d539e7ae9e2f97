"""Agent ``classify``: raw documents in, ScoredDocuments (keyed by topic) out.

Each batch comes from ``noack_take``: events are acknowledged only once their outcome is durable
(scored document or dead letter delivered, duplicate counted), so a crash redelivers instead of
losing. The next batch is collected while the current one is being scored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import faust
from faust.types import EventT

from common.records import Document, InvalidRecord, RejectReason, ScoredDocument
from model_service.engine import Classification
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.scoring import Scorer
from stream.pipeline.topics import PipelineTopics
from stream.prepare.preparer import DocumentPreparer
from stream.settings import StreamSettings

log = logging.getLogger(__name__)


class Classifier:
    """One batch at a time: prepare every record, score the keepers, publish, then acknowledge."""

    def __init__(
        self,
        topics: PipelineTopics,
        preparer: DocumentPreparer,
        scorer: Scorer,
        stream: faust.StreamT,
        metrics: PipelineMetrics,
    ) -> None:
        self.topics = topics
        self.preparer = preparer
        self.scorer = scorer
        self.stream = stream
        self.metrics = metrics
        self.deadletters = DeadLetterSink(topics.deadletter, metrics)

    async def prepare(self, events: Sequence[EventT]) -> list[tuple[EventT, Document]]:
        keep: list[tuple[EventT, Document]] = []
        for event in events:
            try:
                prepared = self.preparer.prepare(event.message.value)
            except InvalidRecord as error:
                await self.deadletters.reject(error, event.message)
                await self.stream.ack(event)
                continue
            except Exception as exc:  # a bug must not stop the worker: the record is kept for study
                log.exception("preparing %s@%d failed", event.message.topic, event.message.offset)
                error = InvalidRecord(RejectReason.PROCESSING_ERROR, f"{type(exc).__name__}: {exc}")
                await self.deadletters.reject(error, event.message)
                await self.stream.ack(event)
                continue
            self.metrics.documents_received.labels(
                source=self.metrics.source_label(prepared.document.source)
            ).inc()
            if prepared.duplicate.duplicate:
                self.metrics.duplicates.labels(kind=prepared.duplicate.kind).inc()
                await self.stream.ack(event)
                continue
            keep.append((event, prepared.document))
        return keep

    async def _score(
        self, batch: list[tuple[EventT, Document]]
    ) -> list[tuple[EventT, Document, Classification]]:
        """Labels for the batch; if the batch fails, one by one, dead-lettering what still fails."""
        try:
            results = await self.scorer.score([document.text for _, document in batch])
            return [(e, d, r) for (e, d), r in zip(batch, results, strict=True)]
        except Exception:
            log.exception("scoring a batch of %d failed; retrying one by one", len(batch))
        scored = []
        for event, document in batch:
            try:
                scored.append((event, document, (await self.scorer.score([document.text]))[0]))
            except Exception as exc:
                error = InvalidRecord(RejectReason.PROCESSING_ERROR, f"classification failed: {exc}")
                await self.deadletters.reject(error, event.message)
                await self.stream.ack(event)
        return scored

    async def score_and_publish(self, batch: list[tuple[EventT, Document]]) -> None:
        if not batch:
            return
        labeled = await self._score(batch)
        scored_at = datetime.now(UTC)
        deliveries = []
        for _, document, result in labeled:
            scored = ScoredDocument(document=document, scored_at=scored_at, **result.labels())
            deliveries.append(await self.topics.scored.send(key=result.topic.encode(), value=scored.dumps()))
            self.metrics.documents_scored.labels(
                source=self.metrics.source_label(document.source),
                topic=result.topic,
                sentiment=result.sentiment,
            ).inc()
        await asyncio.gather(*deliveries)
        done = datetime.now(UTC)
        for event, document, _ in labeled:
            self.metrics.ingest_to_scored.observe(max(0.0, (done - document.received_at).total_seconds()))
            await self.stream.ack(event)


def add_classify_agent(
    app: faust.App,
    topics: PipelineTopics,
    settings: StreamSettings,
    preparer: DocumentPreparer,
    scorer_factory: Callable[[], Awaitable[Scorer]],
    metrics: PipelineMetrics,
) -> None:
    @app.agent(topics.raw, name="classify")
    async def classify(stream: faust.StreamT[bytes]) -> None:
        scorer = await scorer_factory()
        classifier = Classifier(topics, preparer, scorer, stream, metrics)
        in_flight: asyncio.Task[None] | None = None
        try:
            async for events in stream.noack_take(settings.max_batch, within=settings.max_wait_s):
                batch = await classifier.prepare(events)
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.create_task(classifier.score_and_publish(batch))
            if in_flight is not None:
                await in_flight
        finally:
            await scorer.close()
