"""``tapewatch serve-model`` under hostile input, slow clients and too many connections (a real server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from common.processes import free_port
from model_service.server import create_app
from model_service.settings import ModelSettings
from tests.helpers.hostile_input import authorization, bodies, dumps, header_bytes, hostile_text, json_values
from tests.helpers.served import (
    assert_connections_beyond_the_limit_get_503,
    assert_no_5xx,
    assert_non_ascii_authorization_is_401,
    assert_slow_clients_cut_off,
    fuzz_endpoint,
    served,
)

pytestmark = pytest.mark.integration

TOKEN = "fuzz-token-1"
GOOD_AUTH = f"Bearer {TOKEN}".encode()
GOOD = {"documents": [{"id": "ok", "text": "Oil prices slump as inventories surge"}]}
HEADER_TIMEOUT_S = 2
MAX_CONNECTIONS = 40

classify_bodies = st.fixed_dictionaries(
    {
        "documents": st.lists(
            st.fixed_dictionaries({"id": hostile_text | json_values, "text": hostile_text | json_values}),
            max_size=3,
        )
    },
    optional={"explain": json_values},
).map(dumps)
deadlines = st.one_of(header_bytes, st.sampled_from([b"abc", b"0", b"-5", b"1e400", b"nan", b"250"]))
requests = st.tuples(
    st.one_of(bodies, classify_bodies),
    st.one_of(st.just(GOOD_AUTH), authorization),
    st.one_of(st.just({}), st.fixed_dictionaries({"X-Deadline-Ms": deadlines})),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {
        "TAPEWATCH_MODEL_PORT": str(port),
        "TAPEWATCH_MODEL_TOKEN": TOKEN,
        "TAPEWATCH_MODEL_MAX_REQUEST_ITEMS": "16",
        "TAPEWATCH_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "TAPEWATCH_HTTP_BODY_TIMEOUT_S": "2",
        "TAPEWATCH_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("model") / "server.log"
    with served(["serve-model"], env, f"{url}/readyz", log):
        yield url


def still_serving(url: str) -> None:
    response = httpx.post(
        f"{url}/v1/classify", json=GOOD, headers={"Authorization": GOOD_AUTH.decode()}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["id"] == "ok"


def refused_only_for_its_deadline(response: httpx.Response) -> None:
    """No 5xx, but for the one 503 the server owes a request whose deadline it cannot meet."""
    if response.status_code == 503 and "x-deadline-ms" in response.request.headers:
        assert "overloaded" in response.json()["error"] and int(response.headers["retry-after"]) >= 1
        return
    assert_no_5xx(response)


def fuzz(url: str, examples: int) -> None:
    fuzz_endpoint(url, "/v1/classify", requests, examples, check=refused_only_for_its_deadline)
    still_serving(url)


def test_fuzzed_classify_requests_get_4xx_never_5xx(server: str) -> None:
    fuzz(server, 300)


@pytest.mark.fuzz
def test_fuzzed_classify_requests_ten_thousand(server: str) -> None:
    fuzz(server, 10_000)


def test_a_non_ascii_authorization_header_is_a_401(server: str) -> None:
    assert_non_ascii_authorization_is_401(server, "/v1/classify", dumps(GOOD))
    still_serving(server)


def test_the_token_is_checked_before_the_body_is_read(server: str) -> None:
    """Headers announcing 10 MB, and no body at all: without a token the answer comes at once."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000000\r\n\r\n")  # fmt: skip
        assert sock.recv(4096).startswith(b"HTTP/1.1 401")


def test_docs_and_openapi_follow_the_token(server: str) -> None:
    assert httpx.get(f"{server}/openapi.json").status_code == 401
    assert httpx.get(f"{server}/docs").status_code == 401
    assert (
        "/v1/classify"
        in httpx.get(f"{server}/openapi.json", headers={"Authorization": GOOD_AUTH.decode()}).json()["paths"]
    )
    assert (
        httpx.get(f"{server}/metrics").status_code == 200
        and httpx.get(f"{server}/healthz").status_code == 200
    )


def test_a_setting_opens_the_docs(engine) -> None:
    app = create_app(ModelSettings(token="t", open_docs=True), engine=engine)
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.post("/v1/classify", json=GOOD).status_code == 401


def test_slow_clients_are_cut_off_after_the_header_timeout(server: str) -> None:
    assert_slow_clients_cut_off(server, HEADER_TIMEOUT_S)
    still_serving(server)


def test_connections_beyond_the_limit_are_refused_with_503(server: str) -> None:
    assert_connections_beyond_the_limit_get_503(server, "/healthz", MAX_CONNECTIONS)
    still_serving(server)


def test_a_request_that_cannot_meet_its_deadline_is_refused_at_once(server: str) -> None:
    still_serving(server)  # the batcher has timed a batch
    auth = {"Authorization": GOOD_AUTH.decode()}
    late = httpx.post(f"{server}/v1/classify", json=GOOD, headers={**auth, "X-Deadline-Ms": "0.001"})
    assert late.status_code == 503 and "overloaded" in late.json()["error"]
    assert int(late.headers["retry-after"]) >= 1
    bad = httpx.post(f"{server}/v1/classify", json=GOOD, headers={**auth, "X-Deadline-Ms": "soon"})
    assert bad.status_code == 400 and "x-deadline-ms" in bad.json()["error"]
    metrics = httpx.get(f"{server}/metrics").text
    assert 'tapewatch_model_requests_total{status="503"}' in metrics
