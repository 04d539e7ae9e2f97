"""Faust's aiokafka transport with a configurable fetch wait, and commits that never skip a message.

Faust hard-codes ``fetch_max_wait_ms=1500``. Brokers that hold a fetch for the whole wait even when
records arrive (the embedded Tansu broker does: median delivery 331 ms at 1500 ms, 18 ms at 50 ms,
measured with kafka-python) then add up to that much latency to every hop. Apache Kafka answers as
soon as data is there, so a short wait costs it nothing but a few more idle fetch requests.

faust-streaming 0.15 commits past a message that is still in flight when the first unacknowledged
offset sits right at the committed one, or when nothing was committed yet (faust-streaming issue
606; the fix in pull request 707 is not released). Our agents acknowledge out of order on purpose
(``aggregate`` holds an entry until its windows are emitted), so after a crash such a message would
never be read again. ``AtLeastOnceCommits`` commits only up to the oldest message still in flight.

Nor does an acknowledgement of a message fetched before a rebalance count: after the rebalance its
partition is read again from the committed offset by whoever holds it (perhaps this worker), and an
old acknowledgement counted in the new assignment, where nothing is known to be committed yet, let the
commit jump over records nobody had read (the archive lost 260 documents of 2,943 so, once under load).

And "read again from the committed offset" must hold when nothing is committed yet: aiokafka seeks only
partitions whose committed offset is above 0, so such a partition went on from where its fetcher was,
past the records fetched in the previous assignment that no agent took (a worker still loading its
model when the group rebalanced). ``classify`` then met a lane's later copy of a story before its
first one, and kept the copy instead (the ten-SIGKILL test lost 2 to 19 documents so: 2 runs in 40
under load here, and once in CI).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from faust.utils.functional import consecutive_numbers


def is_current(app: Any, generation_id: int | None) -> bool:
    """Whether a message was fetched in the assignment being read now: no rebalance under way, and none
    since it was fetched (Faust's own test for skipping a message)."""
    return bool(app.flow_control.is_active()) and generation_id == app.consumer_generation_id


def in_flight(consumer: Any, tp: TP) -> list[int]:
    """Offsets of ``tp``'s messages handed to a stream (taken or still buffered) and not acknowledged."""
    return [m.offset for m in list(consumer._unacked_messages) if m.tp == tp and not m.acked]


class TunedConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    fetch_max_wait_ms: ClassVar[int] = 100

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.fetch_max_wait_ms  # read when aiokafka creates its fetcher
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """After a rebalance, a partition with nothing committed is read from where the group's reset
        policy says (``earliest``, the pipeline's: again from its beginning, like the others from their
        committed offset; see the module's docstring), never from where its fetcher happened to be."""
        committed = await super().seek_to_committed()
        unread = [tp for tp, offset in committed.items() if not offset]
        if unread and self.app.conf.consumer_auto_offset_reset == "latest":
            await self.seek_to_end(*unread)
        elif unread:
            await self.seek_to_beginning(*unread)
        return committed

    async def seek_to_end(self, *partitions: TP) -> None:
        """Seek partitions past their last record (aiokafka's ``seek_to_end``)."""
        await self.call_thread(self._ensure_consumer().seek_to_end, *partitions)


class AtLeastOnceCommits(faust_aiokafka.Consumer):
    """The offset to commit never passes a message handed to a stream and not yet acknowledged, and only
    acknowledgements of this assignment's messages move it."""

    def ack(self, message: Message) -> bool:
        if is_current(self.app, message.generation_id):
            return faust_aiokafka.Consumer.ack(self, message)
        with ack_lock:  # done with, but read again in the new assignment: it commits nothing
            message.acked = True
            self._unacked_messages.discard(message)
        return False

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        newest = max(acked)
        gaps = self._gap[tp]  # offsets never delivered (compaction, transaction markers): count as done
        if gaps:
            filler = [o for gap in sorted(gaps.overlap(0, newest), key=lambda g: g.begin)
                      for o in range(gap.begin, gap.end)]  # fmt: skip
            if filler:
                acked.extend(filler)
                gaps.chop(0, max(filler[-1], newest + 1))
        acked.sort()
        batch = next(consecutive_numbers(acked))
        held = in_flight(self, tp)
        if held:
            oldest = min(held)
            batch = [offset for offset in batch if offset < oldest]
        committed = self._committed_offset[tp]
        if not batch or (committed is not None and batch[0] > committed):
            return None  # the message at the committed offset is not done yet
        acked[: len(batch)] = []
        self._acked_index[tp].difference_update(batch)
        return batch[-1] + 1


def tuned_transport(fetch_max_wait_ms: int) -> type[faust_aiokafka.Transport]:
    """A Transport class whose consumers wait at most ``fetch_max_wait_ms`` for a fetch."""

    class Thread(TunedConsumerThread):
        pass

    Thread.fetch_max_wait_ms = fetch_max_wait_ms

    class Consumer(AtLeastOnceCommits):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return Thread(self, loop=self.loop, beacon=self.beacon)

    class Transport(faust_aiokafka.Transport):
        pass

    Transport.Consumer = Consumer
    return Transport
