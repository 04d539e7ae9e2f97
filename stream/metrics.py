"""Prometheus metrics of the stream worker (names prefixed ``tapewatch_``), with bounded labels."""

from __future__ import annotations

import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

OTHER = "other"

disable_created_metrics()  # the *_created series only add noise to dashboards


class BoundedLabel:
    """Passes through the first ``limit`` distinct values of a label and maps the rest to ``other``.

    Label values that come from input (sources, tickers) would otherwise grow the series count
    without bound.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


DOCUMENTS_RECEIVED = Counter(
    "tapewatch_documents_received_total", "Raw documents accepted by the worker", ["source"]
)
DEADLETTERS = Counter("tapewatch_deadletters_total", "Inputs sent to the dead-letter topic", ["reason"])

DOCUMENTS_SCORED = Counter(
    "tapewatch_documents_scored_total", "Documents classified", ["source", "topic", "sentiment"]
)
DUPLICATES = Counter(
    "tapewatch_duplicates_total", "Documents recognized as repeats, not scored again", ["kind"]
)
INGEST_TO_SCORED = Histogram(
    "tapewatch_ingest_to_scored_seconds",
    "From received_at to the scored document being produced",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
MODEL_UP = Gauge("tapewatch_model_up", "1 when the last call to the model service succeeded")
MODEL_RETRIES = Counter(
    "tapewatch_model_retries_total", "Model service calls retried because it was unavailable"
)

TOPIC_VOLUME = Gauge("tapewatch_topic_volume", "Documents in the last closed window", ["key"])
TOPIC_MEAN_SENTIMENT = Gauge(
    "tapewatch_topic_mean_sentiment", "Mean sentiment score of the last closed window", ["key"]
)
TOPIC_NEGATIVE_RATIO = Gauge(
    "tapewatch_topic_negative_ratio", "Negative share of the last closed window", ["key"]
)
WINDOWS_CLOSED = Counter("tapewatch_windows_closed_total", "Trend points emitted", ["window"])
LATE_DOCUMENTS = Counter("tapewatch_late_documents_total", "Documents whose window had already closed")
CONSUMER_LAG = Gauge(
    "tapewatch_consumer_lag", "Messages at or after the group's committed offset", ["topic", "partition"]
)
ARCHIVE_BUFFERED = Gauge("tapewatch_archive_buffered", "Scored documents waiting for the next Parquet file")
ARCHIVED = Counter("tapewatch_archived_documents_total", "Scored documents written to the Parquet archive")

source_label = BoundedLabel(limit=32)
key_label = BoundedLabel(limit=64)  # topics (20) plus watched tickers


def exposition() -> tuple[bytes, str]:
    """The current metrics in the Prometheus text format, with its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
