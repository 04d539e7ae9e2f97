"""HTTP mode: the model service being down stalls scoring with retries, loses nothing, and resumes."""

from __future__ import annotations

import sys
from datetime import time

import pytest

from common.processes import free_port, spawn, terminate
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.synthetic import MarketDay
from tests.helpers import archived, send_documents, wait_until

pytestmark = pytest.mark.integration


def test_scoring_waits_for_the_model_service_and_then_catches_up(make_settings, tmp_path) -> None:
    model_port = free_port()
    settings = make_settings(model_url=f"http://127.0.0.1:{model_port}", archive_flush_s=1)
    documents = list(
        MarketDay(start=time(10, 0), end=time(10, 3), per_minute=20, syndicated_share=0.0).documents()
    )
    send_documents(settings, documents)

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready(120)

        def retries() -> float:
            return worker.total("tapewatch_model_retries_total")

        wait_until(lambda: retries() >= 2, 60, "the worker to retry the unreachable model service")
        assert worker.metrics()[("tapewatch_model_up", frozenset())] == 0
        assert archived(settings) == []  # nothing was scored, nothing skipped
        assert worker.alive()

        log = (tmp_path / "model.log").open("wb")
        server = spawn(
            [sys.executable, "-m", "stream.cli", "serve-model"],
            env={"TAPEWATCH_MODEL_PORT": str(model_port), "TAPEWATCH_MODEL_BACKEND": "torch"},
            output=log,
        )
        try:
            wait_until(
                lambda: len(archived(settings)) == len(documents), 180, "scoring to resume and catch up"
            )
        finally:
            terminate(server)
            log.close()
        assert sorted(r["id"] for r in archived(settings)) == sorted(d.id for d in documents)
        assert worker.metrics()[("tapewatch_model_up", frozenset())] == 1
