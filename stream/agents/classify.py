"""Agent ``classify``: reads raw documents, dead-letters what cannot be read.

Classification (model batches, ScoredDocument output) builds on this intake step.
"""

from __future__ import annotations

import logging

import faust

from stream.deadletter import DeadLetterSink
from stream.documents import InvalidDocument, decode_document
from stream.metrics import DOCUMENTS_RECEIVED, source_label
from stream.settings import StreamSettings
from stream.topics import PipelineTopics

log = logging.getLogger(__name__)


def add_classify_agent(app: faust.App, topics: PipelineTopics, settings: StreamSettings) -> None:
    deadletters = DeadLetterSink(topics.deadletter)

    @app.agent(topics.raw, name="classify")
    async def classify(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                document = decode_document(event.message.value, max_bytes=settings.max_document_bytes)
            except InvalidDocument as error:
                await deadletters.reject(error, event.message)
                continue
            DOCUMENTS_RECEIVED.labels(source=source_label(document.source)).inc()
