"""Agent ``archive``: scored documents to Parquet, partitioned by day.

Documents are buffered and written when the buffer is full, on a timer, and at shutdown. Events are
acknowledged only after their file is in place, so a crash leaves them to be redelivered; the archive
skips ids it already holds, so what was written at shutdown is not written twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import faust
from faust.types import EventT

from common.records import InvalidRecord, RejectReason, ScoredDocument, decode_record
from stream.archive import ParquetArchive
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.topics import PipelineTopics
from stream.settings import StreamSettings

log = logging.getLogger(__name__)


class ArchiveBuffer:
    """Scored documents waiting for the next file, with the events to acknowledge once it is written.

    A write that fails on the disk (``OSError``) is tried again, whole, with a backoff. Any other
    failure is about a document: the batch is written one by one, and what still fails goes to the
    dead-letter topic with the error. Either way every event is acknowledged once it is finished, so
    commits never stall behind a batch that was dropped.
    """

    def __init__(
        self,
        archive: ParquetArchive,
        metrics: PipelineMetrics,
        deadletters: DeadLetterSink,
        clock: Callable[[], float] = time.monotonic,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.archive = archive
        self.metrics = metrics
        self.deadletters = deadletters
        self.clock = clock
        self.max_backoff_s = max_backoff_s
        self.pending: list[tuple[EventT, ScoredDocument]] = []
        self.stream: faust.StreamT | None = None
        self.backoff_s = 0.0
        self.retry_at = 0.0
        self._lock = asyncio.Lock()

    async def flush(self) -> None:
        async with self._lock:
            if not self.pending or self.clock() < self.retry_at:
                return
            batch, self.pending = self.pending, []
            try:
                written = await asyncio.to_thread(self.archive.write, [doc for _, doc in batch])
                finished = batch
            except OSError as exc:
                self._retry_later(batch, exc)
                return
            except Exception:
                log.exception("archive write of %d documents failed; writing them one by one", len(batch))
                written, finished = await self._one_by_one(batch)
            if len(finished) == len(batch):
                self.backoff_s = 0.0
            self.metrics.archived.inc(written)
            self.metrics.archive_buffered.set(len(self.pending))
            if self.stream is not None:
                for event, _ in finished:
                    await self.stream.ack(event)

    async def _one_by_one(
        self, batch: list[tuple[EventT, ScoredDocument]]
    ) -> tuple[int, list[tuple[EventT, ScoredDocument]]]:
        """Written count and the entries finished (written or dead-lettered); a disk error on the way
        puts the rest back for later."""
        written, finished = 0, []
        for n, (event, doc) in enumerate(batch):
            try:
                written += await asyncio.to_thread(self.archive.write, [doc])
            except OSError as exc:
                self._retry_later(batch[n:], exc)
                break
            except Exception as exc:
                detail = f"archive write failed: {type(exc).__name__}: {exc}"
                await self.deadletters.reject(
                    InvalidRecord(RejectReason.PROCESSING_ERROR, detail), event.message
                )
            finished.append((event, doc))
        return written, finished

    def _retry_later(self, batch: list[tuple[EventT, ScoredDocument]], exc: OSError) -> None:
        self.backoff_s = min(self.max_backoff_s, max(1.0, 2 * self.backoff_s))
        self.retry_at = self.clock() + self.backoff_s
        self.pending = batch + self.pending
        log.error("archive write failed (%s); %d documents again in %.0f s", exc, len(batch), self.backoff_s)

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
    deadletters = DeadLetterSink(topics.deadletter, metrics)
    buffer = ArchiveBuffer(ParquetArchive(settings.archive_root), metrics, deadletters)

    @app.agent(topics.scored, name="archive")
    async def archive_scored(stream: faust.StreamT[bytes]) -> None:
        buffer.stream = stream
        async for event in stream.noack().events():  # type: ignore[attr-defined]  # faust.Stream has it
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

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # faust types handlers as (sender, *args)
    async def reread_known_ids(_app: faust.App, _assigned: set[Any], **_kwargs: Any) -> None:
        buffer.archive.forget_known()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # faust types handlers as (sender, *args)
    async def flush_on_shutdown(_app: faust.App, **_kwargs: Any) -> None:
        buffer.flush_at_shutdown()
