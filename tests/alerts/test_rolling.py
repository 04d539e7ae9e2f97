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


def test_windows_at_or_before_the_last_step_are_ignored() -> None:
    rolling: RollingWindows[Closed] = RollingWindows(span=2, size_s=60)
    rolling.add([closed(0, 5, 1), closed(1, 5, 1)])
    assert rolling.add([closed(1, 5, 5)]) == []


def test_the_monitor_fires_on_a_spike_in_the_summed_windows() -> None:
    settings = AlertSettings(span_windows=3, min_count=10, warmup_windows=10)
    monitor = SpikeMonitor(settings, window_s=60)
    quiet = [closed(m, 6, 1 + m % 2) for m in range(40)]
    assert not [o for o in monitor.observe(quiet) if o.event]
    spike = monitor.observe([closed(40, 12, 11)])
    assert spike[0].event is not None and spike[0].event.state == "firing"
    assert spike[0].window.count == 24 and spike[0].trusted
