"""The pipeline's topics seen from outside a worker: their names under one namespace, their creation,
and how far the worker group has read them. Sources, the worker, replay and tests all use these."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from common.processes import accepts_connections
from stream.settings import StreamSettings

log = logging.getLogger(__name__)


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


class GroupOffsets:
    """The worker group's committed offsets, read with an admin client (without joining the group)."""

    def __init__(self, settings: StreamSettings, client_id: str) -> None:
        self.group = settings.app_id
        self.admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id=client_id)

    def committed(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset the group will read per partition; 0 where it has committed nothing."""
        found = self.admin.list_group_offsets({self.group: partitions}).get(self.group, {})
        return {tp: max(0, found[tp].offset) if tp in found else 0 for tp in partitions}

    def close(self) -> None:
        self.admin.close()
