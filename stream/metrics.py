"""Prometheus metrics of the stream worker (names prefixed ``tapewatch_``), with bounded labels."""

from __future__ import annotations

import threading

from prometheus_client import CONTENT_TYPE_LATEST, Counter, disable_created_metrics, generate_latest

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

source_label = BoundedLabel(limit=32)


def exposition() -> tuple[bytes, str]:
    """The current metrics in the Prometheus text format, with its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
