"""``tapewatch serve-model``'s own answers to hostile requests (a real server): the token before the
body, the docs behind the token, refusals by deadline. The probes every server passes are in
``test_every_server.py``."""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi.testclient import TestClient

from model_service.server import create_app
from model_service.settings import ModelSettings
from tests.helpers.served import HostileServer

pytestmark = pytest.mark.integration

GOOD = {"documents": [{"id": "ok", "text": "Oil prices slump as inventories surge"}]}


def test_the_token_is_checked_before_the_body_is_read(model_server: HostileServer) -> None:
    """Headers announcing 10 MB, and no body at all: without a token the answer comes at once."""
    server = model_server.url
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000000\r\n\r\n")  # fmt: skip
        assert sock.recv(4096).startswith(b"HTTP/1.1 401")


def test_docs_and_openapi_follow_the_token(model_server: HostileServer) -> None:
    server, auth = model_server.url, model_server.authorization.decode()
    assert httpx.get(f"{server}/openapi.json").status_code == 401
    assert httpx.get(f"{server}/docs").status_code == 401
    assert (
        "/v1/classify" in httpx.get(f"{server}/openapi.json", headers={"Authorization": auth}).json()["paths"]
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


def test_a_request_that_cannot_meet_its_deadline_is_refused_at_once(model_server: HostileServer) -> None:
    model_server.still_serving()  # the batcher has timed a batch
    server, auth = model_server.url, {"Authorization": model_server.authorization.decode()}
    late = httpx.post(f"{server}/v1/classify", json=GOOD, headers={**auth, "X-Deadline-Ms": "0.001"})
    assert late.status_code == 503 and "overloaded" in late.json()["error"]
    assert int(late.headers["retry-after"]) >= 1
    bad = httpx.post(f"{server}/v1/classify", json=GOOD, headers={**auth, "X-Deadline-Ms": "soon"})
    assert bad.status_code == 400 and "x-deadline-ms" in bad.json()["error"]
    metrics = httpx.get(f"{server}/metrics").text
    assert 'tapewatch_model_requests_total{status="503"}' in metrics
