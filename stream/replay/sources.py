"""Where replayed documents come from: the Parquet archive (scored) or Kafka's raw topic (by time).

The archive read touches only the day partitions of the range and the columns asked for. The Kafka
read uses a consumer without a group, so the live workers' offsets never move; it seeks with
``offsets_for_times`` and still filters each record by its timestamp, because the embedded broker's
timestamp index is imprecise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from kafka import TopicPartition

from common.records import Document, InvalidRecord, ScoredDocument
from common.topic_reader import TopicReader
from stream.archive import SCHEMA, from_row
from stream.prepare.documents import decode_document

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000  # rows turned into records at a time, so a long period is never all Python objects


class ReplayError(ValueError):
    """A replay that cannot run as asked; the message is for the user."""


def day_partitions(root: Path, start: datetime, end: datetime) -> list[Path]:
    """The ``date=YYYY-MM-DD`` folders of the days the range touches that exist."""
    days, day = [], start.date()
    while day <= (end - timedelta(microseconds=1)).date():
        folder = root / f"date={day.isoformat()}"
        if folder.is_dir():
            days.append(folder)
        day += timedelta(days=1)
    return days


def read_archive(
    root: Path,
    start: datetime,
    end: datetime,
    topics: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    user_topics: Sequence[str] = (),
) -> pa.Table:
    """Archived rows published in ``[start, end)``, of ``topics`` or ``user_topics`` (all if both are
    empty), in event-time order."""
    if not root.is_dir():
        raise ReplayError(f"no archive at {root} (set TAPEWATCH_ARCHIVE_DIR, or replay with --source kafka)")
    folders = day_partitions(root, start, end)
    wanted = list(columns or SCHEMA.names)
    if not folders:
        return pa.table({name: [] for name in wanted})
    files = [str(f) for folder in folders for f in sorted(folder.glob("*.parquet"))]
    dataset = ds.dataset(
        files, format="parquet", schema=SCHEMA
    )  # an older file's missing column reads as null
    condition = (pc.field("published_at") >= pa.scalar(start, pa.timestamp("us", tz="UTC"))) & (
        pc.field("published_at") < pa.scalar(end, pa.timestamp("us", tz="UTC"))
    )
    if topics or user_topics:
        names = [pa.array(list(chosen), pa.string()) for chosen in (topics, user_topics)]
        chosen = pc.field("topic").isin(names[0]) | pc.field("user_topic").isin(names[1])
        condition = condition & chosen
    table = dataset.to_table(columns=wanted, filter=condition)
    return table.sort_by([("published_at", "ascending"), ("id", "ascending")])


def scored_documents(table: pa.Table) -> Iterator[ScoredDocument]:
    """Archive rows back into ScoredDocuments, a batch of rows at a time."""
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield from (from_row(values) for values in batch.to_pylist())


@dataclass
class KafkaRange:
    """Raw documents whose record timestamps fall in ``[start, end)``, read without a consumer group."""

    bootstrap_servers: list[str]
    topic: str
    start: datetime
    end: datetime
    max_bytes: int = 1_000_000
    skipped: list[str] = field(default_factory=list)  # records that are not valid documents

    def __iter__(self) -> Iterator[Document]:
        end_ms = int(self.end.timestamp() * 1000)
        with TopicReader(self.bootstrap_servers, self.topic, "tapewatch-replay", poll_ms=1000) as reader:
            if not reader.exists:
                raise ReplayError(f"topic {self.topic} does not exist on {','.join(self.bootstrap_servers)}")
            for record in reader.from_time(self.start).records():
                if record.timestamp >= end_ms:
                    reader.finish(TopicPartition(record.topic, record.partition))
                    continue
                try:
                    yield decode_document(record.value, max_bytes=self.max_bytes)
                except InvalidRecord as exc:
                    self.skipped.append(f"{record.topic}@{record.partition}:{record.offset}: {exc.reason}")
