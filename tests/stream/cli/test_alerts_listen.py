"""``tapewatch alerts listen`` finds the alerts topic of TAPEWATCH_TOPIC_PREFIX, on the real broker."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import httpx

from alerts.detector import alert_id
from common.processes import free_port, spawn, terminate
from common.records import Alert, Evidence
from stream.ingest.producer import DocumentProducer
from stream.topics import TopicNames, ensure_topics
from tests.helpers import wait_until

KEY = "Energy | Oil"
WINDOW_END = datetime(2026, 11, 20, 11, 1, tzinfo=UTC)
NOTIFICATION = {
    "status": "firing",
    "receiver": "tapewatch-critical",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "NegativeSentimentSpike", "severity": "critical", "topic": KEY},
            "startsAt": "2026-11-20T11:02:00Z",
        }
    ],
}


def test_the_listener_reads_evidence_from_the_prefixed_alerts_topic(make_settings, tmp_path) -> None:
    settings = make_settings()
    ensure_topics(settings)
    alert = Alert(
        id=alert_id(KEY, WINDOW_END, "firing"), key=KEY, kind="negative_spike", state="firing",
        severity="critical", window_start=WINDOW_END, window_end=WINDOW_END, negative_ratio=0.8,
        baseline=0.2, zscore=6.0, count=20, evidence=[Evidence(id="a", title="Oil crashes", score=-0.9)],
        fired_at=WINDOW_END,
    )  # fmt: skip
    with DocumentProducer(settings, topic=TopicNames(settings.topic_prefix).alerts) as producer:
        producer.send_raw(KEY.encode(), alert.dumps())
    port = free_port()
    output = tmp_path / "listener.out"
    with output.open("wb") as out:
        listener = spawn(
            [sys.executable, "-m", "stream.cli", "alerts", "listen", "--json", "--port", str(port)],
            env=settings.as_env(),  # the broker and the topic prefix, nothing on the command line
            output=out,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{url}/healthz"), 60, "the listener to answer")
        assert httpx.post(f"{url}/alertmanager", json=NOTIFICATION, timeout=10).status_code == 200
        lines = wait_until(lambda: _records(output), 10, "the printed notification")
    finally:
        terminate(listener)
    assert f"evidence from {settings.topic_prefix}.alerts" in output.read_text()
    assert lines[0]["evidence"]["id"] == alert.id
    assert lines[0]["evidence"]["evidence"][0]["title"] == "Oil crashes"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
