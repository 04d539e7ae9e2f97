"""Consumer lag of the worker's group: committed offsets against the end of each partition.

Measured from outside the Faust consumer, the way Kafka lag exporters do (an admin client for the
group's committed offsets, a group-less reader for the end offsets, taken from a fetch because the
listed end is not exact on every broker), so it counts what a crash
would redeliver: everything read but not yet acknowledged, and everything not read yet.
"""

from __future__ import annotations

import logging

from kafka import TopicPartition

from common.topic_reader import TopicReader
from stream.settings import StreamSettings
from stream.topics import GroupOffsets

log = logging.getLogger(__name__)


class GroupLag:
    def __init__(self, settings: StreamSettings, topics: list[str]) -> None:
        self.settings = settings
        self.topics = topics
        self._group: GroupOffsets | None = None
        self._ends: list[TopicReader] = []
        self._warned = False

    def measure(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> messages at or past the group's committed offset; {} if unknown."""
        try:
            if self._group is None:
                self._group = GroupOffsets(self.settings, "tapewatch-lag")
            if len(self._ends) < len(self.topics) or not all(reader.exists for reader in self._ends):
                for reader in self._ends:  # a topic not created yet: look again
                    reader.close()
                servers = self.settings.bootstrap_servers
                self._ends = [TopicReader(servers, topic, "tapewatch-lag") for topic in self.topics]
            ends = {
                TopicPartition(reader.topic, partition): end
                for reader in self._ends
                for partition, end in reader.fetched_ends().items()
            }
            if not ends:
                return {}
            committed = self._group.committed(list(ends))
        except Exception as exc:  # a metric must never stop the worker
            if not self._warned:
                log.warning("consumer lag unavailable (retrying quietly): %s: %s", type(exc).__name__, exc)
                self._warned = True
            self.close()
            return {}
        return {(tp.topic, tp.partition): max(0, end - committed[tp]) for tp, end in ends.items()}

    def close(self) -> None:
        for client in (self._group, *self._ends):
            if client is not None:
                client.close()
        self._group, self._ends = None, []
