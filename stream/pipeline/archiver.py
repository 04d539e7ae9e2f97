"""Agent ``archive``: scored documents to Parquet, partitioned by day.

Documents are buffered and written when the buffer is full, on a timer, and at shutdown. Events are
acknowledged only after their file is in place, so a crash leaves them to be redelivered; the archive
skips ids it already holds, so what was written at shutdown is not written twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.types import EventT

from common.records import InvalidRecord, ScoredDocument, decode_record
from stream.archive import ParquetArchive
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.topics import PipelineTopics
from stream.settings import StreamSettings

log = logging.getLogger(__name__)


class ArchiveBuffer:
    """Scored documents waiting for the next file, with the events to acknowledge once it is written."""

    def __init__(self, archive: ParquetArchive, metrics: PipelineMetrics) -> None:
        self.archive = archive
        self.metrics = metrics
        self.pending: list[tuple[EventT, ScoredDocument]] = []
        self.stream: faust.StreamT | None = None
        self._lock = asyncio.Lock()

    async def flush(self) -> None:
        async with self._lock:
            batch, self.pending = self.pending, []
            if not batch:
                return
            try:
                written = await asyncio.to_thread(self.archive.write, [doc for _, doc in batch])
            except OSError:
                log.exception("archive write failed; %d documents will be retried", len(batch))
                self.pending = batch + self.pending
                return
            self.metrics.archived.inc(written)
            self.metrics.archive_buffered.set(len(self.pending))
            if self.stream is not None:
                for event, _ in batch:
                    await self.stream.ack(event)

    def flush_at_shutdown(self) -> None:
        """The consumer has stopped: write what is buffered; the unacked events come back as known ids."""
        if self.pending:
            written = self.archive.write([doc for _, doc in self.pending])
            self.metrics.archived.inc(written)
            log.info("archived %d buffered documents at shutdown", written)
            self.pending = []
            self.metrics.archive_buffered.set(0)


def add_archive_agent(
    app: faust.App, topics: PipelineTopics, settings: StreamSettings, metrics: PipelineMetrics
) -> None:
    buffer = ArchiveBuffer(ParquetArchive(settings.archive_root), metrics)
    deadletters = DeadLetterSink(topics.deadletter, metrics)

    @app.agent(topics.scored, name="archive")
    async def archive_scored(stream: faust.StreamT[bytes]) -> None:
        buffer.stream = stream
        async for event in stream.noack().events():
            try:
                buffer.pending.append((event, decode_record(ScoredDocument, event.message.value)))
            except InvalidRecord as error:  # the one reader of the scored topic says so
                await deadletters.reject(error, event.message)
                await stream.ack(event)
                continue
            metrics.archive_buffered.set(len(buffer.pending))
            if len(buffer.pending) >= settings.archive_batch:
                await buffer.flush()

    @app.timer(settings.archive_flush_s)
    async def flush_archive() -> None:
        await buffer.flush()

    @app.on_partitions_assigned.connect
    async def reread_known_ids(_app: faust.App, _assigned: set[Any], **_kwargs: Any) -> None:
        buffer.archive.forget_known()

    @app.on_before_shutdown.connect
    async def flush_on_shutdown(_app: faust.App, **_kwargs: Any) -> None:
        buffer.flush_at_shutdown()
