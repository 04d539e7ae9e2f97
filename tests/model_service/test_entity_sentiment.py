"""How the sentiment toward an entity is decided from the entity head's and the document's. Pure."""

from __future__ import annotations

from model_service.engine import toward_entity

NEGATIVE = {"negative": 0.7, "neutral": 0.2, "positive": 0.1}
NEUTRAL = {"negative": 0.3, "neutral": 0.6, "positive": 0.1}
POSITIVE = {"negative": 0.1, "neutral": 0.2, "positive": 0.7}


def test_an_entity_read_neutral_in_a_negative_text_takes_the_texts_reading() -> None:
    """Distress headlines ("... reveals $1.2bn shortfall in bankruptcy filing"): the entity head reads
    the company neutral, the document head negative (``docs/model.md``, distress headlines)."""
    assert toward_entity(NEUTRAL, NEGATIVE) == NEGATIVE


def test_otherwise_the_entity_heads_reading_stands() -> None:
    assert toward_entity(NEUTRAL, POSITIVE) == NEUTRAL  # only distress was read wrong
    assert toward_entity(POSITIVE, NEGATIVE) == POSITIVE  # "SHIB surges as Bitcoin slides"
    assert toward_entity(NEGATIVE, POSITIVE) == NEGATIVE
