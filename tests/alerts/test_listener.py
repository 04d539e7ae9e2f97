"""The webhook receiver on Alertmanager requests, in-process (the e2e test runs the real server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

from fastapi.testclient import TestClient

from alerts.evidence import EvidenceBook, format_text
from alerts.listener import create_listener
from alerts.settings import AlertSettings

FIRING = {
    "version": "4",
    "status": "firing",
    "receiver": "tapewatch-critical",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "NegativeSentimentSpike", "severity": "critical", "topic": "Energy | Oil",
                       "key": "Energy | Oil"},
            "annotations": {"summary": "Negative sentiment spike on topic Energy | Oil", "dashboard": "http://g/d"},
            "startsAt": "2026-11-20T11:02:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
        }
    ],
}  # fmt: skip
DETECTOR_EVENT = {
    "key": "Energy | Oil",
    "state": "firing",
    "severity": "critical",
    "window_start": "2026-11-20T10:58:00+00:00",
    "window_end": "2026-11-20T11:01:00+00:00",
    "negative_ratio": 0.82,
    "baseline": 0.2,
    "zscore": 6.1,
    "count": 17,
    "evidence": [
        {"id": "a", "title": "Oil crashes as inventories surge", "score": -0.97,
         "explanation": [{"token": "crashes", "weight": 0.4}]},
    ],
}  # fmt: skip


def client(settings: AlertSettings, book: EvidenceBook) -> tuple[TestClient, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    return TestClient(create_listener(settings, book, seen.append)), seen


def test_a_notification_is_printed_with_the_detectors_evidence() -> None:
    book = EvidenceBook()
    book.add(DETECTOR_EVENT)
    http, seen = client(AlertSettings(), book)
    answer = http.post("/alertmanager", json=FIRING)
    assert answer.status_code == 200 and answer.json() == {"received": 1}
    record = seen[0]
    assert record["key"] == "Energy | Oil" and record["severity"] == "critical" and record["ends_at"] is None
    assert record["evidence"]["evidence"][0]["title"] == "Oil crashes as inventories surge"
    text = format_text(record)
    assert "[FIRING critical]" in text and "82% negative of 17" in text and "crashes +0.40" in text


def test_a_body_that_is_not_a_notification_is_a_clear_400() -> None:
    http, seen = client(AlertSettings(), EvidenceBook())
    answer = http.post("/alertmanager", content=b'{"status": "firing"}')
    assert answer.status_code == 400 and "not an Alertmanager webhook body" in answer.json()["detail"]
    assert http.post("/alertmanager", content=b"not json").status_code == 400
    assert seen == []


def test_the_bearer_token_is_required_when_set() -> None:
    http, seen = client(AlertSettings(listen_token="s3cret", listen_evidence_wait_s=0.1), EvidenceBook())
    assert http.post("/alertmanager", json=FIRING).status_code == 401
    wrong = http.post("/alertmanager", json=FIRING, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    right = http.post("/alertmanager", json=FIRING, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200 and len(seen) == 1


def test_a_failed_forward_answers_502_so_alertmanager_retries() -> None:
    http, _ = client(AlertSettings(forward_url="http://127.0.0.1:9/nowhere"), EvidenceBook())
    answer = http.post(
        "/alertmanager", json={**FIRING, "alerts": [{**FIRING["alerts"][0], "status": "resolved"}]}
    )
    assert (
        answer.status_code == 502
        and "forwarding to http://127.0.0.1:9/nowhere failed" in answer.json()["detail"]
    )


def notification(keys: list[str]) -> dict[str, Any]:
    alert = FIRING["alerts"][0]
    alerts = [{**alert, "labels": {**alert["labels"], "key": key, "topic": key}} for key in keys]
    return {**FIRING, "alerts": alerts}


class CountingBook(EvidenceBook):
    """The real book, counting the waits the listener asks of it; ``arriving`` is added by another
    thread once a wait has begun (the detector's event reaching the topic reader meanwhile)."""

    def __init__(self, arriving: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.waits: list[tuple[list[str], float]] = []
        self.arriving = arriving

    async def wait_for(self, keys: Iterable[str], wait_s: float) -> None:
        keys = list(keys)
        self.waits.append((sorted(keys), wait_s))
        if self.arriving is not None:
            threading.Thread(target=self.add, args=[self.arriving]).start()
        await super().wait_for(keys, wait_s)


def test_alerts_without_evidence_are_answered_within_one_wait_not_one_per_alert() -> None:
    """Issue 14 item 5: ten alerts whose evidence never comes took ten waits (20 s) before."""
    book = CountingBook()
    http, seen = client(AlertSettings(listen_evidence_wait_s=0.05), book)
    keys = [f"topic {n}" for n in range(10)]
    answer = http.post("/alertmanager", json=notification(keys))
    assert answer.status_code == 200 and answer.json() == {"received": 10}
    assert book.waits == [(sorted(keys), 0.05)], "one wait for all ten alerts together"
    assert all(record["evidence"] is None for record in seen)


def test_evidence_that_arrives_during_the_wait_is_attached() -> None:
    book = CountingBook(arriving=DETECTOR_EVENT)
    http, seen = client(AlertSettings(listen_evidence_wait_s=20.0), book)
    started = time.monotonic()
    assert http.post("/alertmanager", json=FIRING).status_code == 200
    assert time.monotonic() - started < 10  # woken by the event, long before the end of the 20 s wait
    assert len(book.waits) == 1 and seen[0]["evidence"]["zscore"] == 6.1


def test_a_notification_over_the_body_cap_is_a_413() -> None:
    http, seen = client(AlertSettings(listen_max_body_bytes=2000), EvidenceBook())
    big = notification([f"topic {n}" for n in range(40)])
    assert http.post("/alertmanager", json=big).status_code == 413
    chunked = http.post("/alertmanager", content=iter([json.dumps(big).encode()]))  # no Content-Length
    assert chunked.status_code == 413 and seen == []
