"""Watermarks per input lane: what classify vouches for, and what aggregate makes of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.records import LaneMark
from stream.lanes import LaneClock, LaneProgress
from tests.helpers import T0

SENT = datetime(2026, 11, 21, tzinfo=UTC)


def mark(lane: int, minutes: float | None, offset: int = 0, idle: bool = False, lanes: int = 2) -> LaneMark:
    watermark = None if minutes is None else T0 + timedelta(minutes=minutes)
    return LaneMark(lane=lane, lanes=lanes, offset=offset, watermark=watermark, idle=idle, sent_at=SENT)


def test_the_slowest_busy_lane_sets_the_watermark_once_every_lane_spoke() -> None:
    clock = LaneClock(stale_after_s=4)
    clock.heard(mark(0, 5), now=0)
    assert clock.watermark(now=0) is None  # lane 1 has not spoken: it may hold anything
    clock.heard(mark(1, 2), now=0)
    assert clock.watermark(now=1) == T0 + timedelta(minutes=2)


def test_an_idle_lane_holds_nothing_back_and_all_idle_gives_the_latest_event_time() -> None:
    clock = LaneClock(stale_after_s=10)
    clock.heard(mark(0, 5), now=0)
    clock.heard(mark(1, 2, idle=True), now=0)
    assert clock.watermark(now=1) == T0 + timedelta(minutes=5)
    clock.heard(mark(0, 5, idle=True), now=2)
    assert clock.watermark(now=3) == T0 + timedelta(minutes=5)
    assert clock.quiet_for(now=7) == 5  # since the last lane went idle


def test_a_lane_not_heard_from_lately_holds_windows_at_its_last_mark() -> None:
    """A restarting worker says nothing while it loads the model: its lanes must not count as idle."""
    clock = LaneClock(stale_after_s=4)
    clock.heard(mark(0, 9), now=0)
    clock.heard(mark(1, 3, idle=True), now=0)
    assert clock.watermark(now=3) == T0 + timedelta(minutes=9)
    assert clock.watermark(now=5) == T0 + timedelta(minutes=3)  # lane 1 went silent
    assert clock.quiet_for(now=5) == 0


def test_an_idle_lane_whose_worker_died_holds_what_was_published_when_it_last_spoke() -> None:
    """Lane 1 said it was idle, then its worker died: records reaching it since were sent after what
    had been published then, but maybe before what lane 0 publishes next. Before its next mark, lane 1
    must not let lane 0 close windows over them (history at full speed crosses minutes in a second)."""
    clock = LaneClock(stale_after_s=4)
    clock.heard(mark(0, 3), now=0)
    clock.heard(mark(1, 2, idle=True), now=0)
    assert clock.watermark(now=0) == T0 + timedelta(minutes=3)
    clock.heard(mark(0, 9), now=1)
    assert clock.watermark(now=2) == T0 + timedelta(minutes=3)  # not 9: lane 1 spoke before minute 9
    clock.heard(mark(1, 2, idle=True), now=2)  # alive, and still nothing waiting
    assert clock.watermark(now=2) == T0 + timedelta(minutes=9)


def test_marks_only_move_forward_when_a_lane_is_published_again() -> None:
    clock = LaneClock(stale_after_s=4)
    clock.heard(mark(0, 9, offset=40), now=0)
    clock.heard(mark(1, 9, offset=10), now=0)
    clock.heard(mark(0, 4, offset=25), now=1)  # a new owner from the committed offset
    assert clock.upto() == {0: 40, 1: 10}
    assert clock.watermark(now=1) == T0 + timedelta(minutes=9)


def test_an_empty_busy_lane_blocks_and_an_empty_idle_one_does_not() -> None:
    clock = LaneClock(stale_after_s=4)
    clock.heard(mark(0, 5), now=0)
    clock.heard(mark(1, None), now=0)
    assert clock.watermark(now=0) is None
    clock.heard(mark(1, None, idle=True), now=1)
    assert clock.watermark(now=1) == T0 + timedelta(minutes=5)


def test_progress_marks_when_a_window_is_entered_when_idleness_changes_or_after_the_interval() -> None:
    progress = LaneProgress(lanes=4, window_s=60, interval_s=1.0)
    assert not progress.due(0, now=0, idle=False)  # nothing finished on the lane yet
    progress.done(0, offset=7, published_at=T0 + timedelta(seconds=10))
    assert progress.due(0, now=0, idle=False)
    sent = progress.mark(0, idle=False, now=0, sent_at=SENT)
    assert (sent.offset, sent.watermark, sent.lanes) == (8, T0 + timedelta(seconds=10), 4)
    progress.done(0, offset=8, published_at=T0 + timedelta(seconds=30))
    assert not progress.due(0, now=0.1, idle=False)
    assert progress.due(0, now=0.1, idle=True)
    progress.done(0, offset=9, published_at=T0 + timedelta(seconds=61))
    assert progress.due(0, now=0.2, idle=False)  # a new window
    progress.done(0, offset=10)  # a repeat: later offset, no event time
    assert progress.mark(0, idle=False, now=0.3, sent_at=SENT).offset == 11
    assert progress.due(0, now=1.3, idle=False)
