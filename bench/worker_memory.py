"""Worker memory over an endless thin stream: the sparse profile ten times over (1,200 days), sent at full
speed to one real worker in ten parts; after each part has been finished, the worker's resident memory,
its model's process included.
Flat means the windows, horizons, detector keys, duplicate tables and entity keys are all bounded.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.outcome import GroupProgress, SentRecords, wait_until_finished
from stream.ingest.producer import DocumentProducer
from stream.ingest.sparse import SparseFeed
from stream.settings import StreamSettings
from stream.topics import TopicNames, ensure_topics

PROFILE_DAYS = 120  # the sparse profile's default length
TIMES = 10
PARTS = 10
MIB = 1024 * 1024


def run(days: int = PROFILE_DAYS * TIMES) -> dict[str, object]:
    feed = SparseFeed(seed=11, days=days)
    documents = list(feed.documents())
    size = -(-len(documents) // PARTS)
    with tempfile.TemporaryDirectory(prefix="tapewatch-bench-memory-") as tmp, EmbeddedBroker() as broker:
        settings = StreamSettings(
            broker_url=broker.bootstrap, app_id="bench-memory", topic_prefix="benchmem",
            data_dir=Path(tmp) / "run", archive_dir=Path(tmp) / "archive", pseudonym_key="bench",
        )  # fmt: skip
        ensure_topics(settings)
        rss: list[float] = []  # the worker and its model's process
        model: list[float] = []  # of it, the model's process
        started = time.perf_counter()
        with WorkerProcess(settings, Path(tmp) / "worker.log", loglevel="warn") as worker:
            worker.wait_ready(180)
            measure(worker, rss, model)
            sent = SentRecords()
            progress = GroupProgress(settings, TopicNames(settings.topic_prefix).raw)
            try:
                with DocumentProducer(settings, sent=sent) as producer:
                    for part in range(PARTS):
                        for document in documents[part * size : (part + 1) * size]:
                            producer.send(document)
                        producer.flush()
                        done = wait_until_finished(progress, sent, 900, False, lambda: time.sleep(0.5))
                        if done < sent.count:
                            raise TimeoutError(f"the worker finished {done} of {sent.count} documents")
                        measure(worker, rss, model)
                        print(
                            f"part {part + 1}/{PARTS}: {sent.count} documents, RSS {rss[-1]:.0f} MiB",
                            flush=True,
                        )
            finally:
                progress.close()
            keys = worker.total("tapewatch_detector_keys")
    seconds = time.perf_counter() - started
    return {
        "documents": len(documents), "days": days, "rss_mib": rss, "model_mib": model, "seconds": seconds,
        "keys": keys,
    }  # fmt: skip


def measure(worker: WorkerProcess, rss: list[float], model: list[float]) -> None:
    """The worker's resident memory and its model process's (``tapewatch_model_process_*``)."""
    model.append(worker.total("tapewatch_model_process_resident_memory_bytes") / MIB)
    rss.append(worker.total("process_resident_memory_bytes") / MIB + model[-1])


def markdown(result: dict[str, object]) -> str:
    rss, model = result["rss_mib"], result["model_mib"]
    assert isinstance(rss, list) and isinstance(model, list)
    rows = "".join(
        f"| {'started' if i == 0 else f'{i * 10}%'} | {value:,.0f} MiB | {of_model:,.0f} MiB |\n"
        for i, (value, of_model) in enumerate(zip(rss, model, strict=True))
    )
    half = len(rss) // 2
    return (
        f"One worker, the sparse profile {TIMES} times over: {result['documents']:,} documents over "
        f"{result['days']:,} days, sent at full speed in {PARTS} parts; resident memory once each part is "
        f"finished ({result['seconds']:.0f} s in all). Second half of the stream (50% to 100%): "
        f"**{rss[-1] - rss[half]:+.0f} MiB**; first half: {rss[half] - rss[0]:+.0f} MiB (the model's "
        "process starting, caches filling: the model's, the allocator's, the 1-day horizons'). "
        f"Keys in the detector's horizons at the end: {result['keys']:,.0f} (bound per partition: "
        "`TAPEWATCH_ALERT_MAX_KEYS`, 10,000).\n\n"
        "| stream done | worker RSS (its model's process included) | of it the model's process |\n"
        "| ---: | ---: | ---: |\n" + rows
    )


if __name__ == "__main__":
    print(markdown(run()))
