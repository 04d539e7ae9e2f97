"""Reading a whole topic without a consumer group: no group's committed offsets ever move.

Restart recovery reads the tail of the trends topic, replay a time range of the raw topic, the alerts
listener and the Grafana sync the alerts topic from its start (and then follow it), tests and the demo
whatever they check. They differ only in where they start and when they stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

log = logging.getLogger(__name__)

FETCH_BYTES = 16 * 1024 * 1024  # a partition fetch holds at least one record of the largest size we send


class TopicReader:
    """Every partition of ``topic`` (or those in ``partitions``), assigned at open; seek with a ``from_*``
    method, then ``records``.

    Without ``follow``, reading stops when each partition has reached its end (or has been finished by
    the caller). The end is the high watermark of the fetch responses: the broker's listed end offset
    is not exact on every broker (the embedded Tansu answers low), so it is trusted only for an empty
    partition, or for one that brought nothing in two polls. A poll may come back empty while records
    remain (a fetch slower than the poll, on a busy machine): only ``stall_s`` seconds without a record
    end the reading early.
    """

    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        topic: str,
        client_id: str,
        poll_ms: int = 500,
        partitions: Iterable[int] | None = None,
        stall_s: float = 30.0,
    ) -> None:
        self.topic = topic
        self.poll_ms = poll_ms
        self.stall_s = stall_s
        self.consumer = KafkaConsumer(
            bootstrap_servers=list(bootstrap_servers),
            group_id=None,
            enable_auto_commit=False,
            client_id=client_id,
            max_partition_fetch_bytes=FETCH_BYTES,
            fetch_max_wait_ms=min(100, poll_ms),
        )
        known = self.consumer.partitions_for_topic(topic) or set()
        wanted = known if partitions is None else known & set(partitions)
        self.partitions = [TopicPartition(topic, p) for p in sorted(wanted)]
        self.ends: dict[TopicPartition, int] = {}
        if self.partitions:
            self.consumer.assign(self.partitions)
            self.ends = self.consumer.end_offsets(self.partitions)
        self._reading = set(self.partitions)
        self._quiet_polls: dict[TopicPartition, int] = dict.fromkeys(self.partitions, 0)
        self._not_before_ms = 0  # records stamped earlier are skipped (set by from_time)

    @property
    def exists(self) -> bool:
        return bool(self.partitions)

    def from_start(self) -> TopicReader:
        if self.partitions:
            self.consumer.seek_to_beginning(*self.partitions)
        return self

    def from_tail(self, records: int) -> TopicReader:
        """The last ``records`` of each partition."""
        for tp in self.partitions:
            self.consumer.seek(tp, max(0, self.ends[tp] - records))
        return self

    def from_time(self, at: datetime) -> TopicReader:
        """Records stamped at or after ``at``; partitions without one are done.

        The broker's time index only finds a place to start (the embedded one's is coarse), so the
        records before ``at`` are also skipped one by one.
        """
        wanted = self._not_before_ms = int(at.timestamp() * 1000)
        found = (
            self.consumer.offsets_for_times(dict.fromkeys(self.partitions, wanted)) if self.partitions else {}
        )
        for tp in self.partitions:
            offset = found.get(tp)
            if offset is None:
                self.finish(tp)
            else:
                self.consumer.seek(tp, offset.offset)
        return self

    def fetched_ends(self, timeout_s: float = 5.0) -> dict[int, int]:
        """Each partition's end now. The listed end is not exact on every broker (the embedded Tansu's
        can be a batch short), so each partition is read from there to the high watermark of a fetch.
        Leaves the reader at those ends."""
        if self.partitions:
            self.ends = self.consumer.end_offsets(self.partitions)
        for tp in self.partitions:
            self.consumer.seek(tp, self.ends[tp])
        pending, deadline = set(self.partitions), time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            self.consumer.poll(timeout_ms=200)
            for tp in list(pending):
                highwater = self.consumer.highwater(tp)
                if highwater is not None and self.consumer.position(tp) >= highwater >= self.ends[tp]:
                    pending.discard(tp)
        return {tp.partition: max(self.ends[tp], self.consumer.position(tp)) for tp in self.partitions}

    def finish(self, tp: TopicPartition) -> None:
        """Read nothing more from this partition (a caller that has read past what it wants)."""
        self._reading.discard(tp)
        self.consumer.pause(tp)

    def poll(self) -> list[ConsumerRecord]:
        """What one poll brings, oldest first per partition, from the partitions still being read."""
        batches = self.consumer.poll(timeout_ms=self.poll_ms)
        for tp in self._quiet_polls:
            self._quiet_polls[tp] = 0 if batches.get(tp) else self._quiet_polls[tp] + 1
        return [
            record
            for tp, records in batches.items()
            if tp in self._reading
            for record in records
            if record.timestamp >= self._not_before_ms
        ]

    def records(self, follow: bool = False, stop: threading.Event | None = None) -> Iterator[ConsumerRecord]:
        """The records from where the reader was sought; with ``follow``, until ``stop`` is set."""
        stop = stop or threading.Event()
        if not follow:
            self._finish_read()
        last_record = time.monotonic()
        while (follow or self._reading) and not stop.is_set():
            batch = self.poll()
            for record in batch:
                tp = TopicPartition(record.topic, record.partition)
                if tp in self._reading:  # the caller may finish a partition part-way through a batch
                    yield record
            if follow:
                continue
            if batch:
                last_record = time.monotonic()
            elif time.monotonic() - last_record > self.stall_s:
                log.warning(
                    "%s: no record for %.0f s before the end; stopping early", self.topic, self.stall_s
                )
                return
            self._finish_read()

    def _finish_read(self) -> None:
        for tp in list(self._reading):
            position, highwater = self.consumer.position(tp), self.consumer.highwater(tp)
            if highwater is not None:
                done = position >= highwater
            else:
                done = position >= self.ends[tp] and (self.ends[tp] == 0 or self._quiet_polls[tp] >= 2)
            if done:
                self.finish(tp)

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
