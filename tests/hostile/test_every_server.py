"""What every HTTP server of tapewatch must survive (the worker's ``POST /ingest``, the model service,
the alert listener), each a real server started once for the package (``conftest.py``): fuzzed
requests answered 4xx and never 5xx, a non-ASCII Authorization header a plain 401, slow clients cut
off after the header timeout, connections beyond the limit refused with 503. After each probe the
server still serves a good request."""

from __future__ import annotations

import pytest

from tests.helpers.served import (
    HostileServer,
    assert_connections_beyond_the_limit_get_503,
    assert_non_ascii_authorization_is_401,
    assert_slow_clients_cut_off,
    fuzz_endpoint,
)

pytestmark = pytest.mark.integration


def fuzz(server: HostileServer, examples: int) -> None:
    fuzz_endpoint(server.url, server.path, server.requests, examples, check=server.check)
    server.still_serving()


def test_fuzzed_requests_get_4xx_never_5xx(server: HostileServer) -> None:
    fuzz(server, 300)


@pytest.mark.fuzz
def test_fuzzed_requests_ten_thousand(server: HostileServer) -> None:
    fuzz(server, 10_000)


def test_a_non_ascii_authorization_header_is_a_401(server: HostileServer) -> None:
    assert_non_ascii_authorization_is_401(server.url, server.path, server.good)
    server.still_serving()


def test_slow_clients_are_cut_off_after_the_header_timeout(server: HostileServer) -> None:
    assert_slow_clients_cut_off(server.url, server.header_timeout_s)
    server.still_serving()


def test_connections_beyond_the_limit_are_refused_with_503(server: HostileServer) -> None:
    assert_connections_beyond_the_limit_get_503(server.url, server.probe_path, server.max_connections)
    server.still_serving()
