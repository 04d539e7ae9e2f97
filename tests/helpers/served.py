"""Real servers for the hostile-input tests (tests/hostile/), and the probes every one of them must pass."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.processes import serving
from tests.helpers import wait_until

Request = tuple[bytes, bytes | None, dict[str, bytes]]  # body, Authorization header, other headers


@contextmanager
def served(args: list[str], env: Mapping[str, str], ready_url: str, log: Path) -> Iterator[Popen[bytes]]:
    """``python -m stream.cli *args`` until ``ready_url`` answers 200; stopped on exit."""
    with serving([sys.executable, "-m", "stream.cli", *args], env, ready_url, log) as process:
        yield process


def post_raw(
    client: httpx.Client, path: str, body: bytes, authorization: bytes | None, **headers: str | bytes
) -> httpx.Response:
    """A POST of exactly these bytes, with this Authorization header (or none)."""
    sent = {"Content-Type": "application/json", **headers}
    if authorization is not None:
        sent["Authorization"] = authorization
    return client.post(path, content=body, headers=sent)  # type: ignore[arg-type]


def assert_no_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}"
    )


def fuzz_endpoint(
    url: str,
    path: str,
    requests: st.SearchStrategy[Request],
    examples: int,
    check: Callable[[httpx.Response], None] = assert_no_5xx,
) -> None:
    """``examples`` hostile POSTs to ``path``, each answer passed to ``check`` (by default: no 5xx)."""
    with httpx.Client(base_url=url, timeout=30) as client:

        @settings(
            max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(requests)
        def one(request: Request) -> None:
            body, authorization, headers = request
            check(post_raw(client, path, body, authorization, **headers))  # type: ignore[arg-type]

        one()


@dataclass(frozen=True)
class HostileServer:
    """A real server under the hostile-input probes: where to post, a request it accepts, the fuzzed
    requests and what each answer to them must be, and how to tell it is still serving afterwards."""

    name: str
    url: str
    path: str
    good: bytes  # a body the server accepts with ``authorization``
    authorization: bytes
    requests: st.SearchStrategy[Request]
    still_serving: Callable[[], None]
    header_timeout_s: float
    max_connections: int
    probe_path: str  # answers without a token: what the connection-limit probe asks
    check: Callable[[httpx.Response], None] = assert_no_5xx


def assert_non_ascii_authorization_is_401(url: str, path: str, body: bytes) -> None:
    """Issue 14 item 1: such headers were a 500 before the token was checked."""
    with httpx.Client(base_url=url) as client:
        for header in (b"Bearer \xe9\xe9", b"Bearer \xc3\xa9", b"\xff"):
            response = post_raw(client, path, body, header)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def slow_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each send half a request line and then nothing (slowloris)."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` (end of stream or reset) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(4096) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def assert_slow_clients_cut_off(url: str, header_timeout_s: float, count: int = 30) -> None:
    """Issue 14 item 7: 300 of 300 half-sent requests stayed open for 30 s on every server."""
    sockets = slow_sockets(*host_port(url), count)
    try:
        assert all(closed_by_server(sock, header_timeout_s + 3) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def assert_connections_beyond_the_limit_get_503(url: str, probe_path: str, limit: int) -> None:
    sockets = slow_sockets(*host_port(url), limit)
    try:
        assert httpx.get(f"{url}{probe_path}").status_code == 503
    finally:
        for sock in sockets:
            sock.close()
    # the server counts a connection until it has seen it close: wait for that, not a fixed time
    wait_until(lambda: httpx.get(f"{url}{probe_path}").status_code != 503, 10, "the closed connections to go")
