"""Shared test builders and helpers: settings of a test's own, documents and windows to feed, and
waits on a condition with a deadline instead of sleeping a fixed time. Test modules import from here,
never from each other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pyarrow.parquet as pq
from kafka.consumer.fetcher import ConsumerRecord

from common.processes import free_port
from common.records import Document, ScoredDocument
from common.topic_reader import TopicReader
from stream.devstack.broker import EmbeddedBroker
from stream.ingest.producer import DocumentProducer
from stream.pipeline.topics import ensure_topics
from stream.prepare.documents import document_from_fields
from stream.settings import StreamSettings

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


def tapewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``tapewatch ARGS`` as a user runs it, with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@dataclass(frozen=True)
class Closed:
    """A closed window as the detector reads it (the fields of a TrendPoint it uses)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int


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


ROOT = Path(__file__).resolve().parents[1]  # the checkout
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


def archived(settings: StreamSettings) -> list[dict]:
    """The archive's rows (id, topic, published_at, sentiment), [] before the first file."""
    root = settings.archive_root
    if not root.exists() or not list(root.rglob("*.parquet")):
        return []
    return pq.read_table(root, columns=["id", "topic", "published_at", "sentiment"]).to_pylist()
