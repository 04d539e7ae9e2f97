"""Pipeline throughput: a history file of real tweets through broker + one worker (default settings) at
full speed, against the same texts through ``tapewatch classify``, in one run; ingest-to-scored latency
(p50/p99) at half the pipeline's rate; what entity sentiment and a 20-topic topics file cost.

The pipeline is timed twice: to the last document scored, and to the last window of the burst emitted
(the aggregation done too: after the burst, one document an hour later moves the watermark past it).
Progress is polled once a second and the ends are read from the records' own times, so the bench does
not load the worker it measures (a /metrics scrape with the detector's gauges costs it ~15 ms).

    python -m bench.pipeline_throughput [--documents N]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import yaml
from kafka import TopicPartition

from bench.real_feed import FEED, documents
from common.processes import free_port
from common.records import Document, ScoredDocument, decode_record
from common.topic_reader import TopicReader
from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.pacing import at_rate, send_paced
from stream.ingest.producer import DocumentProducer
from stream.ingest.synthetic import MarketDay, headline
from stream.ingest.synthetic_templates import TEMPLATES
from stream.settings import StreamSettings
from stream.topics import GroupOffsets, TopicNames, ensure_topics

DOCUMENTS = 20_000  # the real tweets the burst sends (after 64 to warm up)
WARM_UP = 64
LATENCY_SECONDS = 30
COST_DOCUMENTS = 3000  # synthetic headlines for the entity sentiment and topics file costs
TOPIC_EXAMPLES = 8
POLL_S = 1.0


def twenty_topics(path: Path) -> Path:
    """A topics file of 20 topics, one per trained topic, each with 8 headlines of the synthetic
    templates as examples: about the same things as the feed, so many documents get one (the costly
    case: each is counted under one more key)."""
    rng = random.Random(3)
    topics = []
    for name, by_sentiment in TEMPLATES.items():
        templates = [t for group in by_sentiment.values() for t in group]
        examples = [headline(rng, rng.choice(templates), "Acme", "ACME") for _ in range(TOPIC_EXAMPLES)]
        topics.append({"name": f"Mine: {name}", "examples": list(dict.fromkeys(examples))})
    path.write_text(yaml.safe_dump({"topics": topics}))
    return path


def classify_rate(texts: Sequence[str], directory: Path) -> float:
    """Docs/s of ``tapewatch classify`` on a CSV of ``texts``, model load and CSV included."""
    source, labeled = directory / "texts.csv", directory / "labeled.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([text] for text in texts)
    command = [
        sys.executable,
        "-m",
        "stream.cli",
        "classify",
        "--input",
        str(source),
        "--output",
        str(labeled),
    ]
    started = time.perf_counter()
    subprocess.run([*command, "--text-column", "text"], check=True, capture_output=True)
    return len(texts) / (time.perf_counter() - started)


def settings_for(broker: EmbeddedBroker, directory: Path, name: str, **overrides: object) -> StreamSettings:
    settings = StreamSettings(
        broker_url=broker.bootstrap,
        data_dir=directory / name,
        web_port=free_port(),
        app_id=f"bench-{name}",
        topic_prefix=f"bench-{name}",
        **overrides,  # type: ignore[arg-type]
    )
    ensure_topics(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def wait_done(worker: WorkerProcess, count: int) -> None:
    while worker.documents_done() < count:
        time.sleep(POLL_S)


def last_scored(settings: StreamSettings, ids: set[str]) -> list[ScoredDocument]:
    """The scored records of ``ids``."""
    topic = TopicNames(settings.topic_prefix).scored
    with TopicReader(settings.bootstrap_servers, topic, "bench-scored") as reader:
        found = [decode_record(ScoredDocument, r.value) for r in reader.from_start().records()]
    return [s for s in found if s.document.id in ids]


def windows_emitted_by(settings: StreamSettings, before: datetime) -> tuple[float, int]:
    """When (epoch seconds, the producer's record time) the last trend point of a window starting
    before ``before`` was written, and how many there are."""
    topic = TopicNames(settings.topic_prefix).trends
    latest, count = 0.0, 0
    with TopicReader(settings.bootstrap_servers, topic, "bench-trends") as reader:
        for record in reader.from_start().records():
            if datetime.fromisoformat(json.loads(record.value)["window_start"]) < before:
                latest, count = max(latest, record.timestamp / 1000), count + 1
    return latest, count


def wait_aggregated(settings: StreamSettings, offsets: dict[int, int]) -> None:
    """Until the worker group has committed ``offsets`` of the keyed topic (``aggregate`` acknowledges an
    entry once its windows are emitted); one admin client for the whole wait."""
    topic = TopicNames(settings.topic_prefix).keyed
    partitions = [TopicPartition(topic, p) for p in offsets]
    group = GroupOffsets(settings, "bench-pipeline")
    try:
        while any(group.committed(partitions)[tp] < offsets[tp.partition] for tp in partitions):
            time.sleep(POLL_S)
    finally:
        group.close()


def keyed_ends(settings: StreamSettings) -> dict[int, int]:
    topic = TopicNames(settings.topic_prefix).keyed
    with TopicReader(settings.bootstrap_servers, topic, "bench-ends") as reader:
        return reader.fetched_ends()


def pipeline_run(
    settings: StreamSettings, burst: list[Document], later: list[Document], log: Path
) -> dict[str, float]:
    """The burst at full speed (timed to the last document scored and to its last window emitted),
    then ``later`` documents at half the scored rate for latency."""
    with WorkerProcess(settings, log, loglevel="warn") as worker:
        worker.wait_ready(180)
        with DocumentProducer(settings) as producer:
            send_paced(producer, burst[:WARM_UP], None, progress=False)  # warm-up: model and connections
            wait_done(worker, WARM_UP)
            started = datetime.now(UTC)
            send_paced(producer, burst[WARM_UP:], None, description="pipeline burst")
            wait_done(worker, len(burst))
            # an hour later in event time: every window of the burst closes (final) once it is counted
            end_of_burst = burst[-1].published_at + timedelta(hours=1)
            sentinel = burst[-1].derive(
                id="bench-sentinel", title="End of the burst", published_at=end_of_burst
            )
            send_paced(producer, [sentinel], None, progress=False)
            wait_done(worker, len(burst) + 1)
            wait_aggregated(settings, keyed_ends(settings))
            # read back only now, so the bench's decoding does not take the CPU the worker aggregates with
            scored = last_scored(settings, {d.id for d in burst[WARM_UP:]})
            scored_s = (max(s.scored_at for s in scored) - started).total_seconds()
            emitted_at, windows = windows_emitted_by(settings, end_of_burst - timedelta(minutes=15))
            aggregated_s = emitted_at - started.timestamp()
            rate = (len(burst) - WARM_UP) / scored_s / 2
            paced = [d for d in later if d.published_at > end_of_burst]
            count = min(len(paced), int(rate * LATENCY_SECONDS))
            send_paced(producer, paced[:count], at_rate(rate), description=f"latency at {rate:.0f} docs/s")
            wait_done(worker, len(burst) + 1 + count)
    latencies = [
        (s.scored_at - s.document.received_at).total_seconds()
        for s in last_scored(settings, {d.id for d in paced[:count]})
    ]
    quantiles = statistics.quantiles(latencies, n=100)
    sent = len(burst) - WARM_UP
    return {
        "scored_per_s": sent / scored_s,
        "aggregated_per_s": sent / aggregated_s,
        "scored_documents": len(scored),
        "windows": windows,
        "rate": rate,
        "latency_docs": len(latencies),
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def burst_rate(settings: StreamSettings, burst: list[Document], log: Path, env: dict[str, str]) -> float:
    """Docs/s of one worker through a burst, to the last document scored."""
    with WorkerProcess(settings, log, loglevel="warn", env=env) as worker:
        worker.wait_ready(180)
        with DocumentProducer(settings) as producer:
            send_paced(producer, burst[:WARM_UP], None, progress=False)
            wait_done(worker, WARM_UP)
            started = datetime.now(UTC)
            send_paced(producer, burst[WARM_UP:], None, description=settings.app_id)
            wait_done(worker, len(burst))
    scored = last_scored(settings, {d.id for d in burst[WARM_UP:]})
    return (len(burst) - WARM_UP) / (max(s.scored_at for s in scored) - started).total_seconds()


def run(path: Path = FEED, count: int = DOCUMENTS) -> dict[str, float]:
    if not path.exists():
        raise SystemExit(f"{path} not found: the real feed lives in ../shared/data/real (see its README)")
    feed = list(itertools.islice(documents(path), count + WARM_UP + 20_000))
    burst, later = feed[: count + WARM_UP], feed[count + WARM_UP :]
    synthetic = list(
        MarketDay(
            start=dt_time(9, 30), end=dt_time(16, 0), per_minute=60, syndicated_share=0.0, seed=5
        ).documents()
    )[: COST_DOCUMENTS + WARM_UP]
    with tempfile.TemporaryDirectory(prefix="tapewatch-bench-") as tmp, EmbeddedBroker() as broker:
        directory = Path(tmp)
        reference = classify_rate([d.text for d in burst[WARM_UP:]], directory)
        pipeline = pipeline_run(
            settings_for(broker, directory, "pipeline"), burst, later, directory / "p.log"
        )
        topics_path = twenty_topics(directory / "topics.yml")
        costs: dict[str, list[float]] = {"entities-off": [], "plain": [], "topics": []}
        # alternated, as the differences are a few percent, about the spread between two runs
        for name in ("plain", "topics", "entities-off", "topics", "plain", "entities-off", "plain"):
            overrides = {"entity_sentiment": False} if name == "entities-off" else {}
            env = {"TAPEWATCH_TOPICS_PATH": str(topics_path)} if name == "topics" else {}
            run_name = f"{name}-{len(costs[name])}"
            settings = settings_for(broker, directory, run_name, **overrides)
            costs[name].append(burst_rate(settings, synthetic, directory / f"{run_name}.log", env))
    plain, topics, entities_off = (statistics.mean(costs[k]) for k in ("plain", "topics", "entities-off"))
    return {
        "documents": count,
        "classify_per_s": reference,
        **pipeline,
        "ratio_scored": pipeline["scored_per_s"] / reference,
        "ratio_aggregated": pipeline["aggregated_per_s"] / reference,
        "synthetic_per_s": plain,
        "entities_off_per_s": entities_off,
        "entity_cost": 1 - plain / entities_off,
        "topics_per_s": topics,
        "topics_cost": 1 - topics / plain,
    }


def markdown(result: dict[str, float]) -> str:
    return (
        f"{result['documents']:,.0f} real tweets (stocknet, `../shared/data/real`; 64 more to warm up), "
        "the same texts both ways, on the same 2 cores. `tapewatch classify`: the command as a user runs it "
        "(model load and CSV included). Pipeline: embedded broker, one worker with default settings "
        "(its own model process, entity sentiment on), the file sent at full speed.\n\n"
        "| what | value |\n| --- | ---: |\n"
        f"| `tapewatch classify --input tweets.csv` | {result['classify_per_s']:,.1f} docs/s |\n"
        f"| pipeline, to the last document scored | {result['scored_per_s']:,.1f} docs/s |\n"
        f"| pipeline / `tapewatch classify` | **{result['ratio_scored']:.2f}** (target 0.70) |\n"
        f"| pipeline, to the last window emitted ({result['windows']:,.0f} windows) "
        f"| {result['aggregated_per_s']:,.1f} docs/s ({result['ratio_aggregated']:.2f}) |\n"
        f"| ingest-to-scored latency at {result['rate']:.0f} docs/s, p50 | {result['p50_ms']:,.0f} ms |\n"
        f"| ingest-to-scored latency at {result['rate']:.0f} docs/s, p99 | **{result['p99_ms']:,.0f} ms** "
        "(target under 250) |\n"
        f"\nLatency = scored_at - received_at of {result['latency_docs']:.0f} later tweets sent at a steady "
        "rate.\n\n"
        f"Costs, on {COST_DOCUMENTS:,} synthetic headlines (dense: about one window per document; runs "
        "alternated, means of 3 / 2 / 2):\n\n"
        "| what | value |\n| --- | ---: |\n"
        f"| pipeline, synthetic headlines | {result['synthetic_per_s']:,.1f} docs/s |\n"
        f"| with entity sentiment off (`TAPEWATCH_ENTITY_SENTIMENT=false`) "
        f"| {result['entities_off_per_s']:,.1f} docs/s |\n"
        f"| cost of entity sentiment (1 - on / off) | **{result['entity_cost']:.1%}** "
        "(target at most 15%) |\n"
        f"| with a 20-topic topics file | {result['topics_per_s']:,.1f} docs/s |\n"
        f"| cost of the topics file (1 - with / without) | **{result['topics_cost']:.1%}** "
        "(target at most 5%) |\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=FEED)
    parser.add_argument("--documents", type=int, default=DOCUMENTS)
    args = parser.parse_args(argv)
    print(markdown(run(args.file, args.documents)))


if __name__ == "__main__":
    main()
