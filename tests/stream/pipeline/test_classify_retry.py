"""A batch the model cannot score is scored again one document at a time: each document scored then is
published, counted, timed and remembered for its lane like any other; one that still fails goes to
the dead-letter topic. The Classifier, its metrics and lane memory are real; the model, the topics
and Faust's stream are plain stand-ins that record what they were given."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from common.records import ScoredDocument
from model_service.classification import Classification
from stream.pipeline.scoring import Entities
from stream.prepare.entities import EntityExtractor
from stream.prepare.watchlist import read_watchlist
from tests.helpers import stand_in_classifier, taken_document, window_entries

LANE = 1
UNREADABLE = "a text the model cannot read"


class BatchFailingScorer:
    """Fails every batch of more than one text, and the one text it cannot read."""

    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]:
        if len(texts) > 1 or UNREADABLE in texts[0]:
            raise RuntimeError("the model fell over")
        return [Classification("Earnings", 0.9, "negative", -0.7, {"negative": 0.8}, "v1")]


def test_documents_scored_on_the_retry_are_published_counted_and_remembered(registry) -> None:
    entities = EntityExtractor(read_watchlist(None))
    stand_in = stand_in_classifier(BatchFailingScorer(), lambda: entities, registry, LANE)
    classifier, topics, acked = stand_in.classifier, stand_in.topics, stand_in.acked
    batch = [taken_document(10, "Acme misses estimates", LANE), taken_document(11, UNREADABLE, LANE)]
    batch.append(taken_document(12, "Acme cuts its outlook", LANE))

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
