"""The Faust topic objects of the pipeline, declared the same way by every agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from common.records import Alert, Rejected, TrendPoint
from stream.settings import StreamSettings
from stream.topics import TopicNames


@dataclass(frozen=True)
class PipelineTopics:
    """The Faust topic objects of one pipeline namespace."""

    names: TopicNames
    raw: faust.TopicT
    scored: faust.TopicT
    keyed: faust.TopicT
    late: faust.TopicT
    trends: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT


RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def declare_topics(app: faust.App, settings: StreamSettings) -> PipelineTopics:
    names = TopicNames(settings.topic_prefix)
    return PipelineTopics(
        names=names,
        # Raw bytes, so the worker itself decides what is malformed instead of Faust's deserializer.
        raw=app.topic(names.raw, **RAW),
        # Scored documents also arrive as bytes: consumers decode them and dead-letter what they cannot.
        scored=app.topic(names.scored, **RAW),
        # One record per window key of a document, keyed by that key, and the lanes' marks.
        keyed=app.topic(names.keyed, **RAW),
        # Window entries that came after their window was final: not counted, kept to be told.
        late=app.topic(names.late, **RAW),
        trends=app.topic(names.trends, value_type=TrendPoint),
        alerts=app.topic(names.alerts, value_type=Alert),
        deadletter=app.topic(names.deadletter, value_type=Rejected),
    )
