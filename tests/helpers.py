"""Test helpers that await a condition with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from stream.producer import DocumentProducer
from stream.records import Document
from stream.settings import StreamSettings
from stream.topics import ensure_topics

T = TypeVar("T")


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Read ``topic`` from the start until ``expected`` records arrived or ``timeout`` passed."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


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
