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


class ReadStalled(TimeoutError):
    """The broker gave no fetch response or record for a partition still being read."""


class TopicReader:
    """Every partition of ``topic`` (or those in ``partitions``), assigned at open; seek with a ``from_*``
    method, then ``records``.

    Without ``follow``, reading stops when each partition has reached its end (or has been finished by
    the caller). The end is the high watermark a fetch response gives (every response carries it, with
    records or without): the broker's listed end offset is not exact on every broker (the embedded
    Tansu answers low), and an empty poll says nothing (a fetch slower than the poll, on a busy
    machine). So a partition is read until a fetch has said where its end is, and no guess ends it:
    ``stall_s`` seconds without a fetch response or a record is an error (``ReadStalled``), never a
    short read.
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

    def fetched_ends(self, timeout_s: float = 30.0) -> dict[int, int]:
        """Each partition's end now: read from the listed end (not exact on every broker: the embedded
        Tansu's can be a batch short) to the high watermark of a fetch. Leaves the reader at those
        ends; ``ReadStalled`` if a partition gets no fetch response in ``timeout_s``."""
        if self.partitions:
            self.ends = self.consumer.end_offsets(self.partitions)
        for tp in self.partitions:
            self.consumer.seek(tp, self.ends[tp])
        pending, deadline = set(self.partitions), time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise ReadStalled(
                    f"{self.topic}: no fetch response in {timeout_s:.0f} s for {self._where(pending)}"
                )
            self.consumer.poll(timeout_ms=200)
            for tp in list(pending):
                highwater = self.consumer.highwater(tp)
                if highwater is not None and self.consumer.position(tp) >= highwater:
                    pending.discard(tp)
        return {tp.partition: self.consumer.position(tp) for tp in self.partitions}

    def finish(self, tp: TopicPartition) -> None:
        """Read nothing more from this partition (a caller that has read past what it wants)."""
        self._reading.discard(tp)
        self.consumer.pause(tp)

    def poll(self) -> list[ConsumerRecord]:
        """What one poll brings, oldest first per partition, from the partitions still being read."""
        batches = self.consumer.poll(timeout_ms=self.poll_ms)
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
        progress = time.monotonic()
        while (follow or self._reading) and not stop.is_set():
            before = self._known()
            batch = self.poll()
            for record in batch:
                tp = TopicPartition(record.topic, record.partition)
                if tp in self._reading:  # the caller may finish a partition part-way through a batch
                    yield record
            if follow:
                continue
            if batch or self._known() != before:
                progress = time.monotonic()
            elif time.monotonic() - progress > self.stall_s:
                raise ReadStalled(
                    f"{self.topic}: nothing fetched in {self.stall_s:.0f} s; {self._where(self._reading)}"
                )
            self._finish_read()

    def _known(self) -> dict[TopicPartition, tuple[int | None, int]]:
        """Where each partition being read is, and its end as far as a fetch has said."""
        return {tp: (self.consumer.highwater(tp), self.consumer.position(tp)) for tp in self._reading}

    def _where(self, partitions: Iterable[TopicPartition]) -> str:
        return ", ".join(
            f"partition {tp.partition} at {self.consumer.position(tp)}, end {self.consumer.highwater(tp)}"
            for tp in sorted(partitions)
        )

    def _finish_read(self) -> None:
        """Finish each partition a fetch has shown to be read to its end."""
        for tp in list(self._reading):
            highwater = self.consumer.highwater(tp)
            if highwater is not None and self.consumer.position(tp) >= highwater:
                self.finish(tp)

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
