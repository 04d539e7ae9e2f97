"""Agent ``archive``: scored documents to Parquet, partitioned by day.

Batches flush on size or on a timer (``noack_take``'s ``within``); events are acknowledged only
after their file is in place, so a crash leaves them to be redelivered, and the archive skips the
ids it already holds.
"""

from __future__ import annotations

import asyncio
import logging

import faust

from stream.archive import ParquetArchive
from stream.metrics import ARCHIVED
from stream.records import ScoredDocument
from stream.settings import StreamSettings
from stream.topics import PipelineTopics

log = logging.getLogger(__name__)


def add_archive_agent(app: faust.App, topics: PipelineTopics, settings: StreamSettings) -> None:
    archive = ParquetArchive(settings.archive_root)

    @app.agent(topics.scored, name="archive")
    async def archive_scored(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.noack_take(settings.archive_batch, within=settings.archive_flush_s):
            documents = []
            for event in events:
                try:
                    documents.append(ScoredDocument.loads(event.message.value))
                except Exception:  # the aggregate agent dead-letters unreadable records
                    log.debug("skipping an unreadable scored record at offset %d", event.message.offset)
            try:
                written = await asyncio.to_thread(archive.write, documents)
            except OSError:
                log.exception("archive write failed; the batch will be redelivered after a restart")
                continue
            ARCHIVED.inc(written)
            for event in events:
                await stream.ack(event)
