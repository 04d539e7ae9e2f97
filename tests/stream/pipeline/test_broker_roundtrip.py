"""The real broker with kafka-python and a real Faust agent: every document once, in order per key."""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import pytest

from common.processes import spawn, terminate
from stream.ingest.producer import DocumentProducer
from stream.prepare.documents import document_from_fields
from stream.topics import ensure_topics
from tests.helpers import ROOT, wait_for_records

pytestmark = pytest.mark.integration


def test_faust_agent_relays_every_document_once_in_order_per_key(make_settings, tmp_path) -> None:
    settings = make_settings()
    relay_topic = f"{settings.topic_prefix}.relay"
    ensure_topics(settings, [f"{settings.topic_prefix}.docs.raw", relay_topic])
    keys = [f"key-{k}" for k in range(10)]
    sent: dict[str, list[str]] = defaultdict(list)
    with DocumentProducer(settings) as producer:
        for n in range(1000):
            key = keys[n % len(keys)]
            doc = document_from_fields(
                {
                    "id": f"doc-{n:04d}",
                    "source": "test",
                    "title": f"headline {n}",
                    "published_at": 1_800_000_000 + n,
                }
            )
            producer.send_raw(key.encode(), doc.dumps())
            sent[key].append(doc.id)
    assert producer.acknowledged == 1000

    log = (tmp_path / "relay.log").open("wb")
    worker = spawn(
        [sys.executable, "-m", "tests.stream.pipeline.relay_app"],
        env={**settings.as_env(), "PYTHONPATH": str(ROOT)},
        output=log,
    )
    try:
        records = wait_for_records(settings.broker_url, relay_topic, expected=1000, timeout=90)
    finally:
        terminate(worker)
        log.close()
    received: dict[str, list[str]] = defaultdict(list)
    for record in records:
        received[record.key.decode()].append(json.loads(record.value)["id"])
    assert sum(len(ids) for ids in received.values()) == 1000, (tmp_path / "relay.log").read_text()[-2000:]
    assert received == sent  # every document once, and per key in the order sent
