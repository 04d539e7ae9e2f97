"""A classification as the stream keeps it: a ScoredDocument, live (``classify``) and in replay alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.records import Document, EntityLabel, ScoredDocument
from model_service.classification import Classification


def scored_document(
    document: Document, result: Classification, scored_at: datetime, **where: Any
) -> ScoredDocument:
    """The document with its labels; ``where`` is the lane and offset it was read from, if any."""
    entities = None
    if result.entities is not None:
        entities = {
            key: EntityLabel(found.sentiment, found.sentiment_score, found.mentioned)
            for key, found in result.entities.items()
        }
    return ScoredDocument(
        document=document, scored_at=scored_at, entities=entities, **result.labels(), **where
    )
