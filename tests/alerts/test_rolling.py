from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.monitor import SpikeMonitor
from alerts.rolling import RollingWindows
from alerts.settings import AlertSettings
from tests.helpers import Closed

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def closed(minute: int, count: int, negative: int, key: str = "Markets") -> Closed:
    start = T0 + timedelta(minutes=minute)
    return Closed(key, start, start + timedelta(minutes=1), count, negative)


def test_sums_the_last_span_windows_and_hops_one_window_at_a_time() -> None:
    rolling: RollingWindows[Closed] = RollingWindows(span=3, size_s=60)
    sums = [rolling.add([closed(m, 10, m)]) for m in range(5)]
    assert [(w[0].count, w[0].negative) for w in sums] == [(10, 0), (20, 1), (30, 3), (30, 6), (30, 9)]
    last = sums[-1][0]
    assert last.window_start == T0 + timedelta(minutes=2) and last.window_end == T0 + timedelta(minutes=5)
    assert [p.window_start for p in last.parts] == [T0 + timedelta(minutes=m) for m in (2, 3, 4)]


def test_a_key_without_new_documents_is_still_answered_until_its_span_empties() -> None:
    rolling: RollingWindows[Closed] = RollingWindows(span=2, size_s=60)
    rolling.add([closed(0, 4, 4, key="Energy"), closed(0, 5, 0)])
    answered = [{w.key: w.count for w in rolling.add([closed(m, 5, 0)])} for m in (1, 2, 3)]
    assert answered == [{"Energy": 4, "Markets": 10}, {"Energy": 0, "Markets": 10}, {"Markets": 10}]


def test_an_amended_window_replaces_its_part_for_the_steps_to_come() -> None:
    rolling: RollingWindows[Closed] = RollingWindows(span=2, size_s=60)
    rolling.add([closed(0, 5, 1), closed(1, 5, 1)])
    assert rolling.add([closed(1, 7, 5)]) == []  # already stepped past: no new answer for it
    (after,) = rolling.add([closed(2, 5, 0)])
    assert (after.count, after.negative) == (12, 5)


def test_a_key_is_answered_the_same_whatever_other_keys_share_its_monitor() -> None:
    """Workers own different sets of keys; a key's answers must not depend on its neighbours."""
    mine = [closed(m, 5, m % 3, key="Energy") for m in (0, 1, 4, 9, 10)]
    others = [closed(m, 8, 2, key="Macro") for m in range(12)]
    alone: RollingWindows[Closed] = RollingWindows(span=3, size_s=60)
    shared: RollingWindows[Closed] = RollingWindows(span=3, size_s=60)

    def energy(windows) -> list[tuple[datetime, int, int]]:
        return [(w.window_end, w.count, w.negative) for w in windows if w.key == "Energy"]

    until = T0 + timedelta(minutes=13)
    assert energy(alone.add(mine, until)) == energy(
        shared.add(sorted(mine + others, key=lambda w: w.window_end), until)
    )
    assert alone.add([], until) == []  # stepped to ``until`` already: nothing new


def test_steps_go_through_quiet_minutes_until_the_span_empties() -> None:
    rolling: RollingWindows[Closed] = RollingWindows(span=2, size_s=60)
    steps = rolling.add([closed(0, 4, 4), closed(5, 6, 0)])
    assert [(w.window_end - T0, w.count) for w in steps] == [
        (timedelta(minutes=1), 4),
        (timedelta(minutes=2), 4),
        (timedelta(minutes=3), 0),  # answered once more with nothing, then forgotten
        (timedelta(minutes=6), 6),
    ]


def test_the_monitor_fires_on_a_spike_in_the_summed_windows() -> None:
    settings = AlertSettings(span_windows=3, min_count=10, warmup_windows=10)
    monitor = SpikeMonitor(settings, window_s=60)
    quiet = [closed(m, 6, 1 + m % 2) for m in range(40)]
    assert not [o for o in monitor.observe(quiet) if o.event]
    spike = monitor.observe([closed(40, 12, 11)])
    assert spike[0].event is not None and spike[0].event.state == "firing"
    assert spike[0].window.count == 24 and spike[0].trusted
