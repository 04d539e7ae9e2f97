"""What ``classify`` knows of its lanes: when it vouches for one, and what it keeps of one it gave away.

A worker that takes a lane over may have its records fetched (the consumer's position at the end)
while they wait behind another lane's batch. Vouching for the lane at that position would make them
repeats and let windows close before them. The consumer's bookkeeping is plain data, built as Faust
keeps it (as in ``test_kafka_transport``); the Classifier, the LaneProgress and the marks are real.

A lane revoked while one of its batches is still being published must be read back whole when it
returns: what the batch adds must not make the lane look known.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP

from common.records import LaneMark, decode_keyed
from stream.lanes import LaneProgress
from stream.pipeline.classify import Classifier, LaneMemory
from stream.pipeline.recovery import Published
from stream.settings import StreamSettings
from stream.topics import TopicNames
from tests.helpers import T0, scored

NAMES = TopicNames("t")
LANE = TP(NAMES.raw, 2)
END = 40


class Consumer:
    """Faust's consumer state for one assigned lane, read to its end; ``waiting``: offsets handed to
    the stream and not acknowledged."""

    def __init__(self, waiting: list[int]) -> None:
        self._unacked_messages = [SimpleNamespace(tp=LANE, offset=o, acked=False) for o in waiting]

    def assignment(self) -> set[TP]:
        return {LANE}

    async def position(self, tp: TP) -> int:
        return END

    def highwater(self, tp: TP) -> int:
        return END

    def topic_partitions(self, topic: str) -> int:
        return 4


def marks_after_two_heartbeats(waiting: list[int]) -> list[LaneMark]:
    sent: list[LaneMark] = []

    async def send(value: bytes, partition: int) -> asyncio.Future[None]:
        mark = decode_keyed(value)
        assert isinstance(mark, LaneMark)
        sent.append(mark)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    app = SimpleNamespace(consumer=Consumer(waiting))
    topics = SimpleNamespace(names=NAMES, deadletter=None, keyed=SimpleNamespace(send=send))
    classifier = Classifier(app, topics, StreamSettings(), preparer=None, metrics=None)  # type: ignore[arg-type]
    classifier.progress = LaneProgress(lanes=4, window_s=60, interval_s=1.0)

    async def beat_twice() -> None:
        await classifier.heartbeat()
        await classifier.heartbeat()

    asyncio.run(beat_twice())
    return sent


def test_a_lane_with_records_waiting_in_the_consumer_is_not_vouched_for() -> None:
    assert marks_after_two_heartbeats(waiting=[37, 38, 39]) == []


def test_a_caught_up_lane_with_nothing_waiting_is_vouched_for_as_idle_at_its_end() -> None:
    marks = marks_after_two_heartbeats(waiting=[])
    assert marks and {(m.lane, m.offset, m.idle) for m in marks} == {(2, END, True)}


def test_a_lane_forgotten_while_a_batch_was_in_flight_is_read_back_when_it_returns() -> None:
    memory = LaneMemory(limit=100)
    first = scored("a", T0).derive(lane=2, offset=0)
    memory.load(2, [Published(first, first.dumps())])
    memory.forget(2)  # revoked: another worker publishes the lane from now on
    memory.add(scored("b", T0).derive(lane=2, offset=1))  # the batch in flight finishes
    assert not memory.known(2) and memory.get(2, 1) is None


def test_a_lane_taken_over_keeps_its_records_as_read_never_encoded_again() -> None:
    """A lane's 20,000 records read back are kept as the bytes the topic holds (the issue: each was
    decoded and encoded again on the event loop); the labels read from them are the published ones."""
    memory = LaneMemory(limit=2)
    records = [scored(doc, T0).derive(lane=2, offset=n) for n, doc in enumerate("abc")]
    as_read = [Published(r, b" " + r.dumps()) for r in records]  # bytes no encoder would write
    memory.load(2, as_read)
    assert list(memory.lanes[2].values()) == [p.encoded for p in as_read[1:]]  # the newest, as read
    assert memory.get(2, 2) == records[2] and memory.get(2, 0) is None
