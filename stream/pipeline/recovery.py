"""What a worker taking over a partition must know of what was published before it (after a crash or
a rebalance), read back from the topics themselves.

``aggregate``: the trends topic is the durable record of emitted windows, and trend points go to the
partition number of the keyed partition whose keys they count. Reading a partition's tail tells
which windows were emitted (final, or early and still open to amendment, with the offsets they
count up to), so records read again are known for repeats; fed to the spike monitor, the same tail
rebuilds the keys' baselines and which are firing. ``classify``: the scored topic's tail tells what
each lane published, with its labels. A record that cannot be read never stops an agent from
starting: an unreadable trend point is skipped and counted (``tapewatch_unreadable_records_total``),
an unreadable scored document is skipped here and dead-lettered by the ``archive`` agent (the scored
topic's one reader), an unreadable alert is skipped.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from common.records import Alert, InvalidRecord, ScoredDocument, TrendPoint, decode_record
from common.topic_reader import TopicReader
from stream.settings import StreamSettings

log = logging.getLogger(__name__)


@dataclass
class TrendsTail:
    points: list[TrendPoint] = field(default_factory=list)  # every revision, in window_end order
    skipped: Counter[str] = field(default_factory=Counter)  # unreadable records, by reason


def partition_tail(settings: StreamSettings, topic: str, partition: int) -> TopicReader:
    """A reader of the last ``recovery_records`` records of one partition."""
    reader = TopicReader(settings.bootstrap_servers, topic, "tapewatch-recovery", partitions={partition})
    return reader.from_tail(settings.recovery_records)


def read_partition_tail(settings: StreamSettings, topic: str, partition: int) -> TrendsTail:
    """The last ``recovery_records`` trend points of one partition: the windows of one keyed partition."""
    tail = TrendsTail()
    with partition_tail(settings, topic, partition) as reader:
        for record in reader.records():
            try:
                tail.points.append(decode_record(TrendPoint, record.value))
            except InvalidRecord as error:
                log.warning("skipping %s[%d]@%d: %s", topic, record.partition, record.offset, error)
                tail.skipped[error.reason.value] += 1
    tail.points.sort(key=lambda p: (p.window_end, p.key, p.revision))
    return tail


class Published(NamedTuple):
    """A record a lane published: decoded, and its bytes as they were sent (kept as they are)."""

    scored: ScoredDocument
    encoded: bytes


def read_published(settings: StreamSettings, topic: str, lanes: set[int]) -> dict[int, list[Published]]:
    """What ``lanes`` published before, from the tail of the scored topic, in raw-offset order per lane.

    A worker taking a lane over gives a record it reads again the labels it was published with (so it
    counts under the same keys), and rebuilds the lane's duplicate table from it.
    """
    published: dict[int, dict[int, Published]] = {lane: {} for lane in lanes}
    with TopicReader(settings.bootstrap_servers, topic, "tapewatch-lanes") as reader:
        for record in reader.from_tail(settings.lane_memory_records).records():
            try:
                scored = decode_record(ScoredDocument, record.value)
            except InvalidRecord:
                continue  # the archive agent dead-letters it
            if scored.lane in published and scored.offset is not None:
                published[scored.lane][scored.offset] = Published(scored, record.value)
    return {lane: [by_offset[o] for o in sorted(by_offset)] for lane, by_offset in published.items()}


def read_alert_ids(settings: StreamSettings, topic: str, partition: int) -> set[str]:
    """The ids of the alert events lately sent for one keyed partition's keys."""
    ids = set()
    with partition_tail(settings, topic, partition) as reader:
        for record in reader.records():
            try:
                ids.add(decode_record(Alert, record.value).id)
            except InvalidRecord:
                continue
    return ids
