from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerts.detector import SpikeDetector
from alerts.settings import AlertSettings
from common.records import Alert

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SETTINGS = AlertSettings(
    span_windows=1, min_count=5, floor=0.4, z_warning=3, z_critical=5, warmup_windows=5, cooldown_s=600
)


@dataclass
class Window:
    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative_ratio: float


def window(minute: int, count: int, ratio: float, key: str = "Energy | Oil") -> Window:
    start = T0 + timedelta(minutes=minute)
    return Window(key, start, start + timedelta(minutes=1), count, ratio)


def event(detector: SpikeDetector, w: Window) -> Alert | None:
    return detector.observe(w).event


def warmed(detector: SpikeDetector, minutes: int = 20, ratio: float = 0.2) -> None:
    for minute in range(minutes):
        assert event(detector, window(minute, 10, ratio)) is None


def test_a_clear_spike_fires_with_severity_and_then_resolves() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector)
    fired = event(detector, window(20, 20, 0.9))
    assert fired is not None and fired.state == "firing" and fired.severity == "critical"
    assert abs(fired.baseline - 0.2) < 0.01 and fired.zscore >= 5
    assert event(detector, window(21, 20, 0.85)) is None  # still firing: no repeat event
    resolved = event(detector, window(22, 10, 0.2))
    assert resolved is not None and resolved.state == "resolved" and resolved.key == "Energy | Oil"


def test_low_volume_and_low_ratio_do_not_fire() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector, ratio=0.05)
    assert event(detector, window(20, 4, 1.0)) is None  # too few documents
    assert event(detector, window(21, 50, 0.35)) is None  # high z, but under the floor


def test_nothing_fires_before_the_baseline_is_trusted() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector, minutes=4)
    assert event(detector, window(4, 20, 0.95)) is None


def test_the_same_ratio_is_less_certain_in_a_small_window() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector)
    state = detector.keys["Energy | Oil"]
    assert detector.zscore(state, 0.6, 5) < detector.zscore(state, 0.6, 50)


def test_cooldown_keeps_a_resolved_key_quiet_then_it_can_fire_again() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector)
    assert event(detector, window(20, 20, 0.9)).state == "firing"
    assert event(detector, window(21, 10, 0.2)).state == "resolved"
    assert event(detector, window(25, 20, 0.9)) is None  # within 10 minutes of the resolve
    later = event(detector, window(40, 20, 0.9))
    assert later is not None and later.state == "firing"


def test_firing_windows_do_not_move_the_baseline() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector)
    before = detector.keys["Energy | Oil"].mean
    event(detector, window(20, 20, 0.9))
    event(detector, window(21, 20, 0.9))
    assert detector.keys["Energy | Oil"].mean == before


def test_keys_are_independent_and_results_deterministic() -> None:
    def run() -> list:
        detector = SpikeDetector(SETTINGS)
        warmed(detector)
        for minute in range(20):
            event(detector, window(minute, 10, 0.5, key="Markets"))
        return [event(detector, window(20, 10, 0.7)), event(detector, window(20, 10, 0.7, key="Markets"))]

    first = run()
    assert first[0] is not None and first[1] is None  # 7 of 10 is a spike for a 0.2 key, not for a 0.5 key
    assert run() == first


def test_a_key_that_starts_at_zero_negative_still_learns_its_baseline() -> None:
    detector = SpikeDetector(SETTINGS)
    for minute in range(3):
        event(detector, window(minute, 10, 0.0))
    for minute in range(3, 20):  # early windows must not freeze the baseline at 0
        event(detector, window(minute, 10, 0.3))
    assert detector.keys["Energy | Oil"].mean > 0.2
    assert event(detector, window(20, 10, 0.4)) is None


def test_the_onset_of_a_spike_does_not_raise_the_baseline() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector)
    before = detector.keys["Energy | Oil"].mean
    observed = detector.observe(window(20, 10, 0.5))
    assert SETTINGS.learn_z <= observed.zscore < SETTINGS.z_warning and observed.event is None
    assert detector.keys["Energy | Oil"].mean == before


def test_a_firing_key_that_goes_quiet_resolves() -> None:
    detector = SpikeDetector(SETTINGS)
    warmed(detector)
    assert event(detector, window(20, 20, 0.9)).state == "firing"
    resolved = event(detector, window(21, 0, 0.0))
    assert resolved is not None and resolved.state == "resolved"


def test_settings_refuse_inconsistent_thresholds() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="z_critical"):
        AlertSettings(z_warning=4, z_critical=3)
    with pytest.raises(ValidationError, match="resolve_z"):
        AlertSettings(z_warning=3, resolve_z=3)
