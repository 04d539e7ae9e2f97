"""Alertmanager notifications joined with the detector's evidence from the alerts topic.

Alertmanager knows labels and annotations; the headlines that made a topic spike are on
``tapewatch.alerts``. The listener keeps the latest alert event per key and attaches it.
(Pure but for the book, which a reader thread fills while the listener's event loop waits on it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class NotifiedAlert(BaseModel):
    """One alert in an Alertmanager webhook notification (payload version 4)."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    fingerprint: str = ""


class Notification(BaseModel):
    """Alertmanager's webhook body; unknown fields are kept out, missing ones are errors."""

    version: str = "4"
    status: str
    receiver: str
    alerts: list[NotifiedAlert]
    groupLabels: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""


class EvidenceBook:
    """The latest firing event of each key, as read from the alerts topic (by a thread); waited on by
    the listener's event loop."""

    def __init__(self) -> None:
        self._firing: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def add(self, alert: dict[str, Any]) -> None:
        if alert.get("state") != "firing":
            return  # a resolved event carries no evidence of its own
        key = str(alert.get("key", ""))
        with self._lock:
            current = self._firing.get(key)
            if current is None or str(current.get("window_end", "")) <= str(alert.get("window_end", "")):
                self._firing[key] = alert
            waiters = list(self._waiters)
        for loop, changed in waiters:
            loop.call_soon_threadsafe(changed.set)

    def firing_now(self, keys: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """The latest firing event of each key, or None."""
        with self._lock:
            return {key: self._firing.get(key) for key in keys}

    async def wait_for(self, keys: Iterable[str], wait_s: float) -> None:
        """Until every key has a firing event, or ``wait_s`` from now: one deadline for all of them
        together (not one wait per key)."""
        keys = list(keys)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        changed = asyncio.Event()
        waiter = (loop, changed)
        with self._lock:
            self._waiters.append(waiter)
        try:
            while True:
                changed.clear()
                left = deadline - loop.time()
                if left <= 0 or all(event is not None for event in self.firing_now(keys).values()):
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), left)
        finally:
            with self._lock:
                self._waiters.remove(waiter)


def alert_key(labels: dict[str, str]) -> str:
    return labels.get("key") or labels.get("topic") or (f"${labels['ticker']}" if "ticker" in labels else "")


def enrich(alert: NotifiedAlert, evidence: dict[str, Any] | None) -> dict[str, Any]:
    """One notified alert as a flat record: what ops read, plus the detector's evidence."""
    return {
        "status": alert.status,
        "alertname": alert.labels.get("alertname", ""),
        "severity": alert.labels.get("severity", ""),
        "key": alert_key(alert.labels),
        "starts_at": alert.startsAt.isoformat(),
        "ends_at": alert.endsAt.isoformat() if alert.endsAt and alert.endsAt.year > 1 else None,
        "summary": alert.annotations.get("summary", ""),
        "description": alert.annotations.get("description", ""),
        "dashboard": alert.annotations.get("dashboard", ""),
        "evidence": evidence,
    }


def format_text(record: dict[str, Any]) -> str:
    """A notification as a few lines for a terminal or a log."""
    lines = [
        f"[{record['status'].upper()} {record['severity']}] {record['alertname']} on {record['key']} "
        f"since {record['starts_at']}",
    ]
    if record["description"]:
        lines.append(f"  {record['description']}")
    if record["dashboard"]:
        lines.append(f"  dashboard: {record['dashboard']}")
    evidence = record["evidence"]
    if evidence and record["status"] == "firing":
        lines.append(
            f"  window {evidence['window_start']} to {evidence['window_end']}: "
            f"{evidence['negative_ratio']:.0%} negative of {evidence['count']} "
            f"(baseline {evidence['baseline']:.0%}, z {evidence['zscore']:.1f})"
        )
        for item in evidence.get("evidence") or []:
            tokens = ", ".join(
                f"{t['token']} {t['weight']:+.2f}" for t in (item.get("explanation") or [])[:4]
            )
            lines.append(f"    {item['score']:+.2f}  {item['title']}" + (f"  [{tokens}]" if tokens else ""))
    return "\n".join(lines)
