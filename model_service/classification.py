"""What the model says of a text: the labels every caller (worker, server, batch files) passes on.

Plain dataclasses in a module of their own, so a worker whose model runs in another process reads them
without importing PyTorch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class EntitySentiment:
    """How a text speaks of one entity. ``mentioned`` False: the text as the model reads it never
    names the entity (a ticker a source attached, a name truncated away), so the label is the
    document's."""

    sentiment: str
    sentiment_score: float
    probs: dict[str, float]
    mentioned: bool
    explanation: list[tuple[str, float]] | None = None
    name: str = ""  # "Celsius", "Bitcoin": how the entity is called
    type: str = "other"  # person, organisation, place, product or other
    mentions: list[tuple[int, int]] = field(default_factory=list)  # character offsets in the text as given


@dataclass(frozen=True)
class Classification:
    """One document's labels: what the stream turns into a ScoredDocument."""

    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_score: float
    probs: dict[str, float]  # sentiment probabilities
    model_version: str
    explanation: list[tuple[str, float]] | None = None
    entities: dict[str, EntitySentiment] | None = None  # by entity key: those asked for, then those found
    user_topic: str | None = None  # the user topic it matched (``model_service/user_topics.py``), if any

    def labels(self) -> dict[str, Any]:
        """The document's own labels, for records and API answers (each shapes ``entities`` its way)."""
        return {k: v for k, v in asdict(self).items() if k not in ("explanation", "entities")}
