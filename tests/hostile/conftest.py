"""The three real servers of the hostile-input tests, started once for the package: the worker's
``POST /ingest``, the model service's ``/v1/classify`` and the alert listener's ``/alertmanager``.

Each comes as a ``HostileServer`` (``tests/helpers/served.py``): the probes every server must pass
(``test_every_server.py``) take it by the ``server`` fixture, parametrized over the three; the tests
of one server's own behaviour take its fixture by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import strategies as st

from common.processes import free_port
from stream.devstack.broker import EmbeddedBroker
from stream.devstack.worker_process import WorkerProcess
from stream.settings import StreamSettings
from tests.helpers import unique_settings
from tests.helpers.hostile_input import (
    authorization,
    bodies,
    documents,
    dumps,
    header_bytes,
    hostile_text,
    json_values,
    timestamps,
)
from tests.helpers.served import HostileServer, assert_no_5xx, served

HEADER_TIMEOUT_S = 2
MAX_CONNECTIONS = 40
LIMITS = {
    "TAPEWATCH_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "TAPEWATCH_HTTP_BODY_TIMEOUT_S": "2",
    "TAPEWATCH_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
}


def bearer(token: str) -> bytes:
    return f"Bearer {token}".encode()


def accepted(url: str, path: str, body: bytes, token: bytes, status: int = 200) -> httpx.Response:
    headers = {"Authorization": token.decode(), "Content-Type": "application/json"}
    response = httpx.post(f"{url}{path}", content=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    return response


# POST /ingest on a worker
INGEST_TOKEN = bearer("ingest-token-1")
INGEST_GOOD = {
    "source": "social",
    "kind": "post",
    "body": "$XOM sliding",
    "published_at": "2026-11-20T14:00:00Z",
}


def every_item_answered_once(response: httpx.Response) -> None:
    assert_no_5xx(response)
    if response.status_code in (202, 422):
        answered = [item["index"] for part in response.json().values() for item in part]
        assert sorted(answered) == list(range(len(answered)))


@dataclass
class Worker:
    url: str
    settings: StreamSettings
    process: WorkerProcess


@pytest.fixture(scope="package")
def ingest_worker(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    directory = tmp_path_factory.mktemp("ingest")
    settings = unique_settings(broker, directory, ingest_token="ingest-token-1", max_ingest_bytes=2_000_000)
    with WorkerProcess(settings, Path(directory) / "worker.log", env=LIMITS) as process:
        process.wait_ready(180)
        yield Worker(f"http://{settings.web_host}:{settings.web_port}", settings, process)


@pytest.fixture(scope="package")
def ingest_server(ingest_worker: Worker) -> HostileServer:
    url = ingest_worker.url

    def still_serving() -> None:
        response = accepted(url, "/ingest", dumps(INGEST_GOOD), INGEST_TOKEN, status=202)
        assert len(response.json()["accepted"]) == 1
        assert httpx.get(f"{url}/metrics", timeout=30).status_code == 200
        assert ingest_worker.process.alive()

    requests = st.tuples(
        st.one_of(bodies, st.lists(documents(), min_size=1, max_size=8).map(dumps)),
        st.one_of(st.just(INGEST_TOKEN), authorization),
        st.just({}),
    )
    return HostileServer(
        "ingest", url, "/ingest", dumps(INGEST_GOOD), INGEST_TOKEN, requests, still_serving,
        HEADER_TIMEOUT_S, MAX_CONNECTIONS, "/metrics", every_item_answered_once,
    )  # fmt: skip


# /v1/classify on the model service
MODEL_TOKEN = bearer("fuzz-token-1")
MODEL_GOOD = {"documents": [{"id": "ok", "text": "Oil prices slump as inventories surge"}]}


def refused_only_for_its_deadline(response: httpx.Response) -> None:
    """No 5xx, but for the one 503 the server owes a request whose deadline it cannot meet."""
    if response.status_code == 503 and "x-deadline-ms" in response.request.headers:
        assert "overloaded" in response.json()["error"] and int(response.headers["retry-after"]) >= 1
        return
    assert_no_5xx(response)


@pytest.fixture(scope="package")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    port = free_port()
    env = {
        "TAPEWATCH_MODEL_PORT": str(port),
        "TAPEWATCH_MODEL_TOKEN": MODEL_TOKEN.decode().removeprefix("Bearer "),
        "TAPEWATCH_MODEL_MAX_REQUEST_ITEMS": "16",
        **LIMITS,
    }
    url = f"http://127.0.0.1:{port}"

    def still_serving() -> None:
        response = accepted(url, "/v1/classify", dumps(MODEL_GOOD), MODEL_TOKEN)
        assert response.json()["results"][0]["id"] == "ok"

    documents = st.lists(
        st.fixed_dictionaries({"id": hostile_text | json_values, "text": hostile_text | json_values}),
        max_size=3,
    )
    classify_bodies = st.fixed_dictionaries({"documents": documents}, optional={"explain": json_values})
    deadlines = st.one_of(header_bytes, st.sampled_from([b"abc", b"0", b"-5", b"1e400", b"nan", b"250"]))
    requests = st.tuples(
        st.one_of(bodies, classify_bodies.map(dumps)),
        st.one_of(st.just(MODEL_TOKEN), authorization),
        st.one_of(st.just({}), st.fixed_dictionaries({"X-Deadline-Ms": deadlines})),
    )
    with served(["serve-model"], env, f"{url}/readyz", tmp_path_factory.mktemp("model") / "server.log"):
        yield HostileServer(
            "model", url, "/v1/classify", dumps(MODEL_GOOD), MODEL_TOKEN, requests, still_serving,
            HEADER_TIMEOUT_S, MAX_CONNECTIONS, "/healthz", refused_only_for_its_deadline,
        )  # fmt: skip


# /alertmanager on the alert listener
LISTENER_TOKEN = bearer("listen-token-1")
LISTENER_MAX_BODY_BYTES = 50_000
LISTENER_GOOD = {
    "status": "resolved",
    "receiver": "tapewatch-warning",
    "alerts": [{"status": "resolved", "labels": {"key": "Energy | Oil"}, "startsAt": "2026-11-20T11:02:00Z"}],
}


@pytest.fixture(scope="package")
def listener_server(
    broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileServer]:
    port = free_port()
    env = {
        "TAPEWATCH_ALERT_LISTEN_TOKEN": LISTENER_TOKEN.decode().removeprefix("Bearer "),
        "TAPEWATCH_ALERT_LISTEN_EVIDENCE_WAIT_S": "0.05",
        "TAPEWATCH_ALERT_LISTEN_MAX_BODY_BYTES": str(LISTENER_MAX_BODY_BYTES),
        **LIMITS,
    }
    args = ["alerts", "listen", "--port", str(port), "--broker", broker.bootstrap, "--topic", "fuzz.alerts"]
    url = f"http://127.0.0.1:{port}"

    def still_serving() -> None:
        assert accepted(url, "/alertmanager", dumps(LISTENER_GOOD), LISTENER_TOKEN).json() == {"received": 1}

    labels = st.dictionaries(hostile_text, hostile_text | json_values, max_size=4)
    alerts = st.fixed_dictionaries(
        {"status": st.sampled_from(["firing", "resolved"]) | hostile_text, "labels": labels | json_values},
        optional={
            "startsAt": timestamps,
            "endsAt": timestamps,
            "annotations": labels,
            "fingerprint": json_values,
        },
    )
    notifications = st.fixed_dictionaries(
        {
            "status": hostile_text,
            "receiver": hostile_text,
            "alerts": st.lists(alerts, max_size=4) | json_values,
        },
        optional={"version": json_values, "groupLabels": labels, "externalURL": json_values},
    )
    requests = st.tuples(
        st.one_of(bodies, notifications.map(dumps)),
        st.one_of(st.just(LISTENER_TOKEN), authorization),
        st.just({}),
    )
    with served(args, env, f"{url}/healthz", tmp_path_factory.mktemp("listener") / "listener.log"):
        yield HostileServer(
            "listener", url, "/alertmanager", dumps(LISTENER_GOOD), LISTENER_TOKEN, requests, still_serving,
            HEADER_TIMEOUT_S, MAX_CONNECTIONS, "/healthz",
        )  # fmt: skip


@pytest.fixture(params=["ingest", "model", "listener"])
def server(request: pytest.FixtureRequest) -> HostileServer:
    """Each of the three servers in turn, for the probes every one of them must pass."""
    return request.getfixturevalue(f"{request.param}_server")
