from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.backtest import Incident, backtest, grid, horizon_summary, read_incidents, write_incidents
from alerts.settings import AlertSettings
from common.records import Alert, Evidence
from tests.helpers import Closed

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def history() -> list[Closed]:
    """Two keys over a day: Energy spikes at minute 600 for 5 minutes; Markets is quiet throughout."""
    windows = []
    for minute in range(720):
        start = T0 + timedelta(minutes=minute)
        spike = 600 <= minute < 605
        windows.append(Closed("Energy", start, start + timedelta(minutes=1), 30 if spike else 6,
                              27 if spike else minute % 2))  # fmt: skip
        windows.append(Closed("Markets", start, start + timedelta(minutes=1), 6, 1 + minute % 2))
    return windows


def test_delays_per_horizon_misses_and_false_alerts_per_setting() -> None:
    incidents = [
        Incident("Energy;$XOM", T0 + timedelta(minutes=600), T0 + timedelta(minutes=605)),
        Incident("Markets", T0 + timedelta(minutes=200), T0 + timedelta(minutes=205)),
    ]
    outcomes = backtest(history(), AlertSettings(), grid({"z_warning": [4.5, 40]}), 60, incidents)
    caught, strict = outcomes
    assert caught.overrides == {"z_warning": 4.5} and list(caught.delays_s.values()) == [60.0]
    assert caught.caught[incidents[0]].horizon == "5m" and caught.delays_by_horizon() == {"5m": [60.0]}
    assert caught.missed == [incidents[1]] and caught.false == []
    assert horizon_summary(caught) == "5m 1; first caught at 5m: 1 (mean delay 1.0 min)"
    assert strict.fired == [] and strict.missed == incidents  # z_critical was raised along with z_warning


def test_an_alert_on_another_key_is_about_the_incident_when_its_evidence_names_it() -> None:
    incident = Incident("name:Velix Capital;$VELX", T0, T0 + timedelta(days=1), "Velix Capital;VELX")

    def alert(key: str, title: str, end: datetime) -> Alert:
        return Alert(
            id="a", key=key, kind="negative_spike", state="firing", severity="warning", window_start=end
            - timedelta(hours=6), window_end=end, negative_ratio=0.5, baseline=0.1, zscore=4.0, count=10,
            evidence=[Evidence(id="d", title=title, score=-0.9)], fired_at=end, horizon="6h",
        )  # fmt: skip

    assert incident.explains(alert("all", "Velix Capital halts withdrawals", T0 + timedelta(hours=30)))
    assert not incident.explains(alert("all", "Velix Capital halts withdrawals", T0 + timedelta(hours=31)))
    assert not incident.explains(alert("all", "Oil slides", T0 + timedelta(hours=3)))
    assert incident.explains(alert("$VELX", "Oil slides", T0 + timedelta(hours=3)))


def test_incident_files_are_checked_and_written_back(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("key,start,end\nEnergy | Oil,2026-11-20T11:00:00+00:00,2026-11-20T11:20:00+00:00\n")
    (read,) = read_incidents(good)
    assert read.key == "Energy | Oil" and read.keys == {"Energy | Oil"} and read.mentions == ""
    again = tmp_path / "again.csv"
    write_incidents([read, Incident("name:Velix;$VELX", read.start, read.end, "Velix")], again)
    assert read_incidents(again)[1].keys == {"name:Velix", "$VELX"}
    naive = tmp_path / "naive.csv"
    naive.write_text("key,start,end\nEnergy | Oil,2026-11-20T11:00,2026-11-20T11:20\n")
    with pytest.raises(ValueError, match="line 2: times need a zone"):
        read_incidents(naive)
    with pytest.raises(ValueError, match="columns key,start,end"):
        (tmp_path / "bad.csv").write_text("topic,when\n")
        read_incidents(tmp_path / "bad.csv")
