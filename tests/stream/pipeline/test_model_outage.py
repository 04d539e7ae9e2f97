"""A worker outlives its model process: an outage of ours costs time, never documents.

A history file streams through a real worker (broker, model process, archive) while its model process
cannot come back for a while (SIGKILLed with a model that will not load, until the test restores it),
hangs past the call bound (SIGSTOP), or gets the SIGTERM a supervisor sends the whole process group.
Each time: no dead letter, every document archived once, ``tapewatch_model_up`` telling the truth, and
the windows equal to a replay of the archive.
"""

from __future__ import annotations

import os
import signal
from datetime import time
from pathlib import Path

import pytest

from model_service.artifact import packaged_artifact_dir
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.synthetic import MarketDay
from stream.topics import TopicNames
from tests.helpers import (
    archived,
    child_processes,
    latest_windows,
    process_gone,
    read_topic,
    replayed_windows,
    send_documents,
    wait_until,
    wait_until_drained,
)

pytestmark = pytest.mark.integration

# 1,200 documents with no two alike (exact duplicates only), a few seconds of the model's work
DAY = MarketDay(start=time(14, 0), end=time(14, 10), per_minute=120, seed=5, syndicated_share=0.0)
LONG_DAY = MarketDay(start=time(14, 0), end=time(14, 30), per_minute=200, seed=5, syndicated_share=0.0)


def model_process(worker: WorkerProcess) -> int:
    """The worker's model process: its child that multiprocessing spawned (not the resource tracker)."""
    assert worker.process is not None
    for pid in child_processes(worker.process.pid):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command:
            return pid
    raise AssertionError(f"no model process among {child_processes(worker.process.pid)}")


def started(
    make_settings, tmp_path: Path, env: dict[str, str], day: MarketDay = DAY
) -> tuple[WorkerProcess, list]:
    settings = make_settings(idle_close_s=3, archive_flush_s=1, dedupe_max_distance=0)
    documents = list(day.documents())
    worker = WorkerProcess(settings, tmp_path / "worker.log", env=env).start()
    worker.wait_ready(180)
    send_documents(settings, documents)
    wait_until(lambda: archived(settings), 120, "part of the stream to be archived")
    return worker, documents


def nothing_lost(worker: WorkerProcess, documents: list) -> None:
    settings = worker.settings
    wait_until_drained(settings, 300)
    ids = [row["id"] for row in archived(settings)]
    assert len(ids) == len(set(ids)) and set(ids) == {d.id for d in documents}, "a document was lost"
    assert read_topic(settings.broker_url, TopicNames(settings.topic_prefix).deadletter) == []
    assert latest_windows(settings) == replayed_windows(settings)


def test_a_model_process_that_cannot_come_back_for_a_while_stalls_scoring_and_loses_nothing(
    make_settings, tmp_path: Path
) -> None:
    artifact = tmp_path / "artifact"
    artifact.symlink_to(packaged_artifact_dir(), target_is_directory=True)
    worker, documents = started(make_settings, tmp_path, {"TAPEWATCH_MODEL_ARTIFACT_DIR": str(artifact)})
    try:
        artifact.unlink()  # a bad deploy: the model will not load again
        os.kill(model_process(worker), signal.SIGKILL)
        wait_until(lambda: worker.total("tapewatch_model_retries_total") >= 3, 120, "three failed retries")
        assert worker.total("tapewatch_model_up") == 0 and worker.alive()
        assert len(archived(worker.settings)) < len(documents), "the outage must come mid-stream"
        artifact.symlink_to(packaged_artifact_dir(), target_is_directory=True)  # fixed
        nothing_lost(worker, documents)
        assert worker.total("tapewatch_model_up") == 1
    finally:
        worker.stop()


def test_a_hung_model_process_is_killed_after_the_call_bound_and_nothing_is_lost(
    make_settings, tmp_path: Path
) -> None:
    worker, documents = started(make_settings, tmp_path, {"TAPEWATCH_MODEL_CALL_TIMEOUT_S": "5"})
    hung = model_process(worker)
    try:
        os.kill(hung, signal.SIGSTOP)
        wait_until(lambda: worker.total("tapewatch_model_process_restarts_total") >= 1, 120, "a restart")
        wait_until(lambda: process_gone(hung), 30, "the hung model process to be killed")
        nothing_lost(worker, documents)
    finally:
        worker.stop()
        if not process_gone(hung):  # a stopped process cannot watch its parent: never leave it behind
            os.kill(hung, signal.SIGKILL)


def test_sigterm_to_the_process_group_drains_and_a_new_worker_finishes_the_stream(
    make_settings, tmp_path: Path
) -> None:
    """A supervisor stops a worker by SIGTERM to its process group, model process included: the worker
    exits cleanly without the model dying under it, and the next worker finishes the stream with nothing
    lost. (The code before passed this too: Faust cancels the agents at once, so no call was in flight
    when the model died; that the model process now outlives the signal is checked in
    ``tests/model_service/test_engine_process.py``.)"""
    worker, documents = started(make_settings, tmp_path, {}, LONG_DAY)  # scoring while it stops
    try:
        assert worker.process is not None
        model = model_process(worker)
        os.killpg(worker.process.pid, signal.SIGTERM)
        assert worker.process.wait(60) == 0, worker.log_tail()
        log = worker.log_path.read_text("utf-8", "replace")
        assert "died" not in log and "unavailable" not in log, "the model went down before the worker"
        wait_until(lambda: process_gone(model), 30, "the model process to stop with its worker")
        assert len(archived(worker.settings)) < len(documents), "the stop must come mid-stream"
        worker = WorkerProcess(worker.settings, tmp_path / "worker-again.log").start()
        worker.wait_ready(180)
        nothing_lost(worker, documents)
    finally:
        worker.stop()
