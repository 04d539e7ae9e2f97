"""``tapewatch alerts listen``'s own limits under hostile input (the real server, on the real broker);
the probes every server passes are in ``test_every_server.py``."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.helpers.served import HostileServer

pytestmark = pytest.mark.integration


def test_the_body_is_capped(listener_server: HostileServer) -> None:
    good = json.loads(listener_server.good)
    big = {**good, "alerts": good["alerts"] * 1000}
    headers = {"Authorization": listener_server.authorization.decode()}
    response = httpx.post(f"{listener_server.url}/alertmanager", json=big, headers=headers)
    assert response.status_code == 413 and "50000" in response.json()["error"]
    listener_server.still_serving()
