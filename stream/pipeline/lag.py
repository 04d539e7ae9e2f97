"""Consumer lag of the worker's group: committed offsets against the end of each partition.

Measured from outside the Faust consumer, the way Kafka lag exporters do (an admin client for the
group's committed offsets, a group-less consumer for the end offsets), so it counts what a crash
would redeliver: everything read but not yet acknowledged, and everything not read yet.
"""

from __future__ import annotations

import logging

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from stream.settings import StreamSettings

log = logging.getLogger(__name__)


class GroupLag:
    def __init__(self, settings: StreamSettings, topics: list[str]) -> None:
        self.settings = settings
        self.topics = topics
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None
        self._warned = False

    def measure(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> messages at or past the group's committed offset; {} if unknown."""
        try:
            if self._admin is None or self._consumer is None:
                servers = self.settings.bootstrap_servers
                self._admin = KafkaAdminClient(bootstrap_servers=servers, client_id="tapewatch-lag")
                self._consumer = KafkaConsumer(
                    bootstrap_servers=servers, group_id=None, client_id="tapewatch-lag"
                )
            partitions = [
                TopicPartition(topic, p)
                for topic in self.topics
                for p in sorted(self._consumer.partitions_for_topic(topic) or ())
            ]
            if not partitions:
                return {}
            ends = self._consumer.end_offsets(partitions)
            group = self.settings.app_id
            committed = self._admin.list_group_offsets({group: partitions}).get(group, {})
        except Exception as exc:  # a metric must never stop the worker
            if not self._warned:
                log.warning("consumer lag unavailable (retrying quietly): %s: %s", type(exc).__name__, exc)
                self._warned = True
            self.close()
            return {}
        lag = {}
        for tp in partitions:
            done = committed.get(tp)
            offset = done.offset if done is not None and done.offset >= 0 else 0
            lag[(tp.topic, tp.partition)] = max(0, ends[tp] - offset)
        return lag

    def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                client.close()
        self._admin = self._consumer = None
