from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.backtest import Incident, backtest, grid, read_incidents
from alerts.settings import AlertSettings
from tests.helpers import Closed

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def day() -> list[Closed]:
    """Two keys, 60 quiet minutes each, and one spike on Energy at minute 40."""
    windows = []
    for minute in range(60):
        start = T0 + timedelta(minutes=minute)
        spike = 40 <= minute < 45
        windows.append(
            Closed("Energy", start, start + timedelta(minutes=1), 12 if spike else 6, 11 if spike else 1)
        )
        windows.append(Closed("Markets", start, start + timedelta(minutes=1), 6, 1 + minute % 2))
    return windows


def test_delays_misses_and_false_alerts_per_setting() -> None:
    incidents = [
        Incident("Energy", T0 + timedelta(minutes=40), T0 + timedelta(minutes=45)),
        Incident("Markets", T0 + timedelta(minutes=20), T0 + timedelta(minutes=25)),
    ]
    base = AlertSettings(warmup_windows=10)
    outcomes = backtest(day(), base, grid({"z_warning": [3, 40]}), 60, incidents)
    caught, strict = outcomes
    assert caught.overrides == {"z_warning": 3} and list(caught.delays_s.values()) == [60.0]
    assert caught.missed == [incidents[1]] and caught.false == []
    assert strict.fired == [] and strict.missed == incidents  # z_critical was raised along with z_warning


def test_incident_files_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("key,start,end\nEnergy | Oil,2026-11-20T11:00:00+00:00,2026-11-20T11:20:00+00:00\n")
    assert read_incidents(good)[0].key == "Energy | Oil"
    naive = tmp_path / "naive.csv"
    naive.write_text("key,start,end\nEnergy | Oil,2026-11-20T11:00,2026-11-20T11:20\n")
    with pytest.raises(ValueError, match="line 2: times need a zone"):
        read_incidents(naive)
    with pytest.raises(ValueError, match="columns key,start,end"):
        (tmp_path / "bad.csv").write_text("topic,when\n")
        read_incidents(tmp_path / "bad.csv")
