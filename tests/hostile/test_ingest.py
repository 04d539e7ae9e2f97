"""``POST /ingest`` on a real worker under hostile input, slow clients and too many connections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import strategies as st

from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.pipeline.topics import TopicNames
from stream.settings import StreamSettings
from tests.helpers import consume, unique_settings
from tests.helpers.hostile_input import authorization, bodies, documents, dumps, nested
from tests.helpers.served import (
    assert_connections_beyond_the_limit_get_503,
    assert_no_5xx,
    assert_non_ascii_authorization_is_401,
    assert_slow_clients_cut_off,
    fuzz_endpoint,
)

pytestmark = pytest.mark.integration

TOKEN = "ingest-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEADER_TIMEOUT_S = 2
MAX_CONNECTIONS = 40
GOOD = {"source": "social", "kind": "post", "body": "$XOM sliding", "published_at": "2026-11-20T14:00:00Z"}

requests = st.tuples(
    st.one_of(bodies, st.lists(documents(), min_size=1, max_size=8).map(dumps)),
    st.one_of(st.just(f"Bearer {TOKEN}".encode()), authorization),
    st.just({}),
)


@dataclass
class Worker:
    url: str
    settings: StreamSettings
    process: WorkerProcess


@pytest.fixture(scope="module")
def worker(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    directory = tmp_path_factory.mktemp("ingest")
    settings = unique_settings(broker, directory, ingest_token=TOKEN, max_ingest_bytes=2_000_000)
    env = {
        "TAPEWATCH_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "TAPEWATCH_HTTP_BODY_TIMEOUT_S": "2",
        "TAPEWATCH_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    with WorkerProcess(settings, Path(directory) / "worker.log", env=env) as process:
        process.wait_ready(180)
        yield Worker(f"http://{settings.web_host}:{settings.web_port}", settings, process)


def still_serving(worker: Worker) -> None:
    response = httpx.post(f"{worker.url}/ingest", json=GOOD, headers=AUTH, timeout=30)
    assert response.status_code == 202 and len(response.json()["accepted"]) == 1, response.text
    assert httpx.get(f"{worker.url}/metrics", timeout=30).status_code == 200
    assert worker.process.alive()


def every_item_answered_once(response: httpx.Response) -> None:
    assert_no_5xx(response)
    if response.status_code in (202, 422):
        answered = [item["index"] for part in response.json().values() for item in part]
        assert sorted(answered) == list(range(len(answered)))


def fuzz(worker: Worker, examples: int) -> None:
    fuzz_endpoint(worker.url, "/ingest", requests, examples, check=every_item_answered_once)
    still_serving(worker)


def test_bad_items_are_refused_one_by_one_and_the_answer_says_exactly_what_went_in(worker: Worker) -> None:
    """Issue 14 item 2: out-of-range timestamps and a lone surrogate were a 500 after part of the
    request was already sent. (First in the module: the raw topic holds only what it sends.)"""
    items = [
        {**GOOD, "id": "in-1"},
        {**GOOD, "id": "bad-1", "published_at": 1e20},
        {**GOOD, "id": "bad-2", "published_at": 253402300800},
        {**GOOD, "id": "bad-3", "published_at": "0001-01-01T00:00:00+14:00"},
        {**GOOD, "id": "bad-4", "published_at": "Infinity"},
        {**GOOD, "id": "bad-\ud800"},
        {**GOOD, "id": "in-2", "source": "x\udc80"},
        {**GOOD, "id": "in-3"},
    ]
    response = httpx.post(f"{worker.url}/ingest", content=dumps(items), headers=AUTH)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] == [{"index": 0, "id": "in-1"}, {"index": 7, "id": "in-3"}]
    assert [item["index"] for item in answer["rejected"]] == [1, 2, 3, 4, 5, 6] and answer["not_sent"] == []
    assert "lone surrogate" in answer["rejected"][4]["error"] and "source" in answer["rejected"][5]["error"]
    raw = TopicNames(worker.settings.topic_prefix).raw
    records = consume(worker.settings.broker_url, raw, expected=2, timeout=20)
    assert sorted(json.loads(r.value)["id"] for r in records) == ["in-1", "in-3"]

    all_bad = httpx.post(f"{worker.url}/ingest", content=dumps([items[1], items[5]]), headers=AUTH)
    assert all_bad.status_code == 422 and all_bad.json()["accepted"] == []
    still_serving(worker)


def test_fuzzed_ingest_requests_get_4xx_never_5xx(worker: Worker) -> None:
    fuzz(worker, 300)


@pytest.mark.fuzz
def test_fuzzed_ingest_requests_ten_thousand(worker: Worker) -> None:
    fuzz(worker, 10_000)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (nested(100_000), 400),
        (b'{"published_at": NaN}', 400),
        (b"[" + b"{}," * 1000 + b"{}]", 413),
        (b"[]", 400),
    ],
)
def test_bodies_that_are_not_documents_are_4xx(worker: Worker, body: bytes, status: int) -> None:
    response = httpx.post(f"{worker.url}/ingest", content=body, headers=AUTH)
    assert response.status_code == status and response.json()["error"], response.text
    still_serving(worker)


def test_a_non_ascii_authorization_header_is_a_401(worker: Worker) -> None:
    assert_non_ascii_authorization_is_401(worker.url, "/ingest", dumps(GOOD))
    still_serving(worker)


def test_slow_clients_are_cut_off_after_the_header_timeout(worker: Worker) -> None:
    assert_slow_clients_cut_off(worker.url, HEADER_TIMEOUT_S)
    still_serving(worker)


def test_connections_beyond_the_limit_are_refused_with_503(worker: Worker) -> None:
    assert_connections_beyond_the_limit_get_503(worker.url, "/metrics", MAX_CONNECTIONS)
    still_serving(worker)
