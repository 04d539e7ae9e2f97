"""Typed settings of the stream component, read from ``TAPEWATCH_*`` environment variables.

Defaults run the embedded stack: a broker on loopback, one worker, state under ``.tapewatch/``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StreamSettings(BaseSettings):
    """Everything a stream worker or an ingest command needs to know."""

    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_", extra="ignore")

    broker_url: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]")
    app_id: str = Field("tapewatch", description="Faust application id; also the consumer group")
    topic_prefix: str = Field("tapewatch", description="Namespace of every topic (replays use another)")
    topic_partitions: int = Field(4, ge=1)
    data_dir: Path = Field(Path(".tapewatch"), description="Worker state, archive and logs")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=0, le=65535, description="Worker HTTP port: /metrics, /ingest")

    # Group membership: Faust's defaults (60 s session and rebalance) make a lone worker wait
    # many seconds to join on the embedded broker; these values let it consume within ~5 s.
    session_timeout_s: float = Field(6.0, gt=0)
    heartbeat_interval_s: float = Field(1.0, gt=0)
    rebalance_timeout_s: float = Field(6.0, gt=0)

    max_document_bytes: int = Field(
        1_000_000, gt=0, description="Raw payloads above this go to the dead-letter topic"
    )
    max_message_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Largest record producers may send (so oversize input is seen)"
    )

    @property
    def bootstrap_servers(self) -> list[str]:
        return [server.strip() for server in self.broker_url.split(",") if server.strip()]
