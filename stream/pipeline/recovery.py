"""What a restarted ``aggregate`` agent must know: which windows it already emitted.

The trends topic is the durable record of closed windows. Reading its tail tells, per window size,
the end of the last window emitted; events redelivered after a crash that belong before it were
already counted and must not open the window again. The same tail, fed to the spike monitor,
rebuilds the detector's baselines and which keys are firing. A record that cannot be read is
skipped and counted, so it can never stop the agent from starting.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from common.records import InvalidRecord, TrendPoint, decode_record
from common.topic_reader import TopicReader
from stream.settings import StreamSettings

log = logging.getLogger(__name__)

TAIL_RECORDS = 5000  # per partition: many minutes of windows for every key


@dataclass
class TrendsTail:
    emitted_until: dict[int, datetime] = field(default_factory=dict)  # window size (s) -> latest end
    points: list[TrendPoint] = field(default_factory=list)  # in window_end order
    skipped: Counter[str] = field(default_factory=Counter)  # unreadable records, by reason


def read_trends_tail(settings: StreamSettings, topic: str) -> TrendsTail:
    """The last ``TAIL_RECORDS`` trend points of every partition of ``topic``."""
    tail = TrendsTail()
    with TopicReader(settings.bootstrap_servers, topic, "tapewatch-recovery") as reader:
        for record in reader.from_tail(TAIL_RECORDS).records():
            try:
                point = decode_record(TrendPoint, record.value)
            except InvalidRecord as error:
                log.warning("skipping %s[%d]@%d: %s", topic, record.partition, record.offset, error)
                tail.skipped[error.reason.value] += 1
                continue
            tail.points.append(point)
            size = int((point.window_end - point.window_start).total_seconds())
            if size not in tail.emitted_until or point.window_end > tail.emitted_until[size]:
                tail.emitted_until[size] = point.window_end
    tail.points.sort(key=lambda p: (p.window_end, p.key))
    return tail
