"""The engine in a child process (the worker's model): the same labels as in this process, started again
when it dies, gone when its parent is."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from common.processes import available_cpus
from model_service import engine_process
from model_service.artifact import ArtifactError
from model_service.engine import InferenceEngine
from model_service.engine_process import EngineProcess, ModelUnavailable
from tests.helpers import process_gone, wait_until

TEXTS = ["Oil prices collapse as the supply glut deepens", "$AAPL beats estimates, shares jump 5%"]


@pytest.fixture
def child_settings(onnx_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child reads its settings from the environment, as a worker's does: the session's ONNX export."""
    monkeypatch.setenv("TAPEWATCH_MODEL_CACHE_DIR", str(onnx_cache))


def test_labels_are_the_engines_and_a_dead_process_is_started_again(
    child_settings: None, default_engine: InferenceEngine
) -> None:
    restarts: list[int] = []

    async def scenario() -> tuple[list, list, int | None, int | None]:
        process = EngineProcess(on_restart=lambda: restarts.append(1))
        try:
            first = await process.call(engine_process.classify, TEXTS, None)
            killed = process.pid
            assert killed is not None and killed != os.getpid()
            os.kill(killed, signal.SIGKILL)
            again = await process.call(engine_process.classify, TEXTS, None)
            return first, again, killed, process.pid
        finally:
            process.close()

    first, again, killed, now = asyncio.run(scenario())
    expected = default_engine.classify(TEXTS)
    for results in (first, again):
        assert [r.sentiment for r in results] == [r.sentiment for r in expected]
        assert [r.topic for r in results] == [r.topic for r in expected]
        assert [r.sentiment_score for r in results] == pytest.approx([r.sentiment_score for r in expected])
    assert restarts == [1]
    assert now is not None and now != killed


def test_the_model_process_exits_with_its_parent(child_settings: None) -> None:
    """A SIGKILLed worker cannot close its pool: the child notices its parent is gone and exits."""
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "import asyncio, sys\n"
            "from model_service.engine_process import EngineProcess\n"
            "async def main():\n"
            "    process = EngineProcess()\n"
            "    await process.start()\n"
            "    print(process.pid, flush=True)\n"
            "    await asyncio.to_thread(sys.stdin.read)\n"
            "asyncio.run(main())\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not process_gone(child)
        parent.kill()
        parent.wait()
        wait_until(lambda: process_gone(child), 30, f"the model process {child} to exit after its parent")
    finally:
        parent.kill()


def test_a_model_that_cannot_load_is_an_error_at_start(
    onnx_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As it was with the model in the worker's own process: the agent fails with the model's reason."""
    monkeypatch.setenv("TAPEWATCH_MODEL_CACHE_DIR", str(onnx_cache))
    monkeypatch.setenv("TAPEWATCH_MODEL_ARTIFACT_DIR", str(tmp_path))  # empty: not an artifact

    async def start() -> EngineProcess:
        process = EngineProcess()
        await process.start()
        return process

    with pytest.raises(ArtifactError, match="not a tapewatch model artifact"):
        asyncio.run(start())


def test_a_hung_model_process_is_killed_and_started_again_within_the_call_bound(child_settings: None) -> None:
    """SIGSTOP stands for a child that hangs (swapping, deadlocked): the call does not wait forever."""
    restarts: list[int] = []

    async def scenario() -> tuple[list, int | None, int | None]:
        process = EngineProcess(on_restart=lambda: restarts.append(1), call_timeout_s=3)
        try:
            await process.start()
            stopped = process.pid
            assert stopped is not None
            os.kill(stopped, signal.SIGSTOP)
            results = await process.call(engine_process.classify, TEXTS, None)
            return results, stopped, process.pid
        finally:
            process.close()

    results, stopped, now = asyncio.run(scenario())
    assert len(results) == len(TEXTS) and restarts == [1]
    assert now != stopped and process_gone(stopped)  # the hung one was killed, not left behind


def test_a_model_process_that_cannot_come_back_is_unavailable_until_it_can(
    child_settings: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It died, and the model will not load (a bad deploy, a full disk): each call says so with
    ``ModelUnavailable`` (the worker waits and retries: ``LocalScorer``), and once the model loads
    again the next call is answered. SIGTERM (to the process group) is left to the parent."""

    async def scenario() -> list:
        process = EngineProcess()
        try:
            await process.start()
            assert process.pid is not None
            before = process.pid
            os.kill(before, signal.SIGTERM)  # ignored: the parent drains, then stops it
            await process.call(engine_process.classify, TEXTS, None)
            assert process.pid == before and not process_gone(before)  # the same process answered
            monkeypatch.setenv("TAPEWATCH_MODEL_ARTIFACT_DIR", str(tmp_path))  # not an artifact
            os.kill(process.pid, signal.SIGKILL)
            for _ in range(2):
                with pytest.raises(ModelUnavailable, match=r"would not start.*not a tapewatch"):
                    await process.call(engine_process.classify, TEXTS, None)
            monkeypatch.delenv("TAPEWATCH_MODEL_ARTIFACT_DIR")
            return await process.call(engine_process.classify, TEXTS, None)
        finally:
            process.close()

    assert len(asyncio.run(scenario())) == len(TEXTS)


def test_close_is_final(child_settings: None) -> None:
    async def scenario() -> int | None:
        process = EngineProcess()
        await process.start()
        child = process.pid
        process.close()
        with pytest.raises(ModelUnavailable, match="closed"):
            await process.call(engine_process.classify, TEXTS, None)
        return child

    child = asyncio.run(scenario())
    assert child is not None
    wait_until(lambda: process_gone(child), 30, "the closed model process to exit")


def test_the_cpus_come_from_a_containers_quota(tmp_path: Path) -> None:
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")  # one and a half CPUs: two threads
    assert available_cpus(quota) == min(2, available_cpus(tmp_path / "none"))
    quota.write_text("max 100000\n")
    assert available_cpus(quota) == available_cpus(tmp_path / "none") >= 1
