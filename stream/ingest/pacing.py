"""Sending documents on a schedule: a fixed rate, or event time compressed by a speed factor."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from tqdm import tqdm

from common.records import Document
from stream.ingest.producer import DocumentProducer

# When to send the n-th document, in seconds after the start; None = as fast as possible.
Schedule = Callable[[int, Document], float] | None


def at_rate(rate: float) -> Schedule:
    return (lambda n, _doc: n / rate) if rate > 0 else None


def compressed(first_event: datetime, speed: float) -> Schedule:
    """Event time replayed ``speed`` times faster than it happened (0 = as fast as possible)."""
    if speed <= 0:
        return None
    return lambda _n, doc: (doc.published_at - first_event).total_seconds() / speed


def send_paced(
    producer: DocumentProducer,
    documents: Iterable[Document],
    schedule: Schedule,
    total: int | None = None,
    description: str = "documents",
    progress: bool = True,
    stop: threading.Event | None = None,
) -> int:
    """Send each document (stamped with the real receive time) when its schedule says; returns the count.

    Setting ``stop`` ends the sending early, also in the middle of a wait.
    """
    stop = stop or threading.Event()
    started = time.monotonic()
    sent = 0
    with tqdm(total=total, unit="doc", desc=description, disable=not progress) as bar:
        for document in documents:
            if schedule is not None:
                delay = started + schedule(sent, document) - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            if stop.is_set():
                break
            producer.send(document.derive(received_at=datetime.now(UTC)))
            sent += 1
            bar.update(1)
    return sent
