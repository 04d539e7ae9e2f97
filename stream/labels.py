"""A classification as the stream keeps it: a ScoredDocument, live (``classify``) and in replay alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.records import Document, EntityLabel, ScoredDocument
from model_service.classification import Classification


def scored_document(
    document: Document,
    result: Classification,
    scored_at: datetime,
    max_keys: int = 8,
    entity_sentiment: bool = True,
    **where: Any,
) -> ScoredDocument:
    """The document with its labels and its entity keys, decided here once: the first ``max_keys`` of
    those the model was asked about and found, each with the sentiment toward it (the document's own
    when ``entity_sentiment`` is off). ``where`` is the lane and offset it was read from, if any."""
    entities = None
    if result.entities is not None:
        entities = {
            key: EntityLabel(
                found.sentiment if entity_sentiment else result.sentiment,
                found.sentiment_score if entity_sentiment else result.sentiment_score,
                found.mentioned,
                found.name,
                found.type,
                [list(span) for span in found.mentions],
            )
            for key, found in list(result.entities.items())[:max_keys]
        }
    return ScoredDocument(
        document=document, scored_at=scored_at, entities=entities, **result.labels(), **where
    )
