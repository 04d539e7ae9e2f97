"""The Faust application factory: configuration, topics, web pages and agents of one worker."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from stream.agents.classify import add_classify_agent
from stream.metrics import exposition
from stream.settings import StreamSettings
from stream.topics import declare_topics


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
        "producer_max_request_size": settings.max_message_bytes,
        "web_enabled": True,
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
    }


def add_metrics_page(app: faust.App) -> None:
    @app.page("/metrics")
    async def metrics(self: View, request: Request) -> Response:
        body, content_type = exposition()
        # aiohttp refuses a charset inside content_type=, so the full type goes in as a header.
        return self.bytes(body, headers={"Content-Type": content_type})


def create_app(settings: StreamSettings | None = None) -> faust.App:
    """A worker app with every agent of the pipeline registered."""
    settings = settings or StreamSettings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.app_id, **faust_config(settings))
    topics = declare_topics(app, settings)
    add_metrics_page(app)
    add_classify_agent(app, topics, settings)
    return app


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the Faust worker in the foreground until SIGINT/SIGTERM."""
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
