"""What a restarted ``aggregate`` agent must know: which windows it already emitted.

The trends topic is the durable record of closed windows. Reading its tail tells, per window size,
the end of the last window emitted; events redelivered after a crash that belong before it were
already counted and must not open the window again. The same tail, fed to the spike monitor,
rebuilds the detector's baselines and which keys are firing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition

from stream.records import TrendPoint
from stream.settings import StreamSettings

TAIL_RECORDS = 5000  # per partition: many minutes of windows for every key


@dataclass
class TrendsTail:
    emitted_until: dict[int, datetime] = field(default_factory=dict)  # window size (s) -> latest end
    points: list[TrendPoint] = field(default_factory=list)  # in window_end order


def read_trends_tail(settings: StreamSettings, topic: str) -> TrendsTail:
    """The last ``TAIL_RECORDS`` trend points of every partition of ``topic``."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="tapewatch-recovery",
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in partitions]
        if not assigned:
            return TrendsTail()
        consumer.assign(assigned)
        ends = consumer.end_offsets(assigned)
        for tp in assigned:
            consumer.seek(tp, max(0, ends[tp] - TAIL_RECORDS))
        tail = TrendsTail()
        latest = tail.emitted_until
        remaining = {tp for tp in assigned if ends[tp] > 0}
        while remaining:
            batches = consumer.poll(timeout_ms=1000)
            if not batches:
                break
            for tp, records in batches.items():
                for record in records:
                    point = TrendPoint.loads(record.value)
                    tail.points.append(point)
                    size = int((point.window_end - point.window_start).total_seconds())
                    if size not in latest or point.window_end > latest[size]:
                        latest[size] = point.window_end
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        tail.points.sort(key=lambda p: (p.window_end, p.key))
        return tail
    finally:
        consumer.close()
