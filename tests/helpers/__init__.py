"""Shared test builders and helpers: settings of a test's own, documents and windows to feed, and
waits on a condition with a deadline instead of sleeping a fixed time. Test modules import from here,
never from each other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pyarrow.parquet as pq
from kafka import KafkaAdminClient
from kafka.consumer.fetcher import ConsumerRecord

from common.processes import free_port
from common.records import Document, ScoredDocument, TrendPoint, decode_record
from common.topic_reader import TopicReader
from stream.devstack.broker import EmbeddedBroker
from stream.ingest.producer import DocumentProducer
from stream.pipeline.topics import TopicNames, default_partition, ensure_topics
from stream.prepare.dedupe import raw_topic_key
from stream.prepare.documents import document_from_fields
from stream.prepare.entities import EntityExtractor
from stream.prepare.preparer import DocumentPreparer
from stream.replay.sources import read_archive, scored_documents
from stream.settings import StreamSettings
from stream.windows import replay_windows

T = TypeVar("T")


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Read ``topic`` from the start until ``expected`` records arrived or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while True:
        with TopicReader(bootstrap.split(","), topic, "tapewatch-tests") as reader:
            if reader.exists:
                reader.from_start()
                records: list[ConsumerRecord] = []
                while len(records) < expected and time.monotonic() < deadline:
                    records.extend(reader.poll())
                return records
        if time.monotonic() > deadline:
            return []
        time.sleep(0.2)  # the topic is not there yet: a worker that is starting creates it


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def send_documents(settings: StreamSettings, documents: list[Document]) -> None:
    """Create the pipeline's topics and put ``documents`` on the raw topic, acknowledged by the broker."""
    ensure_topics(settings)
    with DocumentProducer(settings) as producer:
        for document in documents:
            producer.send(document)


def tapewatch(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``tapewatch ARGS`` as a user runs it, with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@dataclass(frozen=True)
class Closed:
    """A closed window as the detector reads it (the fields of a TrendPoint it uses)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int
    authors: list[str] | None = None  # None: each document is its own author
    negative_authors: list[str] | None = None


def unique_settings(broker: EmbeddedBroker, directory: Path, **overrides: object) -> StreamSettings:
    """Settings on ``broker`` with a topic namespace and consumer group of their own."""
    unique = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "broker_url": broker.bootstrap,
        "app_id": f"test-{unique}",
        "topic_prefix": f"t{unique}",
        "data_dir": directory / f"data-{unique}",
        "web_port": free_port(),
        **overrides,
    }
    return StreamSettings(**values)  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parents[2]  # the checkout
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def scored(
    doc_id: str,
    at: datetime,
    sentiment: str = "neutral",
    topic: str = "Earnings",
    tickers: list[str] | None = None,
) -> ScoredDocument:
    """A scored document as the classifier would label it, without the model."""
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.6}[sentiment]
    doc = document_from_fields(
        {
            "id": doc_id,
            "source": "t",
            "title": doc_id,
            "published_at": at.isoformat(),
            "tickers": tickers or [],
        }
    )
    return ScoredDocument(
        document=doc,
        topic=topic,
        topic_confidence=0.9,
        sentiment=sentiment,
        sentiment_score=score,
        probs={},
        model_version="v",
        scored_at=at,
    )


def archived(
    settings: StreamSettings, columns: Sequence[str] = ("id", "topic", "published_at", "sentiment")
) -> list[dict]:
    """The archive's rows (by default id, topic, published_at, sentiment), [] before the first file."""
    root = settings.archive_root
    if not root.exists() or not list(root.rglob("*.parquet")):
        return []
    return pq.read_table(root, columns=list(columns)).to_pylist()


Window = tuple[str, int, datetime]  # key, size in seconds, start
Counts = tuple[int, int, int, int]  # count, negative, neutral, positive


def latest_windows(settings: StreamSettings) -> dict[Window, Counts]:
    """Every window on the trends topic, at its latest revision (read to the topic's end, however long)."""
    latest: dict[Window, TrendPoint] = {}
    with TopicReader(
        settings.bootstrap_servers, TopicNames(settings.topic_prefix).trends, "tapewatch-tests"
    ) as reader:
        records = list(reader.from_start().records()) if reader.exists else []
    for record in records:
        point = decode_record(TrendPoint, record.value)
        window = (point.key, int((point.window_end - point.window_start).total_seconds()), point.window_start)
        if window not in latest or point.revision >= latest[window].revision:
            latest[window] = point
    return {w: (p.count, p.negative, p.neutral, p.positive) for w, p in latest.items()}


def replayed_windows(settings: StreamSettings) -> dict[Window, Counts]:
    """The windows a replay of the whole archive gives (both sizes)."""
    far = datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    table = read_archive(settings.archive_root, *far)
    entities = EntityExtractor.from_settings(settings)
    points = [
        point
        for size in (settings.window_s, settings.baseline_window_s)
        for point in replay_windows(scored_documents(table), size, settings.grace_s, entities)
    ]
    return {
        (p.key, int((p.window_end - p.window_start).total_seconds()), p.window_start): (
            p.count, p.negative, p.neutral, p.positive,
        )
        for p in points
    }  # fmt: skip


def raw_finished(settings: StreamSettings) -> bool:
    """Whether the worker group has committed every record of the raw topic (done with all of them)."""
    topic = TopicNames(settings.topic_prefix).raw
    with TopicReader([settings.broker_url], topic, "tapewatch-tests") as reader:
        ends: dict[int, int] = {}
        for record in reader.from_start().records():
            ends[record.partition] = record.offset + 1
        partitions = reader.partitions
    admin = KafkaAdminClient(bootstrap_servers=settings.broker_url)
    try:
        committed = admin.list_group_offsets({settings.app_id: partitions}).get(settings.app_id, {})
    finally:
        admin.close()
    return all(
        (committed[tp].offset if tp in committed else 0) >= ends.get(tp.partition, 0) for tp in partitions
    )


def keepers(settings: StreamSettings, documents: list[Document]) -> set[str]:
    """The ids the pipeline keeps (scores and archives) of documents sent in this order: each one goes
    to the lane its story key hashes to, and each lane has its own duplicate table."""
    preparer = DocumentPreparer.from_settings(settings, b"any key: pseudonyms do not decide repeats")
    kept = set()
    for document in documents:
        lane = default_partition(raw_topic_key(document), settings.topic_partitions)
        prepared = preparer.prepare(document.dumps(), lane=lane)
        if not prepared.duplicate.duplicate:
            kept.add(prepared.document.id)
    return kept
