"""The Faust application factory: configuration, topics, web pages and agents of one worker."""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.web import Request, Response, View

from common.http_guard import HttpLimits
from common.metrics import exposition
from model_service.settings import ModelSettings
from stream.pipeline.aggregate import add_aggregate_agent
from stream.pipeline.archiver import add_archive_agent
from stream.pipeline.classify import add_classify_agent
from stream.pipeline.ingest_page import add_ingest_page
from stream.pipeline.kafka_transport import tuned_transport
from stream.pipeline.lag import GroupLag
from stream.pipeline.metrics import PipelineMetrics, WorkerMetrics
from stream.pipeline.scoring import HttpScorer, LocalScorer, Scorer, check_topics_file
from stream.pipeline.topics import declare_topics
from stream.pipeline.web_limits import limit_web_server
from stream.prepare.preparer import DocumentPreparer
from stream.settings import StreamSettings


def faust_config(settings: StreamSettings) -> dict[str, Any]:
    """Faust settings derived from ours; group timings tuned so a lone worker joins in seconds."""
    return {
        "broker": [f"kafka://{server}" for server in settings.bootstrap_servers],
        "store": "memory://",
        "datadir": str(settings.data_dir.absolute() / "faust"),
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": 1,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.heartbeat_interval_s,
        "broker_rebalance_timeout": settings.rebalance_timeout_s,
        "consumer_auto_offset_reset": "earliest",
        # Agents ack only what is durable (aggregate holds acks until its windows close), so a
        # stopping worker must not wait for every event to be acked: the rest is redelivered.
        "stream_wait_empty": False,
        "producer_max_request_size": settings.max_message_bytes,
        # every document becomes a scored record and an entry per key: let them share requests
        "producer_linger": settings.producer_linger_ms / 1000,
        "web_enabled": True,
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
    }


def use_tuned_transport(app: faust.App, settings: StreamSettings) -> None:
    """Consumers with our fetch wait instead of Faust's fixed 1.5 s (see stream.pipeline.kafka_transport)."""
    transport = tuned_transport(settings.fetch_max_wait_ms)
    app.transport = transport(app.conf.broker_consumer, app)


def add_lag_metric(
    app: faust.App, settings: StreamSettings, topics: list[str], metrics: PipelineMetrics
) -> None:
    """The group's lag per input partition, every ``lag_interval_s`` seconds (off the event loop)."""
    lag = GroupLag(settings, topics)

    @app.timer(settings.lag_interval_s)
    async def measure_lag() -> None:
        for (topic, partition), messages in (await asyncio.to_thread(lag.measure)).items():
            metrics.consumer_lag.labels(topic=topic, partition=str(partition)).set(messages)


def add_metrics_page(app: faust.App, metrics: WorkerMetrics) -> None:
    @app.page("/metrics")
    async def serve_metrics(self: View, request: Request) -> Response:
        body, content_type = exposition(metrics.registry)
        # aiohttp refuses a charset inside content_type=, so the full type goes in as a header.
        return self.bytes(body, headers={"Content-Type": content_type})


def pseudonym_key(settings: StreamSettings) -> bytes:
    """The configured key, or one generated once per data directory (so pseudonyms are stable)."""
    if settings.pseudonym_key is not None:
        return settings.pseudonym_key.get_secret_value().encode()
    path = settings.data_dir / "pseudonym.key"
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


# Python's full collections scanned every object a worker holds: 1.6 million on the real feed at full
# speed, a second's pause each. What a worker keeps for long now holds few objects the collector walks
# (records encoded, windows' offsets only), and what is there once the model is loaded is frozen out,
# so young and full collections alike stay short (measured: under 50 ms young, under 200 ms full), and
# frequent short pauses hurt the latency less than rare long ones (Python's default is 700, 10, 10).
GC_THRESHOLDS = (10_000, 10, 100)


def settle_memory() -> None:
    """Once the model is ready (in its own process, or behind TAPEWATCH_MODEL_URL): what the worker holds
    now (its libraries, the app) is never garbage, so collections stop scanning it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def scorer_factory(settings: StreamSettings, metrics: WorkerMetrics) -> Callable[[], Awaitable[Scorer]]:
    """In-process engine by default; the model service when TAPEWATCH_MODEL_URL is set.

    Made once and shared: classify scores with it, aggregate asks it to explain alert evidence.
    """
    made: list[Scorer] = []
    lock = asyncio.Lock()

    async def make() -> Scorer:
        async with lock:
            if not made:
                if settings.model_url:
                    token = settings.model_token.get_secret_value() if settings.model_token else None
                    made.append(HttpScorer(settings.model_url, token, metrics))
                else:
                    made.append(await LocalScorer.load(metrics))
                settle_memory()
            return made[0]

    return make


def create_app(settings: StreamSettings | None = None, metrics: WorkerMetrics | None = None) -> faust.App:
    """A worker app with every agent of the pipeline registered, its metrics on one registry."""
    settings = settings or StreamSettings()
    metrics = metrics or WorkerMetrics.create()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.app_id, **faust_config(settings))
    use_tuned_transport(app, settings)
    topics = declare_topics(app, settings)
    add_metrics_page(app, metrics)
    add_lag_metric(
        app, settings, [topics.names.raw, topics.names.scored, topics.names.keyed], metrics.pipeline
    )
    limits = HttpLimits.load()
    limit_web_server(app, limits)
    add_ingest_page(app, topics, settings, metrics.pipeline, limits)
    preparer = DocumentPreparer.from_settings(settings, pseudonym_key(settings))
    check_topics_file(settings.model_url, ModelSettings().topics_path)
    scorer = scorer_factory(settings, metrics)
    add_classify_agent(app, topics, settings, preparer, scorer, metrics.pipeline)
    add_aggregate_agent(app, topics, settings, metrics, scorer)
    add_archive_agent(app, topics, settings, metrics.pipeline)
    return app


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the Faust worker in the foreground until SIGINT/SIGTERM."""
    worker = faust.Worker(app, loglevel=loglevel)
    # faust's terminal spinner sets the root logger to DEBUG, so every library debug line was formatted
    # on the event loop (a tenth of its time)
    worker.spinner = None
    worker.execute_from_commandline()
