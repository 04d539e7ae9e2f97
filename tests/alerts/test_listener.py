"""The webhook receiver on Alertmanager requests, in-process (the e2e test runs the real server)."""

from __future__ import annotations

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
    http, seen = client(AlertSettings(listen_token="s3cret"), EvidenceBook())
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
