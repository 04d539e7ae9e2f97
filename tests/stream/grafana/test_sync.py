"""``tapewatch grafana sync`` against a FAKE Grafana HTTP API (no Grafana server can run here).

The fake is a local HTTP server that implements the few endpoints the sync calls, as Grafana's HTTP
API documents them (folders, dashboards/db, annotations), and records every request so the test can
check paths, payloads and the bearer token. The alerts come from the real broker.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from kafka import KafkaProducer

from common.records import Alert, Evidence
from stream.topics import TopicNames, ensure_topics
from tests.helpers import tapewatch

TOKEN = "glsa_test_token"


class FakeGrafanaAPI(ThreadingHTTPServer):
    """Folders, dashboards and annotations in memory; answers 401 without the right bearer token."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeGrafanaHandler)
        self.requests: list[tuple[str, str, Any]] = []
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.annotations: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeGrafanaHandler(BaseHTTPRequestHandler):
    server: FakeGrafanaAPI

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_call(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        url = urlparse(self.path)
        self.server.requests.append((method, self.path, body))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, {"message": "Unauthorized"})
        grafana = self.server
        if method == "GET" and url.path.startswith("/api/folders/"):
            uid = url.path.rsplit("/", 1)[1]
            folder = grafana.folders.get(uid)
            return self.answer(200, folder) if folder else self.answer(404, {"message": "folder not found"})
        if method == "POST" and url.path == "/api/folders":
            grafana.folders[body["uid"]] = body
            return self.answer(200, body)
        if method == "POST" and url.path == "/api/dashboards/db":
            grafana.dashboards[body["dashboard"]["uid"]] = body
            return self.answer(200, {"status": "success", "uid": body["dashboard"]["uid"]})
        if method == "GET" and url.path == "/api/annotations":
            tags = parse_qs(url.query).get("tags", [])
            found = [a for a in grafana.annotations if set(tags) <= set(a["tags"])]
            return self.answer(200, found)
        if method == "POST" and url.path == "/api/annotations":
            grafana.annotations.append({**body, "id": len(grafana.annotations) + 1})
            return self.answer(200, {"id": len(grafana.annotations), "message": "Annotation added"})
        return self.answer(404, {"message": f"no fake for {method} {url.path}"})

    def do_GET(self) -> None:
        self.handle_call("GET")

    def do_POST(self) -> None:
        self.handle_call("POST")


def alert(key: str, minute: int) -> Alert:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 20, 11, minute, tzinfo=UTC)
    return Alert(
        id=f"alert-{key}-{minute}", key=key, kind="negative_spike", state="firing", severity="critical",
        window_start=at, window_end=at, negative_ratio=0.8, baseline=0.2, zscore=6.0, count=20,
        evidence=[Evidence(id="d1", title="Crude tumbles on demand fears", score=-0.97)], fired_at=at,
    )  # fmt: skip


def test_sync_pushes_dashboards_and_posts_each_alert_once_to_a_fake_grafana(make_settings) -> None:
    settings = make_settings()
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.broker_url)
    topic = TopicNames(settings.topic_prefix).alerts
    for record in (alert("Energy | Oil", 1), alert("$XOM", 2)):
        producer.send(topic, key=record.key.encode(), value=record.dumps())
    producer.send(topic, value=b"not an alert")
    producer.flush()
    producer.close()

    grafana = FakeGrafanaAPI()
    threading.Thread(target=grafana.serve_forever, daemon=True).start()
    env = {**settings.as_env(), "TAPEWATCH_GRAFANA_URL": grafana.url, "TAPEWATCH_GRAFANA_TOKEN": TOKEN}
    try:
        first = tapewatch("grafana", "sync", env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        assert "3 dashboards pushed, 2 alert annotations posted, 0 already there" in first.stdout
        assert "1 unreadable records skipped" in first.stdout

        assert grafana.folders == {"tapewatch": {"title": "tapewatch", "uid": "tapewatch"}}
        assert set(grafana.dashboards) == {"tapewatch-market", "tapewatch-ticker", "tapewatch-pipeline"}
        for pushed in grafana.dashboards.values():
            assert pushed["folderUid"] == "tapewatch" and pushed["overwrite"] is True
            assert pushed["dashboard"]["panels"], "a dashboard without panels"
        by_key = {a["tags"][3]: a for a in grafana.annotations}
        assert by_key["Energy | Oil"]["dashboardUID"] == "tapewatch-market"
        assert by_key["$XOM"]["dashboardUID"] == "tapewatch-ticker"
        assert by_key["Energy | Oil"]["time"] == 1795172460000  # 2026-11-20T11:01:00Z in ms
        assert "Crude tumbles on demand fears" in by_key["Energy | Oil"]["text"]
        assert "tapewatch-alert:alert-$XOM-2" in by_key["$XOM"]["tags"]

        again = tapewatch("grafana", "sync", "--no-dashboards", env=env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "0 dashboards pushed, 0 alert annotations posted, 2 already there" in again.stdout
        assert len(grafana.annotations) == 2

        wrong = tapewatch("grafana", "sync", env={**env, "TAPEWATCH_GRAFANA_TOKEN": "nope"})
        assert wrong.returncode == 1
        assert "refused" in wrong.stderr and "TAPEWATCH_GRAFANA_TOKEN" in wrong.stderr
    finally:
        grafana.shutdown()
