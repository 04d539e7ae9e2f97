"""Topics a user defines with a few example texts: no training, one dot product per document and topic.

The classifier's embedding head gives every text the base encoder's sentence embedding from the same
encoder pass as its labels (``model_service/model.py``). A topic is the mean of its examples'
embeddings (its centroid); a document gets the topic whose centroid is most like it (cosine, plus a
bonus when one of the topic's keywords is in the text), or none when that is below the topic's
threshold.

The threshold, unless the file sets one, is calibrated from the examples themselves: a topic must
take in its own examples (each scored against the centroid of the others, leave-one-out), and must
not take in ordinary market news (packaged reference headlines) nor the other topics' examples. It is
the lowest leave-one-out score, raised to just above the highest reference score where the two
overlap (the reference's ``REFERENCE_QUANTILE``). ``tapewatch topics check`` shows where a sample of a
feed falls, to tune examples and thresholds before deploying.

    topics:
      - name: Stablecoins
        examples: ["Tether's reserves questioned as USDT wobbles", "..."]
        keywords: [stablecoin, depeg]   # optional, whole words, any case
        threshold: 0.45                 # optional; else calibrated
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.watched_file import WatchedFile, read_yaml, validated

KEYWORD_BONUS = 0.1  # added to a topic's score when one of its keywords is in the text
REFERENCE_QUANTILE = 0.99  # the reference score a calibrated threshold sits above
MIN_EXAMPLES = 3  # fewer gives no leave-one-out spread to calibrate from

log = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors, one row each


class TopicsError(ValueError):
    """A topics file that cannot be read; the message names the file and the problem."""


class UserTopic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")
    examples: list[str] = Field(min_length=MIN_EXAMPLES, max_length=200)
    keywords: list[str] = Field(default_factory=list, max_length=100)
    threshold: float | None = Field(None, ge=-1.0, le=1.0)

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("no spaces at the start or end")
        return value

    @field_validator("examples")
    @classmethod
    def _examples(cls, value: list[str]) -> list[str]:
        kept = [text.strip() for text in value]
        if any(not text or len(text) > 2000 for text in kept):
            raise ValueError("every example is a text of 1 to 2000 characters")
        if len(set(kept)) < MIN_EXAMPLES:
            raise ValueError(f"at least {MIN_EXAMPLES} different examples")
        return kept

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return [k.strip() for k in value if k.strip()]


class TopicsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(None, ge=-1.0, le=1.0)  # for every topic that sets none
    topics: list[UserTopic] = Field(min_length=1, max_length=200)

    @field_validator("topics")
    @classmethod
    def _unique(cls, value: list[UserTopic]) -> list[UserTopic]:
        names = [t.name.casefold() for t in value]
        repeated = sorted({t.name for t in value if names.count(t.name.casefold()) > 1})
        if repeated:
            raise ValueError(f"topic names repeat: {', '.join(repeated)}")
        return value


def parse_topics(data: Any, origin: str) -> TopicsFile:
    return validated(TopicsFile, data, TopicsError, f"{origin}: not a topics file")


def read_topics(path: Path) -> TopicsFile:
    """The topics in ``path`` (YAML or JSON)."""
    return parse_topics(read_yaml(path, TopicsError), str(path))


def read_topics_if_any(path: Path) -> TopicsFile | None:
    """The topics in ``path``; None where no file is there or it defines none (empty, or ``topics: []``):
    how a running worker's topics are turned off."""
    if not path.exists():
        return None
    data = read_yaml(path, TopicsError)
    if data is None or (isinstance(data, dict) and data.get("topics") == [] and len(data) == 1):
        return None
    return parse_topics(data, str(path))


def reference_headlines() -> list[str]:
    """Ordinary market headlines of every trained topic: what no user topic should take in."""
    text = resources.files("model_service").joinpath("reference_headlines.txt").read_text()
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class TopicMatch:
    """The topic a text gets (None: none close enough), its score, and the closest other topic."""

    topic: str | None
    best: str
    score: float
    threshold: float
    runner_up: str | None
    runner_up_score: float | None


def unit(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1, so a dot product is a cosine."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def leave_one_out(examples: np.ndarray) -> np.ndarray:
    """Each example's cosine to the centroid of the topic's other examples."""
    others = unit(examples.sum(axis=0, keepdims=True) - examples)
    return np.einsum("ij,ij->i", unit(examples), others)


def calibrated_threshold(
    examples: np.ndarray,
    reference: np.ndarray,
    examples_bonus: np.ndarray | float = 0.0,
    reference_bonus: np.ndarray | float = 0.0,
) -> float:
    """The lowest leave-one-out score, raised above the reference's ``REFERENCE_QUANTILE`` score; each
    score with the keyword bonus its text gets at match time (the bonus arrays, one per row)."""
    centroid = unit(examples.mean(axis=0))
    own = float((leave_one_out(examples) + examples_bonus).min())
    if not len(reference):
        return own
    return max(own, float(np.quantile(reference @ centroid + reference_bonus, REFERENCE_QUANTILE)))


def keyword_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """Any of a topic's keywords as a whole word, any case; None without keywords."""
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", re.IGNORECASE)


def keyword_bonus(pattern: re.Pattern[str] | None, texts: Sequence[str]) -> np.ndarray:
    """``KEYWORD_BONUS`` for each text the pattern is found in, else 0."""
    if pattern is None:
        return np.zeros(len(texts))
    return KEYWORD_BONUS * np.array([pattern.search(text) is not None for text in texts], dtype=float)


class TopicMatcher:
    """The topics of one file, as centroids and thresholds: pure numpy once built."""

    def __init__(
        self,
        names: list[str],
        examples: list[np.ndarray],
        thresholds: np.ndarray,
        keywords: list[list[str]],
    ) -> None:
        self.names = names
        self.examples = examples  # per topic, its examples' unit vectors
        self.centroids = unit(np.stack([v.mean(axis=0) for v in examples]))
        self.thresholds = thresholds
        self.patterns = [keyword_pattern(words) for words in keywords]

    @classmethod
    def build(
        cls,
        topics: TopicsFile,
        embed: Embed,
        reference: np.ndarray,
        reference_texts: Sequence[str] | None = None,
    ) -> TopicMatcher:
        """Centroids from the examples' embeddings; each threshold as the file says, else calibrated
        against ``reference`` (unit vectors of ordinary headlines, ``reference_texts`` theirs: with
        them, a reference headline holding a keyword counts with its bonus) and the other topics'
        examples."""
        vectors = embed([text for topic in topics.topics for text in topic.examples])
        sizes = np.cumsum([0, *(len(t.examples) for t in topics.topics)])
        by_topic = [vectors[sizes[i] : sizes[i + 1]] for i in range(len(topics.topics))]
        thresholds = []
        for i, topic in enumerate(topics.topics):
            given = topic.threshold if topic.threshold is not None else topics.threshold
            if given is None:
                pattern = keyword_pattern(topic.keywords)
                others = [t for j, t in enumerate(topics.topics) if j != i]
                against = np.concatenate([reference, *(v for j, v in enumerate(by_topic) if j != i)])
                against_bonus = np.concatenate([
                    keyword_bonus(pattern, reference_texts) if reference_texts else np.zeros(len(reference)),
                    *(keyword_bonus(pattern, t.examples) for t in others),
                ])  # fmt: skip
                examples_bonus = keyword_bonus(pattern, topic.examples)
                given = calibrated_threshold(by_topic[i], against, examples_bonus, against_bonus)
            thresholds.append(given)
        return cls(
            [t.name for t in topics.topics],
            by_topic,
            np.array(thresholds),
            [t.keywords for t in topics.topics],
        )

    def scores(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """``(texts, topics)``: cosine to each centroid, plus ``KEYWORD_BONUS`` where a keyword is found."""
        scores = vectors @ self.centroids.T
        for j, pattern in enumerate(self.patterns):
            if pattern is not None:
                scores[:, j] += keyword_bonus(pattern, texts)
        return scores

    def match(self, vectors: np.ndarray, texts: Sequence[str]) -> list[TopicMatch]:
        scores = self.scores(vectors, texts)
        order = np.argsort(-scores, axis=1)
        matches = []
        for row, ranked in zip(scores, order, strict=True):
            best = int(ranked[0])
            second = int(ranked[1]) if len(ranked) > 1 else None
            matches.append(
                TopicMatch(
                    topic=self.names[best] if row[best] >= self.thresholds[best] else None,
                    best=self.names[best],
                    score=float(row[best]),
                    threshold=float(self.thresholds[best]),
                    runner_up=self.names[second] if second is not None else None,
                    runner_up_score=float(row[second]) if second is not None else None,
                )
            )
        return matches

    def topics(self, vectors: np.ndarray, texts: Sequence[str]) -> list[str | None]:
        """The topic of each text (what the pipeline needs: no runner-up)."""
        scores = self.scores(vectors, texts)
        best = scores.argmax(axis=1)
        close = scores[np.arange(len(best)), best] >= self.thresholds[best]
        return [self.names[b] if ok else None for b, ok in zip(best, close, strict=True)]

    def with_centroid(self, index: int, centroid: np.ndarray) -> TopicMatcher:
        """The same matcher with one topic's centroid replaced."""
        changed = copy.copy(self)
        changed.centroids = self.centroids.copy()
        changed.centroids[index] = centroid
        return changed


def held_out_matches(matcher: TopicMatcher, topics: TopicsFile) -> list[tuple[str, str, TopicMatch]]:
    """(topic, example, match) for every example, matched with its own topic's centroid made without it:
    how a new text like the examples would fare."""
    found = []
    for i, topic in enumerate(topics.topics):
        vectors = matcher.examples[i]
        total = vectors.sum(axis=0)
        for vector, text in zip(vectors, topic.examples, strict=True):
            held_out = matcher.with_centroid(i, unit(total - vector))
            found.append((topic.name, text, held_out.match(vector[None, :], [text])[0]))
    return found


class TopicSource:
    """The matcher of a topics file as it is now, None while it defines no topics.

    A changed file is read and its examples embedded in a thread of its own: scoring goes on with the
    previous matcher meanwhile, and a file that does not read keeps it. An empty file, or none at the
    path, turns topics off; a file put there later turns them on.
    """

    def __init__(self, path: Path, embed: Embed, check_s: float = 5.0) -> None:
        self.embed = embed
        self._reference_texts = reference_headlines()
        self._reference = embed(self._reference_texts)
        self.file = WatchedFile(path, self._build, (TopicsError,), "topics file", check_s, in_background=True)

    def _build(self, path: Path | None) -> TopicMatcher | None:
        assert path is not None
        topics = read_topics_if_any(path)
        if topics is None:
            log.warning("no topics in %s (no file there, or it is empty): user topics are off", path)
            return None
        try:
            return TopicMatcher.build(topics, self.embed, self._reference, self._reference_texts)
        except Exception as exc:  # the model failing on the examples: the topics in use stay
            raise TopicsError(f"{path}: its examples could not be embedded: {exc!r}") from exc

    def current(self, now: float) -> TopicMatcher | None:
        return self.file.current(now)
