"""Prometheus metrics of the classifier, for the HTTP server and for the engine inside a worker.

Built against a registry passed in (``ModelMetrics.create``), so each server exposes its own and a
test reads them on a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class ModelMetrics:
    batch_size: Histogram
    batch_latency: Histogram
    queue_depth: Gauge
    requests: Counter
    overloaded: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ModelMetrics:
        return cls(
            batch_size=Histogram(
                "tapewatch_model_batch_size",
                "Texts per forward pass",
                buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
                registry=registry,
            ),
            batch_latency=Histogram(
                "tapewatch_model_batch_latency_seconds",
                "Time of one batch through the engine (tokenize, forward, softmax)",
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                registry=registry,
            ),
            queue_depth=Gauge(
                "tapewatch_model_queue_depth", "Texts waiting in the dynamic batcher", registry=registry
            ),
            requests=Counter(
                "tapewatch_model_requests_total",
                "Classify requests answered, by HTTP status",
                ["status"],
                registry=registry,
            ),
            overloaded=Counter(
                "tapewatch_model_overloaded_total",
                "Requests refused as overloaded (queue full, or the answer due after the deadline)",
                registry=registry,
            ),
        )
