"""Throughput with 1, 2 and 3 workers on one machine: the same burst of documents through the whole
pipeline (classify, aggregate, archive), from the moment every worker has its model loaded until the
group has finished every record. On 2 cores more workers cannot go faster; this shows the cost of
scale-out (rebalances, marks, the keyed topic), the answer being the same (tests/stream/pipeline/
test_scale_out.py).
"""

from __future__ import annotations

import tempfile
import time
from datetime import time as dt_time
from pathlib import Path

from common.processes import free_port
from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.outcome import GroupProgress, SentRecords, wait_until_finished
from stream.ingest.producer import DocumentProducer
from stream.ingest.synthetic import MarketDay
from stream.settings import StreamSettings
from stream.topics import TopicNames, ensure_topics

DOCUMENTS = 4000
WORKERS = (1, 2, 3)


def burst() -> list:
    day = MarketDay(start=dt_time(9, 30), end=dt_time(16, 0), per_minute=60, syndicated_share=0.0, seed=9)
    return list(day.documents())[:DOCUMENTS]


def one_run(broker: EmbeddedBroker, tmp: Path, workers: int, documents: list) -> float:
    """Documents per second through ``workers`` workers."""
    settings = StreamSettings(
        broker_url=broker.bootstrap, app_id=f"bench-scale-{workers}", topic_prefix=f"bench{workers}",
        data_dir=tmp / f"run-{workers}", archive_dir=tmp / f"archive-{workers}", pseudonym_key="bench",
    )  # fmt: skip
    ensure_topics(settings)
    group = [
        WorkerProcess(
            settings.model_copy(update={"web_port": free_port(), "data_dir": tmp / f"run-{workers}-{n}"}),
            tmp / f"worker-{workers}-{n}.log",
            loglevel="warn",
        ).start()
        for n in range(workers)
    ]
    try:
        for worker in group:
            worker.wait_ready(180)
        deadline = time.monotonic() + 180
        while not all(w.total("tapewatch_model_up") == 1 for w in group):
            if time.monotonic() > deadline:
                raise TimeoutError("the workers did not load the model")
            time.sleep(0.5)
        sent = SentRecords()
        started = time.perf_counter()
        with DocumentProducer(settings, sent=sent) as producer:
            for document in documents:
                producer.send(document)
        progress = GroupProgress(settings, TopicNames(settings.topic_prefix).raw)
        try:
            finished = wait_until_finished(progress, sent, 300, False, lambda: time.sleep(0.2))
        finally:
            progress.close()
        elapsed = time.perf_counter() - started
        if finished < sent.count:
            raise TimeoutError(f"{workers} workers finished {finished} of {sent.count} documents")
        return sent.count / elapsed
    finally:
        for worker in group:
            worker.stop()


def run() -> dict[int, float]:
    documents = burst()
    with tempfile.TemporaryDirectory(prefix="tapewatch-bench-scale-") as tmp, EmbeddedBroker() as broker:
        return {workers: one_run(broker, Path(tmp), workers, documents) for workers in WORKERS}


def markdown(result: dict[int, float]) -> str:
    rows = "".join(
        f"| {workers} | {rate:,.0f} docs/s | {rate / result[1]:.2f} |\n" for workers, rate in result.items()
    )
    return (
        f"A burst of {DOCUMENTS:,} synthetic documents through the whole pipeline (each worker's own "
        "model, default backend), timed from the moment every worker has its model loaded until the group "
        "has finished every record. All workers share the same 2 cores with the broker, so more workers "
        "cannot be faster here; the figures show what scale-out costs, and the scale-out tests show it "
        "gives the same windows and alerts.\n\n"
        "| workers | throughput | vs 1 worker |\n| ---: | ---: | ---: |\n" + rows
    )


if __name__ == "__main__":
    print(markdown(run()))
