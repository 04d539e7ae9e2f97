"""A kafka-python producer of Documents to the raw-documents topic, used by every ingest source."""

from __future__ import annotations

import logging
from types import TracebackType

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import RecordMetadata

from common.records import Document
from stream.ingest.outcome import SentRecords
from stream.prepare.dedupe import raw_topic_key
from stream.settings import StreamSettings
from stream.topics import TopicNames, ensure_topics

log = logging.getLogger(__name__)


class DocumentProducer:
    """Sends Documents keyed by story; counts what the broker acknowledged and what failed."""

    def __init__(
        self, settings: StreamSettings, topic: str | None = None, sent: SentRecords | None = None
    ) -> None:
        self.topic = topic or TopicNames(settings.topic_prefix).raw
        ensure_topics(settings, [self.topic])
        self._producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            client_id="tapewatch-ingest",
            acks="all",
            linger_ms=5,
            max_request_size=settings.max_message_bytes,
        )
        self.acknowledged = 0
        self.sent = sent  # where each acknowledged record landed, for the ingest summary
        self.failed = 0
        self.last_error: str | None = None

    def _on_success(self, metadata: RecordMetadata) -> None:
        self.acknowledged += 1
        if self.sent is not None:
            self.sent.add(metadata.partition, metadata.offset)

    def _on_error(self, error: BaseException) -> None:
        self.failed += 1
        self.last_error = str(error)
        log.error("send failed: %s", error)

    def send(self, document: Document) -> None:
        self.send_raw(raw_topic_key(document), document.dumps())

    def send_raw(self, key: bytes | None, value: bytes) -> None:
        """Send bytes as they are (tests use it to send malformed input)."""
        try:
            future = self._producer.send(self.topic, key=key, value=value)
        except KafkaError as exc:
            self._on_error(exc)
            return
        future.add_callback(self._on_success).add_errback(self._on_error)

    def flush(self, timeout: float = 30.0) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> DocumentProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
