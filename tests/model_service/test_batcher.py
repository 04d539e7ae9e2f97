"""The dynamic batcher's logic, with a plain function standing in for the model's forward pass."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from model_service.batcher import INFERENCE_NICENESS, DynamicBatcher, Overloaded
from model_service.metrics import ModelMetrics


class RecordingRun:
    """Upper-cases texts and records the batches it was called with."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.gate = gate
        self.started = threading.Event()  # set when a batch reaches the model

    def __call__(self, texts: list[str], explain: list[bool]) -> list[str]:
        self.started.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append(list(texts))
        return [t.upper() + ("!" if e else "") for t, e in zip(texts, explain, strict=True)]


async def with_batcher(run: RecordingRun, coro_factory, **kwargs):
    batcher = DynamicBatcher(run, **kwargs)
    await batcher.start()
    try:
        return await coro_factory(batcher)
    finally:
        await batcher.stop()


def test_concurrent_requests_coalesce_into_few_bounded_batches(registry) -> None:
    run = RecordingRun()

    async def scenario(batcher: DynamicBatcher) -> list[list[str]]:
        return await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(64)))

    metrics = ModelMetrics.create(registry)
    results = asyncio.run(with_batcher(run, scenario, max_batch_size=16, max_wait_ms=50, metrics=metrics))
    assert results == [[f"T{i}"] for i in range(64)]
    assert all(len(batch) <= 16 for batch in run.batches)
    assert len(run.batches) <= 6  # 64 texts in batches of up to 16, not 64 forward passes
    assert registry.get_sample_value("tapewatch_model_batch_size_count") == len(run.batches)
    assert registry.get_sample_value("tapewatch_model_batch_size_sum") == 64
    assert registry.get_sample_value("tapewatch_model_queue_depth") == 0


def test_a_lone_request_runs_after_max_wait_and_keeps_order_and_flags() -> None:
    run = RecordingRun()

    async def scenario(batcher: DynamicBatcher) -> list[str]:
        return await batcher.submit(["a", "b", "c"], explain=[False, True, False])

    assert asyncio.run(with_batcher(run, scenario, max_batch_size=32, max_wait_ms=1)) == ["A", "B!", "C"]
    assert run.batches == [["a", "b", "c"]]


def test_full_queue_answers_overloaded_at_once(registry) -> None:
    gate = threading.Event()
    run = RecordingRun(gate)

    async def scenario(batcher: DynamicBatcher) -> None:
        first = asyncio.create_task(batcher.submit(["x"] * 4))
        await asyncio.sleep(0)
        with pytest.raises(Overloaded, match="limit 6"):
            await batcher.submit(["y"] * 3)
        gate.set()
        assert await first == ["X"] * 4

    metrics = ModelMetrics.create(registry)
    asyncio.run(with_batcher(run, scenario, max_batch_size=4, max_wait_ms=1, max_queue=6, metrics=metrics))
    assert registry.get_sample_value("tapewatch_model_overloaded_total") == 1


def test_an_error_reaches_its_callers_and_the_batcher_keeps_serving() -> None:
    calls = []

    def flaky(texts: list[str], explain: list[bool]) -> list[str]:
        calls.append(texts)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return texts

    async def scenario(batcher: DynamicBatcher) -> list[str]:
        with pytest.raises(RuntimeError, match="boom"):
            await batcher.submit(["a"])
        return await batcher.submit(["b"])

    assert asyncio.run(with_batcher(flaky, scenario, max_wait_ms=1)) == ["b"]


def test_the_expected_wait_counts_the_batches_ahead(registry) -> None:
    gate = threading.Event()
    run = RecordingRun(gate)

    async def scenario(batcher: DynamicBatcher) -> tuple[float, float, float]:
        idle = batcher.expected_wait(1)  # nothing timed yet: let in
        batcher.cost.add(4, 0.1)  # as if a full batch of 4 had taken 0.1 s
        first = asyncio.create_task(batcher.submit(["x"] * 4))
        queued = [asyncio.create_task(batcher.submit(["y"] * 4)) for _ in range(2)]
        # the first batch has reached the model (held there by the gate); the two others wait
        assert await asyncio.to_thread(run.started.wait, 30)
        busy = batcher.expected_wait(1)
        gate.set()
        await asyncio.gather(first, *queued)
        return idle, busy, batcher.expected_wait(1)

    idle, busy, after = asyncio.run(
        with_batcher(run, scenario, max_batch_size=4, max_wait_ms=1, max_queue=64)
    )
    assert idle == 0
    # the running batch (up to 0.1 s left), two full batches ahead (0.2 s), its own (0.025 s), the fill wait
    assert 0.2 + 0.025 < busy <= 0.1 + 0.2 + 0.025 + 0.001 + 1e-9
    assert after < busy


def test_inference_runs_below_the_event_loop_priority() -> None:
    """So that refusals and answers are not queued behind a busy forward pass for the CPU."""

    def niceness(texts: list[str], explain: list[bool]) -> list[int]:
        return [os.getpriority(os.PRIO_PROCESS, threading.get_native_id())] * len(texts)

    async def scenario(batcher: DynamicBatcher) -> list[int]:
        return await batcher.submit(["a"])

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    [inference] = asyncio.run(with_batcher(niceness, scenario))
    assert inference >= INFERENCE_NICENESS > before
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
