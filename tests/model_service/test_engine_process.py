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

from model_service import engine_process
from model_service.artifact import ArtifactError
from model_service.engine import InferenceEngine
from model_service.engine_process import EngineProcess
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
