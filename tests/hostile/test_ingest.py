"""``POST /ingest``'s own answers to hostile requests on a real worker: every item answered, bad ones
refused one by one, bodies that are not documents a 4xx. The probes every server passes are in
``test_every_server.py``."""

from __future__ import annotations

import json

import httpx
import pytest

from stream.topics import TopicNames
from tests.helpers import read_topic
from tests.helpers.hostile_input import dumps, nested
from tests.helpers.served import HostileServer

pytestmark = pytest.mark.integration


def test_bad_items_are_refused_one_by_one_and_the_answer_says_exactly_what_went_in(
    ingest_worker, ingest_server: HostileServer
) -> None:
    """Issue 14 item 2: out-of-range timestamps and a lone surrogate were a 500 after part of the
    request was already sent."""
    good, auth = json.loads(ingest_server.good), {"Authorization": ingest_server.authorization.decode()}
    items = [
        {**good, "id": "in-1"},
        {**good, "id": "bad-1", "published_at": 1e20},
        {**good, "id": "bad-2", "published_at": 253402300800},
        {**good, "id": "bad-3", "published_at": "0001-01-01T00:00:00+14:00"},
        {**good, "id": "bad-4", "published_at": "Infinity"},
        {**good, "id": "bad-\ud800"},
        {**good, "id": "in-2", "source": "x\udc80"},
        {**good, "id": "in-3"},
    ]
    response = httpx.post(f"{ingest_server.url}/ingest", content=dumps(items), headers=auth)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] == [{"index": 0, "id": "in-1"}, {"index": 7, "id": "in-3"}]
    assert [item["index"] for item in answer["rejected"]] == [1, 2, 3, 4, 5, 6] and answer["not_sent"] == []
    assert "lone surrogate" in answer["rejected"][4]["error"] and "source" in answer["rejected"][5]["error"]
    # accepted means on the broker: the topic holds them now (among what other tests sent)
    raw = TopicNames(ingest_worker.settings.topic_prefix).raw
    mine = {item["id"] for item in items}
    sent = [json.loads(r.value)["id"] for r in read_topic(ingest_worker.settings.broker_url, raw)]
    assert sorted(i for i in sent if i in mine) == ["in-1", "in-3"]

    all_bad = httpx.post(f"{ingest_server.url}/ingest", content=dumps([items[1], items[5]]), headers=auth)
    assert all_bad.status_code == 422 and all_bad.json()["accepted"] == []
    ingest_server.still_serving()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (nested(100_000), 400),
        (b'{"published_at": NaN}', 400),
        (b"[" + b"{}," * 1000 + b"{}]", 413),
        (b"[]", 400),
    ],
)
def test_bodies_that_are_not_documents_are_4xx(
    ingest_server: HostileServer, body: bytes, status: int
) -> None:
    auth = {"Authorization": ingest_server.authorization.decode()}
    response = httpx.post(f"{ingest_server.url}/ingest", content=body, headers=auth)
    assert response.status_code == status and response.json()["error"], response.text
    ingest_server.still_serving()
