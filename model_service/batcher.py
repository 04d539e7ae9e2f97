"""Dynamic batching: requests from many callers coalesce into one forward pass.

A batch closes at ``max_batch_size`` texts or ``max_wait_ms`` after its first request, whichever
comes first. The next batch is collected while the current one runs. The queue is bounded:
when full, ``submit`` raises ``Overloaded`` at once instead of letting callers hang. The batcher
also keeps the time a batch takes, so a server can tell (``expected_wait``) whether a request can
be answered within its deadline before queueing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry

from model_service.admission import BatchCost
from model_service.metrics import ModelMetrics

R = TypeVar("R")
T = TypeVar("T")


INFERENCE_NICENESS = 10


def yield_to_the_event_loop() -> None:
    """Lower this thread's CPU priority (Linux: per thread), and so that of the threads it starts (the
    ONNX Runtime and torch pools): inference still takes every idle cycle, but the event loop that
    answers and refuses requests runs first when both want the CPU."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), INFERENCE_NICENESS)


def inference_thread(name: str) -> ThreadPoolExecutor:
    """One thread for inference, at the lower priority of ``yield_to_the_event_loop``."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=yield_to_the_event_loop)


class Overloaded(RuntimeError):
    """The batcher's queue is full; the caller should retry later."""


@dataclass
class _Request(Generic[T, R]):
    texts: list[T]
    explain: list[bool]
    future: asyncio.Future[list[R]] = field(repr=False)


class DynamicBatcher(Generic[T, R]):
    """Coalesces ``submit`` calls into calls of ``run(texts, explain)`` on one worker thread.

    A text is whatever ``run`` reads (``T``): a string, or a string with the entities to read in it.
    """

    def __init__(
        self,
        run: Callable[[list[T], list[bool]], Sequence[R]],
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 2048,
        metrics: ModelMetrics | None = None,
    ) -> None:
        self.metrics = metrics or ModelMetrics.create(CollectorRegistry())
        self.run = run
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        self.max_queue = max_queue
        self.queued = 0
        self._requests: asyncio.Queue[_Request[T, R]] = asyncio.Queue()
        self._ready: asyncio.Queue[list[_Request[T, R]]] = asyncio.Queue(maxsize=1)
        self._carry: _Request[T, R] | None = None
        self._executor = inference_thread("tapewatch-infer")
        self._tasks: list[asyncio.Task[None]] = []
        self.cost = BatchCost()
        self._running: tuple[float, float] | None = None  # when the batch running now began, its cost

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._collect()), asyncio.create_task(self._execute())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._executor.shutdown(wait=False, cancel_futures=True)

    def expected_wait(self, texts: int) -> float:
        """Seconds until ``texts`` more texts would be answered: the rest of the batch running now, the
        batches queued ahead and their own. 0 until a batch has been timed (the first are let in)."""
        if not self.cost.known:
            return 0.0
        full, rest = divmod(self.queued + texts, self.max_batch_size)
        running = 0.0
        if self._running is not None:
            began, cost = self._running
            running = max(0.0, cost - (time.perf_counter() - began))
        return (
            running + full * self.cost.seconds(self.max_batch_size) + self.cost.seconds(rest) + self.max_wait
        )

    async def submit(self, texts: Sequence[T], explain: Sequence[bool] | bool = False) -> list[R]:
        """Results for ``texts`` in order, once their batch has run."""
        if not texts:
            return []
        if self.queued + len(texts) > self.max_queue:
            self.metrics.overloaded.inc()
            raise Overloaded(f"{self.queued} texts are waiting (limit {self.max_queue}); retry shortly")
        flags = [explain] * len(texts) if isinstance(explain, bool) else list(explain)
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self.queued += len(texts)
        self.metrics.queue_depth.set(self.queued)
        await self._requests.put(_Request(list(texts), flags, future))
        return await future

    async def _next_request(self, timeout: float | None) -> _Request[T, R] | None:
        if self._carry is not None:
            request, self._carry = self._carry, None
            return request
        if timeout is None:
            return await self._requests.get()
        if timeout <= 0:  # past the deadline: take only what is already waiting
            try:
                return self._requests.get_nowait()
            except asyncio.QueueEmpty:
                return None
        try:
            return await asyncio.wait_for(self._requests.get(), timeout)
        except TimeoutError:
            return None

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next_request(None)
            assert first is not None
            batch, size = [first], len(first.texts)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch_size:
                request = await self._next_request(max(0.0, deadline - loop.time()))
                if request is None:
                    break
                if size + len(request.texts) > self.max_batch_size:
                    self._carry = request
                    break
                batch.append(request)
                size += len(request.texts)
            await self._ready.put(batch)

    async def _execute(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._ready.get()
            texts = [text for request in batch for text in request.texts]
            explain = [flag for request in batch for flag in request.explain]
            self.queued -= len(texts)
            self.metrics.queue_depth.set(self.queued)
            self.metrics.batch_size.observe(len(texts))
            started = time.perf_counter()
            self._running = (started, self.cost.seconds(len(texts)))
            try:
                results = await loop.run_in_executor(self._executor, self.run, texts, explain)
            except Exception as exc:  # the callers get the error; the batcher keeps running
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                continue
            finally:
                self._running = None
                seconds = time.perf_counter() - started
                self.metrics.batch_latency.observe(seconds)
                self.cost.add(len(texts), seconds)
            offset = 0
            for request in batch:
                count = len(request.texts)
                if not request.future.done():
                    request.future.set_result(list(results[offset : offset + count]))
                offset += count
