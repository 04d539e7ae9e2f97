"""Malformed input reaches the dead-letter topic with a reason and its offset; the worker keeps going."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from stream.devstack.worker_process import WorkerProcess
from stream.prepare.documents import document_from_fields
from stream.topics import TopicNames, ensure_topics
from tests.helpers import raw_finished, read_topic, wait_until, wait_until_drained

pytestmark = pytest.mark.integration

MALFORMED = {
    "invalid_json": b'{"source": "wire", "title": ',
    "unsupported_schema_version": json.dumps(
        {"schema_version": 2, "source": "wire", "title": "t", "published_at": "2026-11-20T14:00:00Z"}
    ).encode(),
    "missing_field": json.dumps({"title": "no source, no time"}).encode(),
    "not_utf8": b'{"title": "\xff\xfe"}',
    "too_large": b'{"source": "wire", "title": "' + b"x" * (10 * 1024 * 1024) + b'"}',
}


def test_each_malformed_case_is_dead_lettered_and_the_worker_keeps_running(make_settings, tmp_path) -> None:
    settings = make_settings()
    names = TopicNames(settings.topic_prefix)
    ensure_topics(settings)
    producer = KafkaProducer(
        bootstrap_servers=settings.broker_url, max_request_size=settings.max_message_bytes
    )
    offsets = {}
    for reason, payload in MALFORMED.items():
        metadata = producer.send(names.raw, key=reason.encode(), value=payload).get(timeout=30)
        offsets[reason] = (metadata.partition, metadata.offset)
    valid = document_from_fields({"source": "wire", "title": "Fine", "published_at": "2026-11-20T14:00:00Z"})
    producer.send(names.raw, key=b"valid", value=valid.dumps()).get(timeout=30)
    producer.close()

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        wait_until(lambda: raw_finished(settings), 60, "every raw record to be finished")
        records = read_topic(settings.broker_url, names.deadletter)
        rejected = {json.loads(r.value)["reason"]: json.loads(r.value) for r in records}
        assert set(rejected) == set(MALFORMED), worker.log_tail()
        for reason, (partition, offset) in offsets.items():
            record = rejected[reason]
            assert (record["source_topic"], record["partition"], record["offset"]) == (
                names.raw,
                partition,
                offset,
            )
            assert record["detail"]
            assert record["payload_size"] == len(MALFORMED[reason])
        assert rejected["too_large"]["payload_size"] > 10 * 1024 * 1024
        assert len(rejected["too_large"]["payload"]) < 10_000

        def counted() -> dict:
            samples = worker.metrics()
            dead = {
                dict(labels)["reason"]: v
                for (name, labels), v in samples.items()
                if name == "tapewatch_deadletters_total"
            }
            accepted = samples.get(("tapewatch_documents_received_total", frozenset({("source", "wire")})), 0)
            return (
                {"dead": dead, "accepted": accepted} if accepted == 1 and len(dead) == len(MALFORMED) else {}
            )

        metrics = wait_until(counted, 30, "the metrics to count every case")
        assert metrics["dead"] == dict.fromkeys(MALFORMED, 1.0)
        assert worker.alive(), worker.log_tail()


def test_unreadable_records_on_the_workers_own_topics_neither_stop_it_nor_vanish(
    make_settings, tmp_path
) -> None:
    """A bad trend point is skipped (and counted) at restart recovery; a scored document of an unknown
    schema version is dead-lettered by ``archive`` (the scored topic's reader) with that reason, and a
    keyed record that is neither an entry nor a mark by ``aggregate``, like raw input."""
    settings = make_settings()
    names = TopicNames(settings.topic_prefix)
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.broker_url)
    producer.send(names.trends, value=b"{not a trend point").get(timeout=30)
    producer.send(names.trends, value=json.dumps({"schema_version": 9, "key": "Energy | Oil"}).encode()).get(
        timeout=30
    )
    future_scored = json.dumps({"schema_version": 9, "document": {}, "topic": "Energy | Oil"}).encode()
    offsets = {
        names.scored: producer.send(names.scored, value=future_scored).get(timeout=30).offset,
        names.keyed: producer.send(names.keyed, key=b"Macro", value=b"[1, 2]").get(timeout=30).offset,
    }
    valid = document_from_fields({"source": "wire", "title": "Fine", "published_at": "2026-11-20T14:00:00Z"})
    producer.send(names.raw, key=b"valid", value=valid.dumps()).get(timeout=30)
    producer.close()

    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready()
        wait_until_drained(settings, 60)
        records = [json.loads(r.value) for r in read_topic(settings.broker_url, names.deadletter)]
        assert {(r["source_topic"], r["offset"], r["reason"]) for r in records} == {
            (names.scored, offsets[names.scored], "unsupported_schema_version"),
            (names.keyed, offsets[names.keyed], "not_an_object"),
        }

        def skipped() -> dict[str, float]:
            found = {
                dict(labels)["reason"]: value
                for (name, labels), value in worker.metrics().items()
                if name == "tapewatch_unreadable_records_total" and dict(labels)["topic"] == names.trends
            }
            return found if len(found) == 2 else {}

        assert wait_until(skipped, 30, "the skipped trend points to be counted") == {
            "invalid_json": 1.0,
            "unsupported_schema_version": 1.0,
        }
        wait_until(
            lambda: worker.total("tapewatch_documents_scored_total") == 1, 60, "the valid document scored"
        )
        assert worker.alive(), worker.log_tail()
