"""Pipeline throughput: documents/s through broker + Faust + model against the bare model, in one run,
and ingest-to-scored latency (p50/p99) at half the pipeline's throughput; what entity sentiment and a
20-topic topics file (``TAPEWATCH_TOPICS_PATH``) cost.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import time as dt_time
from pathlib import Path

import yaml

from common.processes import free_port
from common.records import Document, ScoredDocument, decode_record
from common.topic_reader import TopicReader
from model_service.engine import InferenceEngine
from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.pacing import at_rate, send_paced
from stream.ingest.producer import DocumentProducer
from stream.ingest.synthetic import MarketDay, headline
from stream.ingest.synthetic_templates import TEMPLATES
from stream.settings import StreamSettings
from stream.topics import TopicNames, ensure_topics

DOCUMENTS = 3000
LATENCY_SECONDS = 30
TOPIC_EXAMPLES = 8


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


def run() -> dict[str, float]:
    documents = list(
        MarketDay(
            start=dt_time(9, 30), end=dt_time(16, 0), per_minute=60, syndicated_share=0.0, seed=5
        ).documents()
    )
    burst, paced = documents[:DOCUMENTS], documents[DOCUMENTS:]

    engine = InferenceEngine.load()
    texts = [d.text for d in burst]
    engine.classify(texts[:64])
    started = time.perf_counter()
    for i in range(0, len(texts), 32):
        engine.classify(texts[i : i + 32])
    bare = len(texts) / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        topics_path = twenty_topics(Path(tmp) / "topics.yml")
        matched = engine.classify(texts, topics=engine.topic_matcher(topics_path))
        topic_share = sum(r.user_topic is not None for r in matched) / len(matched)
        del engine
        without = StreamSettings(
            broker_url=broker.bootstrap,
            data_dir=Path(tmp) / "off",
            web_port=free_port(),
            app_id="bench-pipeline-off",
            topic_prefix="bench-off",
            entity_sentiment=False,
        )
        entities_off = burst_rate(without, burst, paced[:0])[0]
        settings = without.model_copy(
            update={"data_dir": Path(tmp) / "on", "app_id": "bench-pipeline", "topic_prefix": "bench"}
        )
        settings = settings.model_copy(update={"entity_sentiment": True, "web_port": free_port()})
        pipeline, rate, count = burst_rate(settings, burst, paced)
        # alternately without and with the topics file, twice each: the difference is a few percent,
        # about the spread between two runs
        plain, with_topics = [pipeline], list[float]()
        for run_number in range(2):
            for on in (True, False) if run_number == 0 else (False, True):
                name = f"{'topics' if on else 'plain'}-{run_number}"
                where = {"data_dir": Path(tmp) / name, "app_id": f"bench-{name}", "web_port": free_port()}
                variant = settings.model_copy(update={**where, "topic_prefix": f"bench-{name}"})
                env = {"TAPEWATCH_TOPICS_PATH": str(topics_path)} if on else {}
                (with_topics if on else plain).append(burst_rate(variant, burst, [], env)[0])
        wanted = {d.id for d in paced[:count]}
        latencies = []
        scored_topic = TopicNames(settings.topic_prefix).scored
        with TopicReader(settings.bootstrap_servers, scored_topic, "bench-latency") as reader:
            for record in reader.from_start().records():
                scored = decode_record(ScoredDocument, record.value)
                if scored.document.id in wanted:
                    latencies.append((scored.scored_at - scored.document.received_at).total_seconds())
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "bare_per_s": bare,
        "pipeline_per_s": pipeline,
        "ratio": pipeline / bare,
        "entities_off_per_s": entities_off,
        "entity_cost": 1 - pipeline / entities_off,
        "plain_per_s": statistics.mean(plain),
        "topics_per_s": statistics.mean(with_topics),
        "topics_cost": 1 - statistics.mean(with_topics) / statistics.mean(plain),
        "topic_share": topic_share,
        "rate": rate,
        "latency_docs": len(latencies),
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def burst_rate(
    settings: StreamSettings, burst: list[Document], paced: list[Document], env: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Docs/s of one worker through a burst, then (if ``paced``) documents at half that rate, for
    latency: the burst rate, the paced rate and how many were paced."""
    ensure_topics(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rate, count = 0.0, 0
    with WorkerProcess(settings, settings.data_dir / "worker.log", loglevel="warn", env=env) as worker:
        worker.wait_ready(180)
        with DocumentProducer(settings) as producer:
            send_paced(producer, burst[:64], None, progress=False)  # warm-up: model and connections
            while worker.documents_done() < 64:
                time.sleep(0.1)
            started = time.perf_counter()
            send_paced(producer, burst[64:], None, description="pipeline burst")
            while worker.documents_done() < len(burst):
                time.sleep(0.05)
            pipeline = (len(burst) - 64) / (time.perf_counter() - started)
            if paced:
                rate = pipeline / 2
                count = min(len(paced), int(rate * LATENCY_SECONDS))
                send_paced(
                    producer, paced[:count], at_rate(rate), description=f"latency at {rate:.0f} docs/s"
                )
                while worker.documents_done() < len(burst) + count:
                    time.sleep(0.1)
    return pipeline, rate, count


def markdown(result: dict[str, float]) -> str:
    return (
        "Synthetic documents; the worker runs the in-process model (default backend) on the same 2 cores\n"
        "as the broker and the producer. Bare model: the same engine, batches of 32, no broker.\n\n"
        "| what | value |\n| --- | ---: |\n"
        f"| bare model | {result['bare_per_s']:,.1f} docs/s |\n"
        f"| pipeline (raw topic -> classify -> scored topic) | {result['pipeline_per_s']:,.1f} docs/s |\n"
        f"| pipeline / bare model | **{result['ratio']:.2f}** (target 0.70) |\n"
        f"| pipeline with entity sentiment off (`TAPEWATCH_ENTITY_SENTIMENT=false`) "
        f"| {result['entities_off_per_s']:,.1f} docs/s |\n"
        f"| cost of entity sentiment (1 - on / off) | **{result['entity_cost']:.1%}** "
        "(target at most 15%) |\n"
        f"| pipeline without / with a 20-topic topics file (mean of 3 / 2 runs, alternated) "
        f"| {result['plain_per_s']:,.1f} / {result['topics_per_s']:,.1f} docs/s |\n"
        f"| cost of the topics file (1 - with / without; {result['topic_share']:.0%} of the documents get a "
        f"topic) | **{result['topics_cost']:.1%}** (target at most 5%) |\n"
        f"| ingest-to-scored latency at {result['rate']:.0f} docs/s, p50 | {result['p50_ms']:,.0f} ms |\n"
        f"| ingest-to-scored latency at {result['rate']:.0f} docs/s, p99 | {result['p99_ms']:,.0f} ms |\n"
        f"\nLatency = scored_at - received_at of {result['latency_docs']:.0f} documents "
        "sent at a steady rate.\n"
    )
