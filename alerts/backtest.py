"""Detector settings swept over closed windows: what each would have fired, and against labeled
incidents, how fast it caught them and at which horizon, what it missed, and what else it fired. Pure.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from alerts.detector import ENTITY_PREFIXES
from alerts.horizons import ClosedWindow
from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings, parse_horizons
from common.records import Alert

INCIDENT_COLUMNS = ("key", "start", "end")  # and optionally "mentions"
SEPARATOR = ";"  # between the keys (or the mentions) of one incident
COMPANION_KEYS = ("all", "source:", *ENTITY_PREFIXES)  # keys a topic's documents also count under


@dataclass(frozen=True)
class Incident:
    """A labeled period when ``key`` (one key, or several separated by ``;``) really had a negative spike.
    An alert on another key (a topic, ``all``) is about it too when its evidence names one of ``mentions``;
    with ``companions`` (a topic's spike), any alert on the feed, a source, a ticker or a name is."""

    key: str
    start: datetime
    end: datetime
    mentions: str = ""
    companions: bool = False

    @property
    def name(self) -> str:
        return self.key.split(SEPARATOR)[0].strip()

    @property
    def keys(self) -> set[str]:
        return {k.strip() for k in self.key.split(SEPARATOR) if k.strip()}

    def explains(self, alert: Alert) -> bool:
        """The alert is about this incident: on one of its keys, or naming it, while the incident is in
        the alert's horizon."""
        horizon = alert.window_end - alert.window_start
        if not self.start < alert.window_end <= self.end + horizon:
            return False
        if alert.key in self.keys or (self.companions and alert.key.startswith(COMPANION_KEYS)):
            return True
        names = [m.strip() for m in self.mentions.split(SEPARATOR) if m.strip()]
        return any(name in evidence.title for evidence in alert.evidence for name in names)


@dataclass
class Outcome:
    overrides: dict[str, float | str]
    fired: list[Alert]
    caught: dict[Incident, Alert] = field(default_factory=dict)  # the first alert about each incident
    missed: list[Incident] = field(default_factory=list)
    false: list[Alert] = field(default_factory=list)

    @property
    def delays_s(self) -> dict[Incident, float]:
        return {i: (a.window_end - i.start).total_seconds() for i, a in self.caught.items()}

    def fired_by_horizon(self) -> Counter[str]:
        return Counter(alert.horizon for alert in self.fired)

    def delays_by_horizon(self) -> dict[str, list[float]]:
        """Delays (seconds) of the caught incidents, by the horizon of the alert that caught each."""
        delays: dict[str, list[float]] = {}
        for incident, delay in self.delays_s.items():
            delays.setdefault(self.caught[incident].horizon, []).append(delay)
        return delays


def read_incidents(path: Path) -> list[Incident]:
    """A CSV with ``key,start,end`` (ISO-8601 times with a zone) and optionally ``mentions``, one
    labeled incident per row (``tapewatch ingest synthetic --incidents`` writes one)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not set(INCIDENT_COLUMNS) <= set(rows[0]):
        raise ValueError(f"{path}: expected a CSV with the columns key,start,end (and optionally mentions)")
    incidents = []
    for number, row in enumerate(rows, start=2):
        try:
            start, end = datetime.fromisoformat(row["start"]), datetime.fromisoformat(row["end"])
        except ValueError as exc:
            raise ValueError(f"{path} line {number}: {exc}") from None
        if start.tzinfo is None or end <= start:
            raise ValueError(f"{path} line {number}: times need a zone, and end after start")
        incidents.append(Incident(row["key"], start, end, row.get("mentions") or ""))
    return incidents


def write_incidents(incidents: Iterable[Incident], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*INCIDENT_COLUMNS, "mentions"])
        for i in incidents:
            writer.writerow([i.key, i.start.isoformat(), i.end.isoformat(), i.mentions])


def grid(axes: Mapping[str, Sequence[float | str]]) -> list[dict[str, float | str]]:
    """Every combination of the swept values, e.g. {"z_warning": [4, 4.5], "horizons": ["5m,1h", "1h,1d"]}."""
    names = list(axes)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


def variant(base: AlertSettings, overrides: Mapping[str, float | str]) -> AlertSettings:
    """``base`` with the overrides, checked; a swept warning level keeps critical at least as high."""
    update = dict(overrides)
    if "z_warning" in update and "z_critical" not in update:
        update["z_critical"] = max(base.z_critical, float(update["z_warning"]))
    return AlertSettings.model_validate({**base.model_dump(), **update})


def backtest(
    windows: Iterable[ClosedWindow],
    base: AlertSettings,
    variants: list[dict[str, float | str]],
    window_s: int,
    incidents: Sequence[Incident] = (),
) -> list[Outcome]:
    closed = list(windows)
    outcomes = []
    for overrides in variants or [{}]:
        monitor = SpikeMonitor(variant(base, overrides), window_s)
        fired = [o.event for o in monitor.observe(closed) if o.event and o.event.state == "firing"]
        outcomes.append(score(Outcome(dict(overrides), fired), incidents))
    return outcomes


def score(outcome: Outcome, incidents: Sequence[Incident]) -> Outcome:
    """Match alerts to incidents: the first about each catches it; those about none are false."""
    explained: set[int] = set()
    for incident in incidents:
        hits = [i for i, alert in enumerate(outcome.fired) if incident.explains(alert)]
        explained.update(hits)
        if hits:
            outcome.caught[incident] = outcome.fired[hits[0]]
        else:
            outcome.missed.append(incident)
    if incidents:
        outcome.false = [alert for i, alert in enumerate(outcome.fired) if i not in explained]
    return outcome


def horizon_summary(outcome: Outcome) -> str:
    """``5m 3, 1d 2`` alerts, and per horizon of first catch the mean delay."""

    def by_length(horizon: str) -> int:
        return parse_horizons(horizon)[0]

    fired = outcome.fired_by_horizon()
    text = ", ".join(f"{h} {fired[h]}" for h in sorted(fired, key=by_length)) or "none"
    delays = outcome.delays_by_horizon()
    if delays:
        caught = "; ".join(
            f"{h}: {len(d)} (mean delay {readable(sum(d) / len(d))})"
            for h, d in sorted(delays.items(), key=lambda item: by_length(item[0]))
        )
        text += f"; first caught at {caught}"
    return text


def readable(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min"
