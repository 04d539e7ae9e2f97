"""Prometheus metrics of the stream worker (names prefixed ``tapewatch_``), with bounded labels.

``WorkerMetrics.create(registry)`` builds everything one worker exports, its detector's and its
own model's included, on the registry its /metrics page serves (as faust's
``sensors/prometheus.py`` does). Tests pass a fresh ``CollectorRegistry`` and read values from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from alerts.detector import NAME_PREFIX
from alerts.metrics import ENTITY_INFO, DetectorMetrics
from common.metrics import OTHER, BoundedLabel, label_value, process_registry
from common.records import TrendPoint
from model_service.metrics import ModelMetrics


@dataclass(frozen=True)
class PipelineMetrics:
    documents_received: Counter
    deadletters: Counter
    unreadable: Counter
    documents_scored: Counter
    duplicates: Counter
    ingest_to_scored: Histogram
    model_up: Gauge
    model_retries: Counter
    model_restarts: Counter
    topic_volume: Gauge
    topic_mean_sentiment: Gauge
    topic_negative_ratio: Gauge
    entity_info: Gauge  # 1 per symbol or watched entity with a name: what dashboards and alerts call it
    windows_closed: Counter
    late_documents: Counter
    consumer_lag: Gauge
    archive_buffered: Gauge
    archived: Counter
    source_label: BoundedLabel
    key_label: BoundedLabel  # all, topics (20), sources, then symbols and watched entities as they come
    entity_names: dict[str, str] = field(default_factory=dict)  # the name each key's info series has

    @classmethod
    def create(cls, registry: CollectorRegistry) -> PipelineMetrics:
        def counter(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, help_text, labels, registry=registry)

        def gauge(name: str, help_text: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, help_text, labels, registry=registry)

        return cls(
            documents_received=counter(
                "tapewatch_documents_received_total", "Raw documents accepted by the worker", ("source",)
            ),
            deadletters=counter(
                "tapewatch_deadletters_total", "Inputs sent to the dead-letter topic", ("reason",)
            ),
            unreadable=counter(
                "tapewatch_unreadable_records_total",
                "Records of tapewatch's own topics that could not be read and were skipped",
                ("topic", "reason"),
            ),
            documents_scored=counter(
                "tapewatch_documents_scored_total", "Documents classified", ("source", "topic", "sentiment")
            ),
            duplicates=counter(
                "tapewatch_duplicates_total", "Documents recognized as repeats, not scored again", ("kind",)
            ),
            ingest_to_scored=Histogram(
                "tapewatch_ingest_to_scored_seconds",
                "From received_at to the scored document being produced",
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
                registry=registry,
            ),
            model_up=gauge("tapewatch_model_up", "1 when the last call to the model service succeeded"),
            model_retries=counter(
                "tapewatch_model_retries_total", "Model service calls retried because it was unavailable"
            ),
            model_restarts=counter(
                "tapewatch_model_process_restarts_total",
                "Times the worker's model process died and was started again",
            ),
            topic_volume=gauge("tapewatch_topic_volume", "Documents in the last closed window", ("key",)),
            topic_mean_sentiment=gauge(
                "tapewatch_topic_mean_sentiment", "Mean sentiment score of the last closed window", ("key",)
            ),
            topic_negative_ratio=gauge(
                "tapewatch_topic_negative_ratio", "Negative share of the last closed window", ("key",)
            ),
            entity_info=gauge(
                ENTITY_INFO,
                "1 for each symbol or watched entity, with the name its documents call it",
                ("key", "name"),
            ),
            windows_closed=counter("tapewatch_windows_closed_total", "Trend points emitted", ("window",)),
            late_documents=counter(
                "tapewatch_late_documents_total",
                "Window entries (a document under one key) that came after their window was final",
            ),
            consumer_lag=gauge(
                "tapewatch_consumer_lag",
                "Messages at or after the group's committed offset",
                ("topic", "partition"),
            ),
            archive_buffered=gauge(
                "tapewatch_archive_buffered", "Scored documents waiting for the next Parquet file"
            ),
            archived=counter(
                "tapewatch_archived_documents_total", "Scored documents written to the Parquet archive"
            ),
            source_label=BoundedLabel(limit=32),
            key_label=BoundedLabel(limit=128),
        )

    def window_closed(self, name: str, point: TrendPoint) -> None:
        """Count a closed window; the short ones also set their key's gauges (not for names found in the
        text: the detector's gauges show those while they are on the rise)."""
        self.windows_closed.labels(window=name).inc()
        if name == "short" and not point.key.startswith(NAME_PREFIX):
            label = self.key_label(point.key)
            self.topic_volume.labels(key=label).set(point.count)
            self.topic_mean_sentiment.labels(key=label).set(point.mean_score)
            self.topic_negative_ratio.labels(key=label).set(point.negative_ratio)
            if point.name and label != OTHER:
                self._name(label, label_value(point.name))

    def _name(self, key: str, name: str) -> None:
        """One info series per key: a key whose name changes (a watchlist edit) drops the old one."""
        old = self.entity_names.get(key)
        if old == name:
            return
        if old is not None:
            self.entity_info.remove(key, old)
        self.entity_info.labels(key=key, name=name).set(1)
        self.entity_names[key] = name


@dataclass(frozen=True)
class WorkerMetrics:
    """Everything one worker exports, on the registry its /metrics page serves."""

    registry: CollectorRegistry
    pipeline: PipelineMetrics
    detector: DetectorMetrics
    model: ModelMetrics  # the batches of the worker's own engine

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> WorkerMetrics:
        registry = registry if registry is not None else process_registry()
        pipeline = PipelineMetrics.create(registry)
        return cls(
            registry=registry,
            pipeline=pipeline,
            detector=DetectorMetrics.create(registry, pipeline.key_label),
            model=ModelMetrics.create(registry),
        )

    def watch_model_process(self, pid: Callable[[], int | None]) -> None:
        """The model's child process's CPU and memory, as ``tapewatch_model_process_*`` (the worker's own
        ``process_*`` no longer include the model)."""
        ProcessCollector(namespace="tapewatch_model", pid=lambda: str(pid()), registry=self.registry)
