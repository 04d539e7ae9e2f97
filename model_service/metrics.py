"""Prometheus metrics of the classifier, shared by the HTTP server and the in-process engine."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE = Histogram(
    "tapewatch_model_batch_size",
    "Texts per forward pass",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
BATCH_LATENCY = Histogram(
    "tapewatch_model_batch_latency_seconds",
    "Time of one batch through the engine (tokenize, forward, softmax)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge("tapewatch_model_queue_depth", "Texts waiting in the dynamic batcher")
REQUESTS = Counter("tapewatch_model_requests_total", "Classify requests answered, by HTTP status", ["status"])
OVERLOADED = Counter(
    "tapewatch_model_overloaded_total", "Requests refused because the batcher queue was full"
)
