"""``tapewatch alerts listen`` under hostile input and slow clients (the real server, on the real broker)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import strategies as st

from common.processes import free_port
from stream.devstack.broker import EmbeddedBroker
from tests.helpers.hostile_input import authorization, bodies, dumps, hostile_text, json_values, timestamps
from tests.helpers.served import (
    assert_non_ascii_authorization_is_401,
    assert_slow_clients_cut_off,
    fuzz_endpoint,
    served,
)

pytestmark = pytest.mark.integration

TOKEN = "listen-token-1"
GOOD_AUTH = f"Bearer {TOKEN}".encode()
HEADER_TIMEOUT_S = 2
MAX_BODY_BYTES = 50_000
GOOD = {
    "status": "resolved",
    "receiver": "tapewatch-warning",
    "alerts": [{"status": "resolved", "labels": {"key": "Energy | Oil"}, "startsAt": "2026-11-20T11:02:00Z"}],
}

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
    {"status": hostile_text, "receiver": hostile_text, "alerts": st.lists(alerts, max_size=4) | json_values},
    optional={"version": json_values, "groupLabels": labels, "externalURL": json_values},
).map(dumps)
requests = st.tuples(
    st.one_of(bodies, notifications), st.one_of(st.just(GOOD_AUTH), authorization), st.just({})
)


@pytest.fixture(scope="module")
def listener(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {
        "TAPEWATCH_ALERT_LISTEN_TOKEN": TOKEN,
        "TAPEWATCH_ALERT_LISTEN_EVIDENCE_WAIT_S": "0.05",
        "TAPEWATCH_ALERT_LISTEN_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "TAPEWATCH_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "TAPEWATCH_HTTP_BODY_TIMEOUT_S": "2",
    }
    args = ["alerts", "listen", "--port", str(port), "--broker", broker.bootstrap, "--topic", "fuzz.alerts"]
    url = f"http://127.0.0.1:{port}"
    with served(args, env, f"{url}/healthz", tmp_path_factory.mktemp("listener") / "listener.log"):
        yield url


def still_serving(url: str) -> None:
    response = httpx.post(f"{url}/alertmanager", json=GOOD, headers={"Authorization": GOOD_AUTH.decode()})
    assert response.status_code == 200 and response.json() == {"received": 1}, response.text


def fuzz(url: str, examples: int) -> None:
    fuzz_endpoint(url, "/alertmanager", requests, examples)
    still_serving(url)


def test_fuzzed_notifications_get_4xx_never_5xx(listener: str) -> None:
    fuzz(listener, 300)


@pytest.mark.fuzz
def test_fuzzed_notifications_ten_thousand(listener: str) -> None:
    fuzz(listener, 10_000)


def test_a_non_ascii_authorization_header_is_a_401(listener: str) -> None:
    assert_non_ascii_authorization_is_401(listener, "/alertmanager", dumps(GOOD))
    still_serving(listener)


def test_the_body_is_capped(listener: str) -> None:
    big = {**GOOD, "alerts": GOOD["alerts"] * 1000}
    response = httpx.post(f"{listener}/alertmanager", json=big, headers={"Authorization": GOOD_AUTH.decode()})
    assert response.status_code == 413 and str(MAX_BODY_BYTES) in response.json()["error"]
    still_serving(listener)


def test_slow_clients_are_cut_off_after_the_header_timeout(listener: str) -> None:
    assert_slow_clients_cut_off(listener, HEADER_TIMEOUT_S)
    still_serving(listener)
