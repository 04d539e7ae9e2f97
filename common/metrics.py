"""Prometheus helpers every component shares: a registry per process, bounded label values.

Metrics are created against a registry passed in (``create(registry)`` on each component's metrics
class), so a unit test reads them on a fresh ``CollectorRegistry`` and a server exposes exactly its own.
"""

from __future__ import annotations

import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)

OTHER = "other"
MAX_LABEL_CHARS = 120

disable_created_metrics()  # the *_created series only add noise to dashboards


def process_registry() -> CollectorRegistry:
    """A registry for a server's /metrics: its own metrics plus the process, platform and GC ones."""
    registry = CollectorRegistry()
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry's metrics in the Prometheus text format, with its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def label_value(value: str) -> str:
    """``value`` as a label can hold it: text from input may carry lone surrogates, which the exposition
    cannot encode (one would turn /metrics into a 500 for the rest of the process), or be very long."""
    return value.encode("utf-8", "replace").decode("utf-8")[:MAX_LABEL_CHARS]


class BoundedLabel:
    """Passes through the first ``limit`` distinct values of a label and maps the rest to ``other``.

    Label values that come from input (sources, tickers) would otherwise grow the series count
    without bound; each is also made safe to export (``label_value``).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        value = label_value(value)
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER
