"""From the detector's observations to what the worker publishes: Alert records and metric values."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from alerts.detector import Observation, SpikeEvent
from alerts.metrics import (
    ALERT_EVENTS,
    DETECTOR_BASELINE,
    DETECTOR_DOCUMENTS,
    DETECTOR_NEGATIVE_RATIO,
    DETECTOR_ZSCORE,
)
from stream.metrics import key_label
from stream.records import Alert, Evidence, TokenWeight, TrendPoint

log = logging.getLogger(__name__)

Explainer = Callable[[Sequence[str]], Awaitable[list[list[tuple[str, float]]]]]


def most_negative(observation: Observation, limit: int) -> list[Evidence]:
    """The most negative documents of the detection window's parts, lowest score first."""
    parts: Sequence[TrendPoint] = getattr(observation.window, "parts", ())
    found = {e.id: e for part in parts for e in (part.most_negative or [])}
    return sorted(found.values(), key=lambda e: (e.score, e.id))[:limit]


def alert_id(event: SpikeEvent) -> str:
    """Stable across restarts and replays: the same event always gets the same id."""
    text = f"{event.key}|{event.window_end.isoformat()}|{event.state}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def alert_record(event: SpikeEvent, evidence: list[Evidence], fired_at: datetime | None = None) -> Alert:
    return Alert(
        id=alert_id(event),
        kind="negative_spike",
        evidence=evidence,
        fired_at=fired_at or datetime.now(UTC),
        **asdict(event),
    )


async def explained(evidence: list[Evidence], explain: Explainer) -> list[Evidence]:
    """Evidence with the tokens behind each score; without them if the model cannot answer now."""
    if not evidence:
        return evidence
    try:
        weights = await explain([e.title for e in evidence])
    except Exception as exc:  # an alert without explanations beats no alert
        log.warning("could not explain alert evidence: %s", exc)
        return evidence
    return [
        e.derive(explanation=[TokenWeight(token=t, weight=w) for t, w in tokens])
        for e, tokens in zip(evidence, weights, strict=True)
    ]


def export(observation: Observation) -> None:
    """The detection window's numbers as gauges; the z-score only once the baseline is trusted."""
    label = key_label(observation.key)
    window = observation.window
    DETECTOR_DOCUMENTS.labels(key=label).set(window.count)
    DETECTOR_NEGATIVE_RATIO.labels(key=label).set(window.negative_ratio)
    DETECTOR_BASELINE.labels(key=label).set(observation.baseline)
    if observation.trusted:
        DETECTOR_ZSCORE.labels(key=label).set(observation.zscore)
    if observation.event is not None:
        ALERT_EVENTS.labels(severity=observation.event.severity, state=observation.event.state).inc()
