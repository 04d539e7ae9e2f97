"""``POST /ingest`` on a real worker: documents in, clear answers for what is refused."""

from __future__ import annotations

import json

import httpx
import pytest

from stream.devstack.worker_process import WorkerProcess
from stream.topics import TopicNames
from tests.helpers import read_topic

pytestmark = pytest.mark.integration

POST = {
    "source": "social",
    "kind": "post",
    "body": "$TSLA ripping",
    "author": "@amy",
    "published_at": "2026-11-20T14:00:00Z",
}


def test_ingest_endpoint_accepts_documents_and_explains_refusals(make_settings, tmp_path) -> None:
    settings = make_settings(ingest_token="s3cret", max_ingest_bytes=20_000)
    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready(120)
        url = f"http://{settings.web_host}:{settings.web_port}/ingest"
        auth = {"Authorization": "Bearer s3cret"}
        assert httpx.post(url, json=POST).status_code == 401
        assert httpx.post(url, json=POST, headers={"Authorization": "Bearer nope"}).status_code == 401
        bad_json = httpx.post(url, content=b"{", headers=auth)
        assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
        too_big = httpx.post(url, json={**POST, "body": "x" * 30_000}, headers=auth)
        assert too_big.status_code == 413
        response = httpx.post(url, json=[POST, {"source": "social"}, 7], headers=auth)
        assert response.status_code == 202
        body = response.json()
        assert len(body["accepted"]) == 1
        assert [r["index"] for r in body["rejected"]] == [1, 2]
        assert "published_at is required" in body["rejected"][0]["error"]
        records = read_topic(settings.broker_url, TopicNames(settings.topic_prefix).raw)  # accepted: there
        assert [json.loads(r.value)["id"] for r in records] == [item["id"] for item in body["accepted"]]
        assert body["accepted"][0]["index"] == 0 and body["not_sent"] == []
        assert worker.alive()
