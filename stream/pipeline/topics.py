"""The topics of the pipeline: names under one namespace, declared the same way everywhere."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import faust
from aiokafka.partitioner import murmur2
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from common.processes import accepts_connections
from common.records import Alert, Rejected, TrendPoint
from stream.settings import StreamSettings

log = logging.getLogger(__name__)


def default_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a record with this key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def keys_by_partition(keys: list[str], partitions: int) -> dict[int, list[str]]:
    """The keys grouped by the keyed partition each would have as a record's key."""
    grouped: dict[int, list[str]] = {}
    for key in keys:
        grouped.setdefault(default_partition(key.encode(), partitions), []).append(key)
    return grouped


@dataclass(frozen=True)
class TopicNames:
    """Topic names under a prefix; a replay uses another prefix to stay out of live data."""

    prefix: str

    @property
    def raw(self) -> str:
        return f"{self.prefix}.docs.raw"

    @property
    def scored(self) -> str:
        return f"{self.prefix}.docs.scored"

    @property
    def keyed(self) -> str:
        return f"{self.prefix}.docs.keyed"

    @property
    def late(self) -> str:
        return f"{self.prefix}.docs.late"

    @property
    def trends(self) -> str:
        return f"{self.prefix}.trends"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    def all(self) -> list[str]:
        return [self.raw, self.scored, self.keyed, self.late, self.trends, self.alerts, self.deadletter]


@dataclass(frozen=True)
class PipelineTopics:
    """The Faust topic objects of one pipeline namespace."""

    names: TopicNames
    raw: faust.TopicT
    scored: faust.TopicT
    keyed: faust.TopicT
    late: faust.TopicT
    trends: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT


RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


def declare_topics(app: faust.App, settings: StreamSettings) -> PipelineTopics:
    names = TopicNames(settings.topic_prefix)
    return PipelineTopics(
        names=names,
        # Raw bytes, so the worker itself decides what is malformed instead of Faust's deserializer.
        raw=app.topic(names.raw, **RAW),
        # Scored documents also arrive as bytes: consumers decode them and dead-letter what they cannot.
        scored=app.topic(names.scored, **RAW),
        # One record per window key of a document, keyed by that key, and the lanes' marks.
        keyed=app.topic(names.keyed, **RAW),
        # Window entries that came after their window was final: not counted, kept to be told.
        late=app.topic(names.late, **RAW),
        trends=app.topic(names.trends, value_type=TrendPoint),
        alerts=app.topic(names.alerts, value_type=Alert),
        deadletter=app.topic(names.deadletter, value_type=Rejected),
    )


class BrokerUnreachable(ConnectionError):
    """No bootstrap server accepts connections."""


def require_reachable(settings: StreamSettings) -> None:
    """Fail in about a second with the address when no broker listens (kafka-python waits ~30 s)."""
    for server in settings.bootstrap_servers:
        host, _, port = server.rpartition(":")
        if port.isdigit() and accepts_connections(host or "127.0.0.1", int(port)):
            return
    raise BrokerUnreachable(
        f"no Kafka broker at {settings.broker_url} "
        "(start one with `tapewatch broker`, or set TAPEWATCH_BROKER_URL)"
    )


def ensure_topics(settings: StreamSettings, names: list[str] | None = None) -> None:
    """Create the pipeline's topics if missing, so producers never depend on broker auto-creation."""
    require_reachable(settings)
    wanted = names or TopicNames(settings.topic_prefix).all()
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id="tapewatch-admin")
    try:
        missing = [name for name in wanted if name not in set(admin.list_topics())]
        if not missing:
            return
        specs = [NewTopic(name, settings.topic_partitions, 1) for name in missing]
        try:
            admin.create_topics(specs)
        except TopicAlreadyExistsError:
            log.debug("topics created concurrently: %s", missing)
    finally:
        admin.close()
