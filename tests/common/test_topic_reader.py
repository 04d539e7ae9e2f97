"""TopicReader on the real broker: where it starts, where it stops, and that no group moves."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from common.topic_reader import ReadStalled, TopicReader

T0_MS = int(datetime(2026, 11, 20, 14, 0, tzinfo=UTC).timestamp() * 1000)


def topic_with_records(broker, per_partition: int = 5) -> str:
    """A 2-partition topic; record n of partition p is b"p:n", stamped T0 + n minutes.

    One record per batch: the embedded broker reports a partition's end as its last batch's base
    offset + 1, which is the true end only then (a reader stops at or after the reported end, so a
    coarser end only means reading more, never less).
    """
    name = f"reader-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(name, 2, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for n in range(per_partition):
        for partition in (0, 1):
            producer.send(
                name, f"{partition}:{n}".encode(), partition=partition, timestamp_ms=T0_MS + n * 60_000
            )
            producer.flush()
    producer.close()
    return name


def values(records) -> list[str]:
    return sorted(r.value.decode() for r in records)


def test_start_tail_and_time_read_what_they_say_and_stop_at_the_end(broker) -> None:
    topic = topic_with_records(broker)
    with TopicReader([broker.bootstrap], topic, "test") as reader:
        assert len(list(reader.from_start().records())) == 10
    with TopicReader([broker.bootstrap], topic, "test") as reader:
        assert values(reader.from_tail(2).records()) == ["0:3", "0:4", "1:3", "1:4"]
    with TopicReader([broker.bootstrap], topic, "test") as reader:
        at = datetime.fromtimestamp((T0_MS + 3 * 60_000) / 1000, tz=UTC)
        assert values(reader.from_time(at).records()) == ["0:3", "0:4", "1:3", "1:4"]


def test_a_finished_partition_yields_nothing_more(broker) -> None:
    topic = topic_with_records(broker)
    seen = []
    with TopicReader([broker.bootstrap], topic, "test") as reader:
        for record in reader.from_start().records():
            seen.append(record.value.decode())
            if record.partition == 0:
                reader.finish(TopicPartition(topic, 0))
    assert [v for v in seen if v.startswith("0:")] == ["0:0"]
    assert len([v for v in seen if v.startswith("1:")]) == 5


def test_following_sees_later_records_until_stopped(broker) -> None:
    topic = topic_with_records(broker, per_partition=1)
    stop = threading.Event()
    seen: list[str] = []
    with TopicReader([broker.bootstrap], topic, "test", poll_ms=100) as reader:
        records = reader.from_start().records(follow=True, stop=stop)
        seen += [next(records).value.decode(), next(records).value.decode()]
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send(topic, b"0:late", partition=0)
        producer.close()
        seen.append(next(records).value.decode())
        stop.set()
        assert list(records) == []
    assert seen[-1] == "0:late"


def test_a_missing_topic_reads_as_empty(broker) -> None:
    with TopicReader([broker.bootstrap], f"missing-{uuid.uuid4().hex[:8]}", "test") as reader:
        assert not reader.exists
        assert list(reader.from_start().records()) == []


def test_fetched_ends_are_exact_when_the_listed_end_is_a_batch_short(broker) -> None:
    topic = topic_with_records(broker)  # 5 records a partition, one per batch
    with TopicReader([broker.bootstrap], topic, "test") as reader:
        assert reader.fetched_ends() == {0: 5, 1: 5}
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        for _ in range(4):  # one batch of 4: listed, the end would be 6
            producer.send(topic, b"more", partition=0)
        producer.flush()
        producer.close()
        assert reader.consumer.end_offsets([TopicPartition(topic, 0)])[TopicPartition(topic, 0)] < 9
        assert reader.fetched_ends() == {0: 9, 1: 5}  # the same reader, asked again


class SlowFetchConsumer:
    """A stand-in for KafkaConsumer on a busy machine: the broker lists partition 0's end a batch short
    (1, as the embedded Tansu does for a batch of 4), and the first fetch response comes after two
    empty polls. A real broker cannot be made that slow on demand."""

    def __init__(self, **_config: object) -> None:
        self.tp = TopicPartition("slow", 0)
        self.at, self.polls, self.fetched = 0, 0, False

    def partitions_for_topic(self, _topic: str) -> set[int]:
        return {0}

    def assign(self, _partitions: object) -> None: ...

    def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(partitions, 1)

    def seek(self, _tp: TopicPartition, offset: int) -> None:
        self.at = offset

    def position(self, _tp: TopicPartition) -> int:
        return self.at

    def highwater(self, _tp: TopicPartition) -> int | None:
        return 4 if self.fetched else None

    def poll(self, timeout_ms: int = 0) -> dict:
        self.polls += 1
        if self.polls <= 2:
            return {}
        self.fetched = True
        records = [
            SimpleNamespace(topic="slow", partition=0, offset=n, timestamp=T0_MS) for n in range(self.at, 4)
        ]
        self.at = 4
        return {self.tp: records} if records else {}

    def pause(self, _tp: TopicPartition) -> None: ...

    def close(self) -> None: ...


def test_empty_polls_before_the_first_fetch_response_do_not_end_a_read(monkeypatch) -> None:
    """Issue 37: the reader ended a partition at the broker's listed end after two empty polls, which a
    slow fetch gives while records remain; now only a fetch's high watermark ends it."""
    monkeypatch.setattr("common.topic_reader.KafkaConsumer", SlowFetchConsumer)
    with TopicReader(["stand-in:9092"], "slow", "test", poll_ms=1) as reader:
        reader.consumer.seek(TopicPartition("slow", 0), 1)  # where the listed end says the topic ends
        assert [r.offset for r in reader.records()] == [1, 2, 3]


def test_a_read_the_broker_never_answers_is_an_error_not_a_short_read(monkeypatch) -> None:
    monkeypatch.setattr(SlowFetchConsumer, "poll", lambda self, timeout_ms=0: {})
    monkeypatch.setattr("common.topic_reader.KafkaConsumer", SlowFetchConsumer)
    reader = TopicReader(["stand-in:9092"], "slow", "test", poll_ms=1, stall_s=0.05)
    with reader, pytest.raises(ReadStalled, match="partition 0 at 0, end None"):
        list(reader.records())
