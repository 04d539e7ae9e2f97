"""Where the classify agent gets labels: the engine in a child process, or the model service over HTTP.

Either way inference never runs on the event loop: the engine runs in a child process, the HTTP
client awaits the network. When the model is down (the service does not answer; the child died and
will not start again, or hung past ``TAPEWATCH_MODEL_CALL_TIMEOUT_S``), ``score`` retries with backoff
until it answers, with ``tapewatch_model_up`` at 0 meanwhile and each retry counted: scoring stalls,
nothing is dead-lettered for a fault of ours.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from model_service import engine_process
from model_service.classification import Classification
from model_service.client import ModelClient, ModelServiceUnavailable
from model_service.engine_process import EngineProcess, ModelUnavailable
from model_service.entity_spans import EntityQuery
from model_service.settings import ModelSettings
from model_service.user_topics import read_topics_if_any
from stream.pipeline.metrics import WorkerMetrics

log = logging.getLogger(__name__)


Explanation = list[tuple[str, float]]


Entities = Sequence[Sequence[EntityQuery]] | None  # per text, the entities to read its sentiment toward


def check_topics_file(model_url: str | None, topics_path: Path | None) -> None:
    """A worker's topics file, at start. A bad file stops it (here, not once the model has loaded); no
    file, or an empty one, is a warning: topics are off until the file defines some. With the model
    service the service's own topics file counts, so this worker's is not read, and the log says so."""
    if topics_path is None:
        return
    if model_url is not None:
        log.warning(
            "TAPEWATCH_TOPICS_PATH (%s) is not read by this worker: the model service at %s scores its "
            "documents, so user topics come from the service's own TAPEWATCH_TOPICS_PATH",
            topics_path,
            model_url,
        )
    elif read_topics_if_any(topics_path) is None:
        log.warning("no topics in %s (no file there, or it is empty): user topics are off", topics_path)


class Scorer(Protocol):
    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]: ...

    async def explain(self, texts: Sequence[str]) -> list[Explanation]:
        """The tokens that pushed each text's sentiment, for alert evidence; one attempt."""
        ...

    async def close(self) -> None: ...


class LocalScorer:
    """The engine on this machine, in a child process (``model_service.engine_process``): the agents'
    Python and the model's never wait on each other for the GIL, and the event loop goes on with
    heartbeats, commits and aggregation during a forward pass. With a topics file, each document's
    user topic comes from the same pass (the file is followed in that process, so a changed file's
    examples are embedded between two batches)."""

    def __init__(self, process: EngineProcess, metrics: WorkerMetrics, max_backoff_s: float = 10.0) -> None:
        self.process = process
        self.metrics = metrics
        self.max_backoff_s = max_backoff_s

    @classmethod
    async def load(cls, metrics: WorkerMetrics) -> LocalScorer:
        """The configured engine and the topics file of ``TAPEWATCH_TOPICS_PATH`` (its examples
        embedded), loaded in the child; the event loop is not held up meanwhile."""
        process = EngineProcess(
            on_restart=metrics.pipeline.model_restarts.inc, call_timeout_s=ModelSettings().call_timeout_s
        )
        await process.start()
        metrics.watch_model_process(lambda: process.pid)
        metrics.pipeline.model_up.set(1)  # the model is this worker's own: loaded means up
        return cls(process, metrics)

    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]:
        """Labels, however long the model process takes to come back (``ModelUnavailable`` only once it
        is closed, at shutdown)."""
        delay = 0.5
        while True:
            started = time.perf_counter()
            try:
                results = await self.process.call(engine_process.classify, list(texts), entities)
            except ModelUnavailable as exc:
                if self.process.closed:
                    raise
                self.metrics.pipeline.model_up.set(0)
                self.metrics.pipeline.model_retries.inc()
                log.error("the model process is unavailable, retrying in %.1f s: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(self.max_backoff_s, delay * 2)
                continue
            self.metrics.pipeline.model_up.set(1)
            self.metrics.model.batch_size.observe(len(texts))
            self.metrics.model.batch_latency.observe(time.perf_counter() - started)
            return results

    async def explain(self, texts: Sequence[str]) -> list[Explanation]:
        return await self.process.call(engine_process.explain, list(texts))

    async def close(self) -> None:
        self.process.close()


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
