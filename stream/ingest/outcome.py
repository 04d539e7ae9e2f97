"""What became of the documents an ingest sent: scored, repeats, dead letters, late.

The producer keeps where each sent record landed (a bit per raw-topic offset, so a million documents
cost a few hundred kilobytes). The worker group's committed offsets then say when every one of them
is finished, and the scored, dead-letter and late topics, read from when sending began, say what
became of each. Repeats are what is finished and on none of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from kafka import TopicPartition
from tqdm import tqdm

from common.records import InvalidRecord, Rejected, ScoredDocument, WindowEntry, WireRecord, decode_record
from common.topic_reader import TopicReader
from stream.settings import StreamSettings
from stream.topics import GroupOffsets, TopicNames


class SentRecords:
    """The raw-topic positions of the records one ingest sent."""

    def __init__(self) -> None:
        self.count = 0
        self._first: dict[int, int] = {}
        self._bits: dict[int, bytearray] = {}

    def add(self, partition: int, offset: int) -> None:
        base = offset - offset % 8  # bitmaps start at a multiple of 8, so an earlier one prepends bytes
        first = self._first.setdefault(partition, base)
        if base < first:
            self._bits[partition] = bytearray((first - base) // 8) + self._bits[partition]
            self._first[partition] = first = base
        bits = self._bits.setdefault(partition, bytearray())
        index = offset - first
        if index // 8 >= len(bits):
            bits.extend(bytearray(index // 8 - len(bits) + 1))
        if not bits[index // 8] >> (index % 8) & 1:
            bits[index // 8] |= 1 << (index % 8)
            self.count += 1

    def __contains__(self, position: tuple[int | None, int | None]) -> bool:
        partition, offset = position
        if partition not in self._first or offset is None:
            return False
        index = offset - self._first[partition]
        bits = self._bits[partition]
        return 0 <= index < len(bits) * 8 and bool(bits[index // 8] >> (index % 8) & 1)

    def below(self, partition: int, offset: int) -> int:
        """How many sent records of ``partition`` come before ``offset``."""
        if partition not in self._first:
            return 0
        index = max(0, offset - self._first[partition])
        bits = self._bits[partition]
        whole = int.from_bytes(bits[: index // 8], "little").bit_count()
        part = bits[index // 8] & ((1 << (index % 8)) - 1) if index // 8 < len(bits) else 0
        return whole + part.bit_count()

    def partitions(self) -> list[int]:
        return sorted(self._first)


@dataclass
class IngestSummary:
    sent: int
    finished: int = 0
    scored: int = 0
    deadletters: int = 0
    late: int = 0
    aggregated: bool = True  # False: the windows were still being counted, so late may grow

    @property
    def duplicates(self) -> int:
        return max(0, self.finished - self.scored - self.deadletters)

    def line(self) -> str:
        waiting = self.sent - self.finished
        tail = f"; {waiting} not finished yet (is a worker running?)" if waiting else ""
        late = f"{self.late}" if self.aggregated else f"at least {self.late} (windows still being counted)"
        return (
            f"sent {self.sent}, scored {self.scored}, duplicates {self.duplicates}, "
            f"dead letters {self.deadletters}, late {late}{tail}"
        )


class GroupProgress:
    """The worker group's committed offsets on one topic, by partition number."""

    def __init__(self, settings: StreamSettings, topic: str) -> None:
        self.topic = topic
        self.offsets = GroupOffsets(settings, "tapewatch-ingest")

    def committed(self, partitions: list[int]) -> dict[int, int]:
        found = self.offsets.committed([TopicPartition(self.topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in found.items()}

    def close(self) -> None:
        self.offsets.close()


def wait_until_finished(
    progress: GroupProgress, sent: SentRecords, timeout_s: float, show: bool, tick: Callable[[], None]
) -> int:
    """Block until the group committed every sent record, or nothing moved for ``timeout_s``."""
    partitions = sent.partitions()

    def done() -> int:
        committed = progress.committed(partitions)
        return sum(sent.below(p, committed[p]) for p in partitions)

    return _follow(done, sent.count, "classified", timeout_s, show, tick)


def _follow(done: Callable[[], int], total: int, what: str, timeout_s: float, show: bool,
            tick: Callable[[], None]) -> int:  # fmt: skip
    """Poll ``done`` with a progress bar until it reaches ``total`` or stops moving for ``timeout_s``."""
    reached, moved = 0, time.monotonic()
    with tqdm(total=total, unit="record", desc=what, disable=not show) as bar:
        while reached < total and time.monotonic() - moved < timeout_s:
            now = min(total, done())
            if now > reached:
                bar.update(now - reached)
                reached, moved = now, time.monotonic()
            if reached < total:
                tick()
    return reached


def follow(
    settings: StreamSettings,
    sent: SentRecords,
    since: datetime,
    timeout_s: float = 120.0,
    show: bool = True,
    tick: Callable[[], None] = lambda: time.sleep(0.5),
) -> IngestSummary:
    """Wait for the workers to finish what was sent, then count what became of it."""
    names = TopicNames(settings.topic_prefix)
    summary = IngestSummary(sent=sent.count, aggregated=False)
    raw = GroupProgress(settings, names.raw)
    try:
        summary.finished = wait_until_finished(raw, sent, timeout_s, show, tick)
    finally:
        raw.close()
    if summary.finished == summary.sent:  # then let aggregate take in what classify published
        keyed = GroupProgress(settings, names.keyed)
        try:
            with TopicReader(settings.bootstrap_servers, names.keyed, "tapewatch-ingest") as reader:
                targets = reader.fetched_ends()
            before = keyed.committed(sorted(targets))
            total = sum(max(0, end - before[p]) for p, end in targets.items())

            def aggregated() -> int:
                committed = keyed.committed(sorted(targets))
                return sum(min(committed[p], end) - before[p] for p, end in targets.items())

            summary.aggregated = _follow(aggregated, total, "aggregated", timeout_s, show, tick) >= total
        finally:
            keyed.close()
    start = since - timedelta(seconds=1)
    scored = _records(settings, names.scored, ScoredDocument, start)
    summary.scored = len({(d.lane, d.offset) for d in scored if (d.lane, d.offset) in sent})
    rejected = _records(settings, names.deadletter, Rejected, start)
    summary.deadletters = sum(
        r.source_topic == names.raw and (r.partition, r.offset) in sent for r in rejected
    )
    late = _records(settings, names.late, WindowEntry, start)
    summary.late = len({(e.lane, e.offset) for e in late if (e.lane, e.offset) in sent})
    return summary


R = TypeVar("R", bound=WireRecord)


def _records(settings: StreamSettings, topic: str, kind: type[R], since: datetime) -> list[R]:
    found: list[R] = []
    with TopicReader(settings.bootstrap_servers, topic, "tapewatch-ingest") as reader:
        for record in reader.from_time(since).records():
            try:
                found.append(decode_record(kind, record.value))
            except InvalidRecord:
                continue
    return found
