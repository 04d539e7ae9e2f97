"""The offset a worker commits never passes a message still in flight (faust-streaming issue 606), and
after a rebalance every partition is read again from its committed offset, or its beginning.

The consumer's bookkeeping is plain data; the tests build it as Faust keeps it and ask our
``_new_offset`` and Faust's own for the offset to commit. What aiokafka answers to a seek is stubbed
(named so below); the ten-SIGKILL test in ``test_scale_out`` runs it against the broker.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from intervaltree import IntervalTree

from stream.pipeline.kafka_transport import AtLeastOnceCommits, TunedConsumerThread

PARTITION = TP("t.docs.keyed", 0)


def consumer(
    committed: int | None, acked: list[int], in_flight: list[int], gaps=(), generation: int = 1
) -> SimpleNamespace:
    """Faust's consumer state for one partition: committed offset, acks, messages not yet acked; the
    app in ``generation``, not rebalancing."""
    app = SimpleNamespace(
        consumer_generation_id=generation,
        flow_control=SimpleNamespace(is_active=lambda: True),
        topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
    )
    return SimpleNamespace(
        app=app,
        _n_acked=0,
        _waiting_for_ack=None,
        _acked=defaultdict(list, {PARTITION: list(acked)}),
        _acked_index=defaultdict(set, {PARTITION: set(acked)}),
        _gap=defaultdict(IntervalTree, {PARTITION: IntervalTree.from_tuples(gaps)}),
        _committed_offset=defaultdict(lambda: None, {PARTITION: committed}),
        _unacked_messages={message(o) for o in in_flight},
    )


@dataclass(eq=False)  # hashable by identity, as Faust's messages are in its sets
class Message:
    offset: int
    generation_id: int = 1
    tp: TP = PARTITION
    topic: str = PARTITION.topic
    acked: bool = False


def message(offset: int, generation: int = 1) -> Message:
    return Message(offset, generation)


def commit(state: SimpleNamespace) -> int | None:
    return AtLeastOnceCommits._new_offset(state, PARTITION)  # type: ignore[arg-type]


def test_a_message_in_flight_at_the_committed_offset_holds_the_commit() -> None:
    """The reproduction of faust-streaming issue 606: committed 2585, 2586-2589 acked, 2585 in flight."""
    assert commit(consumer(2585, [2586, 2587, 2588, 2589], in_flight=[2585])) is None
    stock = faust_aiokafka.Consumer._new_offset(consumer(2585, [2586, 2587, 2588, 2589], [2585]), PARTITION)  # type: ignore[arg-type]
    assert stock == 2590, "faust-streaming fixed issue 606: AtLeastOnceCommits can go"


def test_before_anything_was_committed_the_oldest_message_in_flight_holds_the_commit() -> None:
    assert commit(consumer(None, [5, 6, 7, 9], in_flight=[3, 8])) is None
    assert commit(consumer(None, [3, 4, 5, 6, 7, 9], in_flight=[8])) == 8


def test_acked_runs_commit_up_to_the_first_hole_and_known_gaps_count_as_done() -> None:
    assert commit(consumer(10, [10, 11, 12], in_flight=[])) == 13
    assert commit(consumer(10, [10, 12], in_flight=[])) == 11  # 11 not acked yet: stop before it
    assert commit(consumer(10, [10, 12], in_flight=[], gaps=[(11, 12)])) == 13  # 11 will never come


def test_acknowledgements_of_messages_fetched_before_a_rebalance_move_no_commit() -> None:
    """After a rebalance nothing is known to be committed, and the partition is read again from the
    committed offset (300). The archive then acknowledges 500-520, fetched before the rebalance: counted,
    they would commit 521 over 300-499, which nobody has read again yet."""
    state = consumer(None, [], in_flight=[], generation=2)
    for offset in range(500, 521):
        assert AtLeastOnceCommits.ack(state, message(offset, generation=1)) is False  # type: ignore[arg-type]
    assert commit(state) is None
    for offset in range(300, 311):  # read again in this assignment
        assert AtLeastOnceCommits.ack(state, message(offset, generation=2)) is True  # type: ignore[arg-type]
    assert commit(state) == 311


def test_after_a_rebalance_partitions_with_nothing_committed_are_read_from_their_beginning(
    monkeypatch,
) -> None:
    raw = [TP("t.docs.raw", n) for n in range(3)]
    committed = {raw[0]: None, raw[1]: 0, raw[2]: 40}

    async def aiokafka_seek_to_committed(_thread: object) -> dict[TP, int | None]:
        return committed  # stub: aiokafka seeks raw[2] alone, the others go on where they were

    sought: list[TP] = []

    async def seek_to_beginning(_thread: object, *partitions: TP) -> None:
        sought.extend(partitions)

    monkeypatch.setattr(
        faust_aiokafka.AIOKafkaConsumerThread, "seek_to_committed", aiokafka_seek_to_committed
    )

    async def seek_to_end(_thread: object, *partitions: TP) -> None:
        sought.extend(("end", tp) for tp in partitions)

    monkeypatch.setattr(TunedConsumerThread, "seek_to_beginning", seek_to_beginning)
    monkeypatch.setattr(TunedConsumerThread, "seek_to_end", seek_to_end)
    thread = object.__new__(TunedConsumerThread)
    thread.app = SimpleNamespace(conf=SimpleNamespace(consumer_auto_offset_reset="earliest"))
    assert asyncio.run(thread.seek_to_committed()) == committed
    assert sought == [raw[0], raw[1]]
    sought.clear()  # a group set to "latest" reads only what comes after it joined
    thread.app.conf.consumer_auto_offset_reset = "latest"
    asyncio.run(thread.seek_to_committed())
    assert sought == [("end", raw[0]), ("end", raw[1])]
