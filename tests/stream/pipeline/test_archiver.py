"""The archive agent's buffer when writing fails: a disk error retries the whole batch with a backoff
(on an injected clock), a document the archive cannot hold is dead-lettered with the error, and every
event is acknowledged once it is finished, so commits never stall behind a dropped batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace

from common.records import ScoredDocument
from stream.pipeline.archiver import ArchiveBuffer
from stream.pipeline.deadletter import DeadLetterSink
from stream.pipeline.metrics import PipelineMetrics
from tests.helpers import T0, ManualClock, RecordingTopic, scored


class FailingArchive:
    """Fails the first ``disk_errors`` writes with OSError, and any write holding ``poison``."""

    def __init__(self, disk_errors: int = 0, poison: str = "") -> None:
        self.disk_errors = disk_errors
        self.poison = poison
        self.written: list[str] = []

    def write(self, documents: Sequence[ScoredDocument]) -> int:
        if self.disk_errors:
            self.disk_errors -= 1
            raise OSError(28, "No space left on device")
        if any(d.document.id == self.poison for d in documents):
            raise ValueError("a value Parquet cannot hold")
        self.written.extend(d.document.id for d in documents)
        return len(documents)


def buffer_with(
    archive: FailingArchive, registry, clock: ManualClock
) -> tuple[ArchiveBuffer, RecordingTopic, list]:
    deadletter = RecordingTopic()
    metrics = PipelineMetrics.create(registry)
    buffer = ArchiveBuffer(archive, metrics, DeadLetterSink(deadletter, metrics), clock=clock)  # type: ignore[arg-type]
    acked: list[str] = []

    async def ack(event: SimpleNamespace) -> None:
        acked.append(event.id)

    buffer.stream = SimpleNamespace(ack=ack)  # type: ignore[assignment]
    for offset, doc_id in enumerate(["a", "b", "c"]):
        message = SimpleNamespace(topic="t.docs.scored", partition=0, offset=offset, value=b"{}")
        buffer.pending.append((SimpleNamespace(id=doc_id, message=message), scored(doc_id, T0)))
    return buffer, deadletter, acked


def test_a_disk_error_keeps_the_batch_and_retries_it_after_a_backoff(registry) -> None:
    clock, archive = ManualClock(), FailingArchive(disk_errors=2)
    buffer, deadletter, acked = buffer_with(archive, registry, clock)
    asyncio.run(buffer.flush())
    assert (acked, len(buffer.pending), buffer.backoff_s) == ([], 3, 1.0)
    asyncio.run(buffer.flush())  # too early: not tried again
    assert archive.disk_errors == 1
    clock.now += 1.0
    asyncio.run(buffer.flush())
    assert (acked, buffer.backoff_s) == ([], 2.0)  # failed again: twice the wait
    clock.now += 2.0
    asyncio.run(buffer.flush())
    assert archive.written == acked == ["a", "b", "c"] and buffer.pending == [] and buffer.backoff_s == 0
    assert deadletter.values == []
    assert registry.get_sample_value("tapewatch_archived_documents_total") == 3


def test_a_document_the_archive_cannot_hold_is_dead_lettered_and_the_rest_written(registry) -> None:
    buffer, deadletter, acked = buffer_with(FailingArchive(poison="b"), registry, ManualClock())
    asyncio.run(buffer.flush())
    assert buffer.archive.written == ["a", "c"]  # type: ignore[attr-defined]
    assert sorted(acked) == ["a", "b", "c"] and buffer.pending == []
    (rejected,) = deadletter.values
    assert (
        rejected.reason == "processing_error" and "ValueError: a value Parquet cannot hold" in rejected.detail
    )
    assert (rejected.source_topic, rejected.offset) == ("t.docs.scored", 1)
    assert registry.get_sample_value("tapewatch_deadletters_total", {"reason": "processing_error"}) == 1
