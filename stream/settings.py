"""Typed settings of the stream component, read from ``TAPEWATCH_*`` environment variables.

Defaults run the embedded stack: a broker on loopback, one worker, state under ``.tapewatch/``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.auth import BearerToken
from common.settings import ComponentSettings


class StreamSettings(ComponentSettings):
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
    fetch_max_wait_ms: int = Field(100, ge=1, description="Longest a consumer fetch waits for records")
    lag_interval_s: float = Field(10.0, gt=0, description="How often the consumer lag metric is measured")
    session_timeout_s: float = Field(6.0, gt=0)
    heartbeat_interval_s: float = Field(1.0, gt=0)
    rebalance_timeout_s: float = Field(6.0, gt=0)

    max_document_bytes: int = Field(
        1_000_000, gt=0, description="Raw payloads above this go to the dead-letter topic"
    )
    producer_linger_ms: int = Field(
        5, ge=0, description="How long the worker's producer waits to fill a batch of records"
    )
    max_message_bytes: int = Field(
        16 * 1024 * 1024, gt=0, description="Largest record producers may send (so oversize input is seen)"
    )

    # HTTP ingest (POST /ingest on the worker)
    ingest_token: BearerToken = Field(None, description="Bearer token required by POST /ingest when set")
    max_ingest_bytes: int = Field(1_000_000, gt=0, description="Largest POST /ingest body")

    # classify
    model_url: str | None = Field(
        None, description="Model service URL; unset = the worker runs the model in a process of its own"
    )
    model_token: BearerToken = Field(None, description="Bearer token for the model service")
    max_batch: int = Field(
        256,
        ge=1,
        description="Most documents per classification batch (the model sorts a batch by length, so a large "
        "one wastes less on padding)",
    )
    max_wait_s: float = Field(0.1, gt=0, description="How long a batch waits to fill")
    max_text_chars: int = Field(2000, ge=16, description="Text is cut to this length before classification")
    dedupe_ttl_s: float = Field(
        6 * 3600, gt=0, description="How long a document is remembered for duplicates"
    )
    dedupe_max_entries: int = Field(200_000, ge=1)
    lane_memory_records: int = Field(
        20_000,
        ge=0,
        description="Scored records per partition read back when a worker takes a lane over (labels to "
        "reuse for records read again, the lane's duplicate table)",
    )
    dedupe_max_distance: int = Field(
        3, ge=0, le=16, description="SimHash bits two near-duplicates may differ by"
    )
    watchlist_path: Path | None = Field(
        None,
        description="YAML or JSON watchlist of entities (reread when it changes); default: the packaged one",
    )
    watchlist_check_s: float = Field(
        5.0, gt=0, description="How often the watchlist file is checked for changes"
    )
    max_entity_keys: int = Field(
        8, ge=0, description="Entity keys ($SYMBOL, entity:, name:) one document is counted under, at most"
    )
    entity_sentiment: bool = Field(
        True,
        description=(
            "Count entity keys with the sentiment toward the entity (one encoder pass per document); "
            "false: with the document's"
        ),
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key for author pseudonyms; default: per data dir"
    )

    # aggregate
    window_s: int = Field(60, ge=1, description="Tumbling window per topic and ticker")
    baseline_window_s: int = Field(900, ge=1, description="Longer window for dashboards")
    recovery_records: int = Field(
        20_000,
        ge=100,
        description="Trend points per keyed partition read back when a worker takes it over (the detector's "
        "horizons and baselines are rebuilt from them)",
    )
    grace_s: int = Field(30, ge=0, description="How late (event time) a document may arrive and still count")
    idle_close_s: float = Field(
        5.0, gt=0, description="Every lane idle this long: open windows are emitted early, to be amended"
    )
    max_future_s: float = Field(
        900.0,
        gt=0,
        description="How far after its receive time an event time may be (else future_timestamp); also how "
        "far past the wall clock a window may close",
    )
    lane_stale_s: float = Field(
        4.0, gt=0, description="A lane whose marks stop this long holds windows at its last mark"
    )
    mark_interval_s: float = Field(1.0, gt=0, description="How often classify marks each lane's progress")

    # archive
    archive_dir: Path | None = Field(None, description="Parquet archive; default: <data_dir>/archive")
    archive_flush_s: float = Field(5.0, gt=0)
    archive_batch: int = Field(2000, ge=1)

    @property
    def archive_root(self) -> Path:
        return self.archive_dir or self.data_dir / "archive"

    @property
    def bootstrap_servers(self) -> list[str]:
        return [server.strip() for server in self.broker_url.split(",") if server.strip()]
