"""A document's entity keys are decided once, when it is scored: a watchlist reloaded while its batch is
being scored changes neither the keys it is published and counted under nor those stored with it. The
Classifier is real; the model, Faust's topics and stream are stand-ins that record what they were given."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from common.records import ScoredDocument
from model_service.classification import Classification, EntitySentiment
from stream.pipeline.scoring import Entities
from stream.prepare.entities import EntityExtractor
from stream.prepare.watchlist import read_watchlist
from tests.helpers import stand_in_classifier, taken_document, window_entries

LANE = 2
BEFORE = "entities:\n  - name: Terra\n    kind: coin\n    symbol: LUNA\n"
AFTER = "entities:\n  - name: Terra\n    kind: issuer\n"  # now an entity without a symbol: entity:Terra


class ReloadingScorer:
    """Reads each entity it is asked about as negative; the watchlist is reloaded while it scores."""

    def __init__(self, reload: object) -> None:
        self.reload = reload

    async def score(self, texts: Sequence[str], entities: Entities = None) -> list[Classification]:
        assert entities is not None
        read = EntitySentiment("negative", -0.9, {"negative": 0.95}, True, name="Terra", type="product")
        results = [
            Classification(
                "Crypto", 0.9, "neutral", 0.0, {"neutral": 0.9}, "v1", entities={q.key: read for q in asked}
            )
            for asked in entities
        ]
        self.reload()  # type: ignore[operator]
        return results


def test_a_watchlist_reload_between_scoring_and_publishing_cannot_change_a_documents_keys(
    registry, tmp_path: Path
) -> None:
    before, after = tmp_path / "before.yml", tmp_path / "after.yml"
    before.write_text(BEFORE)
    after.write_text(AFTER)
    watchlist = {"now": EntityExtractor(read_watchlist(before))}

    def reload() -> None:
        watchlist["now"] = EntityExtractor(read_watchlist(after))

    stand_in = stand_in_classifier(ReloadingScorer(reload), lambda: watchlist["now"], registry, LANE)
    batch = [taken_document(5, "Terra halts its chain", LANE)]

    asyncio.run(stand_in.classifier.publish(batch))

    assert [q.key for q in watchlist["now"].queries(batch[0].document)] == ["entity:Terra"]  # reloaded
    (published,) = [ScoredDocument.loads(value) for value in stand_in.topics.scored.values]
    assert published.entities is not None and list(published.entities) == ["$LUNA"]
    assert published.entities["$LUNA"].name == "Terra" and published.entities["$LUNA"].sentiment == "negative"
    counted = {key for entry in window_entries(stand_in.topics.keyed.values) for key in entry.keys}
    assert "$LUNA" in counted and "entity:Terra" not in counted
    assert stand_in.acked == [5]
