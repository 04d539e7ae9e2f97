"""Detector settings swept over closed windows: what each would have fired, and against labeled
incidents, how fast it caught them, what it missed, and what else it fired. Pure.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alerts.monitor import SpikeMonitor
from alerts.rolling import ClosedWindow
from alerts.settings import AlertSettings
from common.records import Alert


@dataclass(frozen=True)
class Incident:
    """A labeled period when ``key`` really had a negative spike."""

    key: str
    start: datetime
    end: datetime


@dataclass
class Outcome:
    overrides: dict[str, float]
    fired: list[Alert]
    delays_s: dict[Incident, float] = field(default_factory=dict)  # caught incidents
    missed: list[Incident] = field(default_factory=list)
    false: list[Alert] = field(default_factory=list)


def read_incidents(path: Path) -> list[Incident]:
    """A CSV with ``key,start,end`` (ISO-8601 times with a zone), one labeled incident per row."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"key", "start", "end"} <= set(rows[0]):
        raise ValueError(f"{path}: expected a CSV with the columns key,start,end")
    incidents = []
    for number, row in enumerate(rows, start=2):
        try:
            start, end = datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])
        except ValueError as exc:
            raise ValueError(f"{path} line {number}: {exc}") from None
        if start.tzinfo is None or end <= start:
            raise ValueError(f"{path} line {number}: times need a zone, and end after start")
        incidents.append(Incident(row["key"], start, end))
    return incidents


def grid(axes: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Every combination of the swept values, e.g. {"z_warning": [2.5, 3], "min_count": [8, 10]}."""
    names = list(axes)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


def backtest(
    windows: Iterable[ClosedWindow],
    base: AlertSettings,
    variants: list[dict[str, float]],
    window_s: int,
    incidents: Sequence[Incident] = (),
) -> list[Outcome]:
    closed = list(windows)
    outcomes = []
    for overrides in variants or [{}]:
        update = dict(overrides)
        if (
            "z_warning" in update and "z_critical" not in update
        ):  # a swept warning level keeps critical above it
            update["z_critical"] = max(base.z_critical, update["z_warning"])
        settings = base.model_copy(update=update)
        AlertSettings.model_validate(settings.model_dump())  # inconsistent thresholds fail here
        monitor = SpikeMonitor(settings, window_s)
        fired = [o.event for o in monitor.observe(closed) if o.event and o.event.state == "firing"]
        outcome = Outcome(overrides, fired)
        slack = timedelta(seconds=settings.span_windows * window_s)
        matched: set[int] = set()
        for incident in incidents:
            hits = [
                (i, e) for i, e in enumerate(fired)
                if e.key == incident.key and incident.start < e.window_end <= incident.end + slack
            ]  # fmt: skip
            if hits:
                outcome.delays_s[incident] = (hits[0][1].window_end - incident.start).total_seconds()
                matched.update(i for i, _ in hits)
            else:
                outcome.missed.append(incident)
        if incidents:
            outcome.false = [e for i, e in enumerate(fired) if i not in matched]
        outcomes.append(outcome)
    return outcomes
