"""Watermarks that travel with the data, per input lane (a partition of the raw topic). Pure.

``classify`` reads lanes unevenly and scores them in batches, so the keyed topic interleaves lanes in
no fixed order; a window cannot be closed on what one keyed partition happens to have seen. Instead
``classify`` says, per lane, how far it has published (``LaneProgress`` makes its ``LaneMark``s), and
each ``aggregate`` partition closes a window only once every lane has passed its end plus the grace
(``LaneClock``), as Flink and Kafka Streams do. A lane nobody has spoken for lately (its worker is
restarting, or a rebalance is under way) holds windows at its last mark; a lane with nothing waiting
(idle) holds windows only at the latest event time published when it last said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from common.records import LaneMark
from stream.windows import window_start


@dataclass(frozen=True)
class SentMark:
    at: float  # monotonic seconds
    watermark: datetime | None
    idle: bool


class LaneProgress:
    """What one ``classify`` worker has finished on each of its lanes."""

    def __init__(self, lanes: int, window_s: int, interval_s: float) -> None:
        self.lanes = lanes
        self.window_s = window_s
        self.interval_s = interval_s
        self.offset: dict[int, int] = {}  # lane -> the next raw offset not yet finished
        self.watermark: dict[int, datetime] = {}  # lane -> the latest event time published
        self._sent: dict[int, SentMark] = {}

    def restart(self, lane: int) -> None:
        """The lane was (re)assigned: what is known of it comes from its next records."""
        self.offset.pop(lane, None)
        self.watermark.pop(lane, None)
        self._sent.pop(lane, None)

    def caught_up(self, lane: int, offset: int) -> None:
        """Nothing has been read from the lane since it was assigned, and nothing waits before ``offset``."""
        self.offset[lane] = max(self.offset.get(lane, 0), offset)

    def done(self, lane: int, offset: int, published_at: datetime | None = None) -> None:
        """The record at ``offset`` is finished (published, dead-lettered or a repeat)."""
        self.offset[lane] = max(self.offset.get(lane, 0), offset + 1)
        if published_at is not None and (lane not in self.watermark or published_at > self.watermark[lane]):
            self.watermark[lane] = published_at

    def due(self, lane: int, now: float, idle: bool) -> bool:
        """A mark is due when the lane's watermark entered a new window, it went idle or busy, or
        ``interval_s`` passed (a timer's tick may come a little early, hence the 0.9)."""
        if lane not in self.offset:
            return False
        last = self._sent.get(lane)
        if last is None or idle != last.idle or now - last.at >= self.interval_s * 0.9:
            return True
        current = self.watermark.get(lane)
        if current is None:
            return False
        return last.watermark is None or (
            window_start(current, self.window_s) > window_start(last.watermark, self.window_s)
        )

    def mark(self, lane: int, idle: bool, now: float, sent_at: datetime) -> LaneMark:
        self._sent[lane] = SentMark(now, self.watermark.get(lane), idle)
        return LaneMark(
            lane=lane,
            lanes=self.lanes,
            offset=self.offset.get(lane, 0),
            watermark=self.watermark.get(lane),
            idle=idle,
            sent_at=sent_at,
        )


@dataclass
class LaneState:
    offset: int
    watermark: datetime | None
    idle: bool
    heard: float  # monotonic seconds of the latest mark
    idle_since: float | None
    passed: datetime | None = None  # idle: the latest event time published anywhere when it said so


class LaneClock:
    """One ``aggregate`` partition's view of every lane, from the marks that reached it.

    Marks only move forward: a restarted worker re-publishing a lane from its committed offset does
    not take the watermark back. An idle lane passes only the event time published when it last said
    it was idle: whatever reaches it later was sent after that, so the other lanes cannot close
    windows over its next records in the seconds before its silence makes it stale (its worker died).
    """

    def __init__(self, stale_after_s: float) -> None:
        self.stale_after_s = stale_after_s
        self.lanes: int | None = None
        self.state: dict[int, LaneState] = {}

    def heard(self, mark: LaneMark, now: float) -> None:
        self.lanes = mark.lanes
        known = self.state.get(mark.lane)
        if known is None:
            known = self.state[mark.lane] = LaneState(
                mark.offset, mark.watermark, mark.idle, now, now if mark.idle else None
            )
        else:
            known.offset = max(known.offset, mark.offset)
            if mark.watermark is not None and (known.watermark is None or mark.watermark > known.watermark):
                known.watermark = mark.watermark
            known.idle_since = (known.idle_since or now) if mark.idle else None
            known.idle = mark.idle
            known.heard = now
        if mark.idle:
            known.passed = self._published()

    def _published(self) -> datetime | None:
        """The latest event time any lane has published."""
        return max((s.watermark for s in self.state.values() if s.watermark is not None), default=None)

    def _fresh(self, state: LaneState, now: float) -> bool:
        return now - state.heard <= self.stale_after_s

    def _complete(self) -> bool:
        return self.lanes is not None and all(lane in self.state for lane in range(self.lanes))

    def watermark(self, now: float) -> datetime | None:
        """The event time every lane has passed: None until every lane has been heard from.

        A busy lane has passed its watermark; an idle lane heard from lately, the latest event time
        published anywhere when it last said it was idle (so lanes that are all idle pass the latest
        event time). A lane not heard from lately counts at its own last watermark.
        """
        if not self._complete():
            return None
        passed = [s.passed if s.idle and self._fresh(s, now) else s.watermark for s in self.state.values()]
        return None if any(p is None for p in passed) else min(p for p in passed if p is not None)

    def quiet_for(self, now: float) -> float:
        """Seconds for which every lane has been idle (and heard from lately); 0 if one is not."""
        if not self._complete() or not self.state:
            return 0.0
        if not all(s.idle and s.idle_since is not None and self._fresh(s, now) for s in self.state.values()):
            return 0.0
        return now - max(s.idle_since for s in self.state.values() if s.idle_since is not None)

    def upto(self) -> dict[int, int]:
        """Per lane, the offset before which every record has been published (and so has arrived here)."""
        return {lane: s.offset for lane, s in sorted(self.state.items())}
