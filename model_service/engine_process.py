"""The inference engine in a child process of its own, for a worker whose event loop must not share a GIL
with the model.

In a thread beside a busy event loop the model ran at two thirds of its speed: tokenizing, reading the
outputs and every return from ONNX Runtime need the GIL, which the loop's agents held most of the
time. A process is scheduled by the operating system instead. It is spawned (CUDA does not survive a
fork), loads the configured engine and topics file once, exits when its parent does, and is started
again, with the call retried once, if it dies. A call is bounded (``TAPEWATCH_MODEL_CALL_TIMEOUT_S``):
a child that hangs (stopped, swapping, deadlocked) is killed and started again. When it cannot answer
even so (it dies again, will not load, hangs again), the call raises ``ModelUnavailable``: the fault
is ours, not the documents', and the caller waits and tries again (``stream.pipeline.scoring``). The
child ignores SIGINT and SIGTERM, which a terminal or a supervisor sends to the whole process group:
the parent drains its work first, then stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from common.processes import available_cpus
from model_service.classification import Classification
from model_service.entity_spans import EntityQuery
from model_service.settings import ModelSettings

if TYPE_CHECKING:  # the engine (PyTorch, transformers) is imported by the child alone
    from model_service.engine import InferenceEngine
    from model_service.user_topics import TopicSource

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

PARENT_CHECK_S = 1.0


class ModelUnavailable(RuntimeError):
    """The model process could not answer: it died and would not start again, or hung past the bound."""


# The child's own state: one engine per process, made by ``load`` (module globals, as a function sent
# to a process pool can only reach what its module holds).
_loaded: dict[str, tuple[InferenceEngine, TopicSource | None]] = {}


def _watch(parent: int, log_level: int) -> None:
    """In the child: exit once the parent is gone, so a SIGKILLed worker leaves no orphan holding a model;
    leave Ctrl-C and SIGTERM (sent to the whole process group) to the parent, which stops it; log at the
    parent's level to the same stderr (a spawned process starts with logging unset: warnings only).

    The process keeps the parent's priority: at a lower one (as a thread beside the event loop had) it
    lost the CPU to the broker and the loop whenever they ran, and the pipeline, which waits on the
    model, went 6% slower; the two now share the cores as the system shares them."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the parent drains first, then closes the pool
    logging.basicConfig(level=log_level, format="[%(asctime)s] [model process] [%(levelname)s] %(message)s")

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def load() -> int:
    """In the child: the configured engine and topics file (``TAPEWATCH_MODEL_*``, ``TAPEWATCH_TOPICS_PATH``,
    inherited from the parent's environment). Returns the child's pid.

    Unless ``TAPEWATCH_MODEL_THREADS`` says otherwise, inference takes all cores but one: on two, one
    thread does the work of two with a quarter less CPU (2.8 against 3.7 ms a tweet), which the event
    loop beside it needs (the p99 latency at 176 docs/s: 196 ms, against 225-259 with two)."""
    if "engine" not in _loaded:
        from model_service.engine import InferenceEngine

        settings = ModelSettings()
        if not settings.threads:  # all cores but the one the worker's event loop needs
            settings = settings.model_copy(update={"threads": max(1, available_cpus() - 1)})
        engine = InferenceEngine.load(settings, beside_event_loop=True)
        topics = None
        if settings.topics_path is not None:
            topics = engine.topic_source(settings.topics_path, settings.topics_check_s)
        _loaded["engine"] = (engine, topics)
    return os.getpid()


def classify(texts: list[str], entities: Sequence[Sequence[EntityQuery]] | None) -> list[Classification]:
    """In the child: labels (and the user topic, with a topics file) for each text."""
    engine, topics = _loaded["engine"]
    matcher = topics.current(time.monotonic()) if topics is not None else None
    return engine.classify(texts, entities=entities, topics=matcher)


def explain(texts: list[str]) -> list[list[tuple[str, float]]]:
    """In the child: the tokens behind each text's sentiment."""
    engine, _ = _loaded["engine"]
    return [result.explanation or [] for result in engine.classify(texts, explain=True)]


class EngineProcess:
    """The engine in one child process. ``start`` loads it there; ``call`` runs a function of this module
    there, starting the process again if it died or hung; ``close`` is final."""

    def __init__(
        self, on_restart: Callable[[], None] | None = None, call_timeout_s: float | None = None
    ) -> None:
        self.on_restart = on_restart
        self.call_timeout_s = call_timeout_s
        self.pid: int | None = None
        self.closed = False
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        async with self._starting:
            if self.closed:
                raise ModelUnavailable("the model process was closed")
            if self._pool is None:
                await self._spawn()

    async def _spawn(self) -> None:
        """A process with the engine loaded; a model that cannot load raises here, as in the parent."""
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch,
            initargs=(os.getpid(), logging.getLogger().getEffectiveLevel()),
        )
        try:
            self.pid = await asyncio.get_running_loop().run_in_executor(pool, load)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        self._pool = pool

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``function(*args, **kwargs)`` in the child; once more in a new child if it died or hung, then
        ``ModelUnavailable``. An exception the function raises is raised here as it is."""
        try:
            await self.start()  # a process that could not start again before: try once more
        except ModelUnavailable:
            raise
        except Exception as exc:
            raise ModelUnavailable(f"the model process would not start: {exc}") from exc
        task = functools.partial(function, *args, **kwargs)  # pickled: a function of this module
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:  # closed meanwhile
                raise ModelUnavailable("the model process was closed")
            try:
                return await asyncio.wait_for(
                    asyncio.get_running_loop().run_in_executor(pool, task), self.call_timeout_s
                )
            except BrokenProcessPool:
                if self.closed:  # stopped by ``close``, at shutdown
                    raise ModelUnavailable("the model process was closed") from None
                why = f"the model process (pid {self.pid}) died"
            except TimeoutError:
                why = f"the model process (pid {self.pid}) gave no answer in {self.call_timeout_s:g} s"
                self._kill()
            log.error("%s: starting it again", why)
            try:
                await self._restart(pool)
            except Exception as exc:
                raise ModelUnavailable(f"{why}, and would not start again: {exc}") from exc
            if attempt == 2:
                break
        raise ModelUnavailable(f"{why}, twice in a row")

    async def _restart(self, broken: ProcessPoolExecutor) -> None:
        """A new process, unless a concurrent call has already made one in place of ``broken``."""
        async with self._starting:
            if self.closed:
                raise ModelUnavailable("the model process was closed")
            if self._pool is not broken and self._pool is not None:
                return
            self._pool = None
            broken.shutdown(wait=False, cancel_futures=True)
            if self.on_restart is not None:
                self.on_restart()
            await self._spawn()

    def _kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Final: the child is stopped (killed if it does not answer), and no call starts another."""
        self.closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self._kill()
