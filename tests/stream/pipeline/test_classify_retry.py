"""A batch the model cannot score is scored again one document at a time: each document scored then is
published, counted, timed and remembered for its lane like any other; one that still fails goes to
the dead-letter topic. The Classifier, its metrics and lane memory are real; the model, the topics
and Faust's stream are plain stand-ins that record what they were given."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace

from common.records import ScoredDocument
from model_service.classification import Classification
from stream.lanes import LaneProgress
from stream.pipeline.classify import Classifier, Taken
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.scoring import Entities
from stream.prepare.documents import document_from_fields
from stream.prepare.entities import EntityExtractor
from stream.prepare.watchlist import read_watchlist
from stream.settings import StreamSettings
from stream.topics import TopicNames
from tests.helpers import T0, RecordingTopic, window_entries

NAMES = TopicNames("t")
LANE = 1
UNREADABLE = "a text the model cannot read"


class BatchFailingScorer:
    """Fails every batch of more than one text, and the one text it cannot read."""

    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]:
        if len(texts) > 1 or UNREADABLE in texts[0]:
            raise RuntimeError("the model fell over")
        return [Classification("Earnings", 0.9, "negative", -0.7, {"negative": 0.8}, "v1")]


class Consumer:
    def topic_partitions(self, topic: str) -> int:
        return 4

    def highwater(self, tp: object) -> int:
        return 100


def taken(offset: int, title: str) -> Taken:
    document = document_from_fields({"source": "t", "title": title, "published_at": T0.isoformat()})
    message = SimpleNamespace(topic=NAMES.raw, partition=LANE, offset=offset, value=document.dumps())
    return Taken(SimpleNamespace(message=message), document=document)


def test_documents_scored_on_the_retry_are_published_counted_and_remembered(registry) -> None:
    topics = SimpleNamespace(
        names=NAMES, scored=RecordingTopic(), keyed=RecordingTopic(), deadletter=RecordingTopic()
    )
    metrics = PipelineMetrics.create(registry)
    entities = EntityExtractor(read_watchlist(None))
    preparer = SimpleNamespace(entities=SimpleNamespace(current=lambda: entities))
    app = SimpleNamespace(consumer=Consumer())
    classifier = Classifier(app, topics, StreamSettings(), preparer, metrics)  # type: ignore[arg-type]
    classifier.scorer = BatchFailingScorer()
    classifier.progress = LaneProgress(lanes=4, window_s=60, interval_s=1.0)
    classifier.memory.load(LANE, [])
    acked: list[int] = []

    async def ack(event: SimpleNamespace) -> None:
        acked.append(event.message.offset)

    classifier.stream = SimpleNamespace(ack=ack)  # type: ignore[assignment]
    batch = [taken(10, "Acme misses estimates"), taken(11, UNREADABLE), taken(12, "Acme cuts its outlook")]

    asyncio.run(classifier.publish(batch))

    published = [ScoredDocument.loads(value) for value in topics.scored.values]
    assert [s.offset for s in published] == [10, 12]
    assert {e.offset for e in window_entries(topics.keyed.values)} == {10, 12}
    assert [r.reason for r in topics.deadletter.values] == ["processing_error"]
    assert acked == [10, 11, 12]
    labels = {"source": "t", "topic": "Earnings", "sentiment": "negative"}
    assert registry.get_sample_value("tapewatch_documents_scored_total", labels) == 2
    assert registry.get_sample_value("tapewatch_ingest_to_scored_seconds_count") == 2
    assert classifier.memory.get(LANE, 10) is not None and classifier.memory.get(LANE, 12) is not None
    assert classifier.memory.get(LANE, 11) is None
