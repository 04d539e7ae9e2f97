"""Where the classify agent gets labels: the engine in-process, or the model service over HTTP.

Either way inference never runs on the event loop: the engine runs on one worker thread, the HTTP
client awaits the network. When the service is down, ``score`` retries with backoff (and says so
in a metric and the log) until it answers: scoring stalls, nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from model_service.batcher import inference_thread
from model_service.client import ModelClient, ModelServiceUnavailable
from model_service.engine import Classification, EntityQuery, InferenceEngine
from model_service.settings import ModelSettings
from model_service.user_topics import TopicSource
from stream.pipeline.metrics import WorkerMetrics

log = logging.getLogger(__name__)


def classify_thread() -> ThreadPoolExecutor:
    return inference_thread("tapewatch-classify")


Explanation = list[tuple[str, float]]


Entities = Sequence[Sequence[EntityQuery]] | None  # per text, the entities to read its sentiment toward


class Scorer(Protocol):
    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]: ...

    async def explain(self, texts: Sequence[str]) -> list[Explanation]:
        """The tokens that pushed each text's sentiment, for alert evidence; one attempt."""
        ...

    async def close(self) -> None: ...


class InProcessScorer:
    """The engine on a dedicated thread, so heartbeats and commits go on during a forward pass.

    That thread (and ONNX Runtime's threads, which it starts) runs at a lower priority than the event
    loop: inference takes every idle cycle, but the agents that feed it are not starved of the CPU.
    With a topics file, each document's user topic comes from the same pass (the file is followed
    on that thread, so a changed file's examples are embedded between two batches)."""

    def __init__(
        self,
        engine: InferenceEngine,
        metrics: WorkerMetrics,
        topics: TopicSource | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.engine = engine
        self.topics = topics
        self.metrics = metrics
        metrics.pipeline.model_up.set(1)  # the model is this process: loaded means up
        self._executor = executor or classify_thread()

    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]:
        started = time.perf_counter()
        results = await asyncio.get_running_loop().run_in_executor(
            self._executor, self._classify, texts, entities
        )
        self.metrics.model.batch_size.observe(len(texts))
        self.metrics.model.batch_latency.observe(time.perf_counter() - started)
        return results

    def _classify(self, texts: Sequence[str], entities: Entities) -> list[Classification]:
        matcher = self.topics.current(time.monotonic()) if self.topics is not None else None
        return self.engine.classify(list(texts), entities=entities, topics=matcher)

    @classmethod
    async def load(cls, metrics: WorkerMetrics) -> InProcessScorer:
        """The configured engine and the topics file of ``TAPEWATCH_TOPICS_PATH`` (its examples
        embedded), both made on the inference thread: its thread pools share its priority, and the event
        loop is not held up meanwhile."""
        executor = classify_thread()
        engine, topics = await asyncio.get_running_loop().run_in_executor(executor, cls._load_engine)
        return cls(engine, metrics, topics, executor)

    @staticmethod
    def _load_engine() -> tuple[InferenceEngine, TopicSource | None]:
        settings = ModelSettings()
        engine = InferenceEngine.load(settings, beside_event_loop=True)
        if settings.topics_path is None:
            return engine, None
        return engine, engine.topic_source(settings.topics_path, settings.topics_check_s)

    async def explain(self, texts: Sequence[str]) -> list[Explanation]:
        results = await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: self.engine.classify(list(texts), explain=True)
        )
        return [r.explanation or [] for r in results]

    async def close(self) -> None:
        self._executor.shutdown(wait=False)


class HttpScorer:
    """The model service; retries forever with capped backoff while it is unavailable."""

    def __init__(
        self, url: str, token: str | None, metrics: WorkerMetrics, max_backoff_s: float = 10.0
    ) -> None:
        self.client = ModelClient(url, token=token, retries=2, backoff=0.2, max_backoff=max_backoff_s)
        self.metrics = metrics.pipeline
        self.max_backoff_s = max_backoff_s

    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]:
        delay = 0.5
        while True:
            try:
                results = await self.client.classify(
                    [(str(i), t) for i, t in enumerate(texts)], entities=entities
                )
            except ModelServiceUnavailable as exc:
                self.metrics.model_up.set(0)
                self.metrics.model_retries.inc()
                log.warning("model service unavailable, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(self.max_backoff_s, delay * 2)
                continue
            self.metrics.model_up.set(1)
            return results

    async def explain(self, texts: Sequence[str]) -> list[Explanation]:
        results = await self.client.classify([(str(i), t) for i, t in enumerate(texts)], explain=True)
        return [r.explanation or [] for r in results]

    async def close(self) -> None:
        await self.client.aclose()
