"""Sending input the worker cannot process to the dead-letter topic, with a reason, and counting it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import faust

from common.records import InvalidRecord, Rejected
from stream.pipeline.metrics import PipelineMetrics

log = logging.getLogger(__name__)

PAYLOAD_PREVIEW_BYTES = 2048


def rejection(
    error: InvalidRecord, payload: bytes | None, *, topic: str, partition: int, offset: int
) -> Rejected:
    """The dead-letter record for one bad input: why, where it was, and the start of its bytes."""
    raw = payload or b""
    return Rejected(
        reason=error.reason.value,
        detail=error.detail,
        source_topic=topic,
        partition=partition,
        offset=offset,
        payload=raw[:PAYLOAD_PREVIEW_BYTES].decode("utf-8", "backslashreplace"),
        payload_size=len(raw),
        at=datetime.now(UTC),
    )


class DeadLetterSink:
    """The one place where bad input leaves the pipeline: to the topic, to the metric, to the log."""

    def __init__(self, topic: faust.TopicT, metrics: PipelineMetrics) -> None:
        self.topic = topic
        self.metrics = metrics

    async def reject(self, error: InvalidRecord, message: faust.types.Message) -> None:
        record = rejection(
            error, message.value, topic=message.topic, partition=message.partition, offset=message.offset
        )
        delivery = await self.topic.send(
            key=f"{message.topic}:{message.partition}:{message.offset}", value=record
        )
        await delivery  # callers ack the input next: the dead letter must be on the broker first
        self.metrics.deadletters.labels(reason=record.reason).inc()
        log.warning("dead-lettered %s[%d]@%d: %s", message.topic, message.partition, message.offset, error)
