"""The records that travel between tapewatch components, as JSON on the wire.

Every record carries ``schema_version``; every consumer reads records with ``decode_record``, which
refuses a version it cannot read (and anything else malformed) with a reason, instead of guessing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import faust

SCHEMA_VERSION = 1


class WireRecord(faust.Record, abstract=True, include_metadata=False, isodates=True, serializer="json"):
    """Base of all wire records: plain JSON (no Faust metadata) with ISO-8601 datetimes."""


class Document(WireRecord):
    """A news article or social post as it enters the pipeline."""

    id: str
    source: str
    kind: str  # "news" | "post"
    title: str
    body: str
    url: str
    author: str
    lang: str
    tickers: list[str]
    published_at: datetime  # event time, UTC
    received_at: datetime
    schema_version: int = SCHEMA_VERSION

    @property
    def text(self) -> str:
        """The text the classifier reads: title and body."""
        return f"{self.title}\n{self.body}".strip()

    @property
    def headline(self) -> str:
        """What a person reads first: the title, or the start of a post's body."""
        return self.title or self.body[:200]


class TokenWeight(WireRecord):
    token: str
    weight: float


class EntityLabel(WireRecord):
    """How a document speaks of one of its entities (a ``$SYMBOL``, ``entity:`` or ``name:`` key).

    ``mentioned`` False: the text as the model reads it never names the entity (a ticker its source
    attached), so the label is the document's own.
    """

    sentiment: str
    score: float  # p_pos - p_neg toward the entity
    mentioned: bool = True
    name: str = ""  # how the entity is called ("Celsius", "Bitcoin"); empty in records written before
    type: str = ""  # person, organisation, place, product or other; empty when unknown
    mentions: list[list[int]] | None = None  # [start, end] offsets into ``Document.text``; None on entries

    def brief(self) -> EntityLabel:
        """The label without where the text names it: what a window entry carries."""
        return EntityLabel(self.sentiment, self.score, self.mentioned, self.name, self.type)


def counted_as(
    entities: dict[str, EntityLabel] | None, key: str, sentiment: str, score: float
) -> tuple[str, float]:
    """``key``'s label among ``entities``, else the document's ``sentiment`` and ``score``."""
    label = (entities or {}).get(key)
    return (label.sentiment, label.score) if label else (sentiment, score)


class ScoredDocument(WireRecord):
    """A document with the classifier's labels."""

    document: Document
    topic: str
    topic_confidence: float
    sentiment: str  # "negative" | "neutral" | "positive"
    sentiment_score: float  # p_pos - p_neg, in [-1, 1]
    probs: dict[str, float]
    model_version: str
    scored_at: datetime
    explanation: list[TokenWeight] | None = None
    lane: int | None = None  # the raw-topic partition it was read from
    offset: int | None = None  # and its offset there: a redelivered record is known by the pair
    # by entity key, the keys decided when it was scored (those asked about, then those found), in order;
    # None: scored before keys were stored with the document
    entities: dict[str, EntityLabel] | None = None
    user_topic: str | None = None  # the topic of the user's topics file it matched, if any
    schema_version: int = SCHEMA_VERSION

    def counted_as(self, key: str) -> tuple[str, float]:
        """The sentiment and score a window of ``key`` counts: the entity's own for an entity key it
        was scored for, else the document's."""
        return counted_as(self.entities, key, self.sentiment, self.sentiment_score)


class WindowEntry(WireRecord):
    """One scored document as the keys of one keyed partition count it: a record of the keyed topic.

    ``classify`` makes one per keyed partition that holds any of the document's keys (the feed, its
    topic, source and entities), with those keys: every key is counted by the one worker that reads its
    partition. They travel in batches (``WindowEntries``); an entry alone goes to the late topic.
    """

    keys: list[str]
    id: str
    published_at: datetime
    sentiment: str
    score: float
    title: str
    lane: int  # the raw partition the document came from, and its offset there
    offset: int
    author: str = ""  # pseudonymized; empty when the source names none
    entities: dict[str, EntityLabel] | None = None  # the labels of those of ``keys`` that are entities
    kind: str = "entry"
    schema_version: int = SCHEMA_VERSION

    def counted_as(self, key: str) -> tuple[str, float]:
        """As ``ScoredDocument.counted_as``: the entity's label for its key, the document's for the rest."""
        return counted_as(self.entities, key, self.sentiment, self.score)


class WindowEntries(WireRecord):
    """The window entries of one ``classify`` batch for one keyed partition: a record of the keyed topic.

    One record per batch and partition, not per document: producing, reading and acknowledging a
    record costs more than counting what it holds."""

    entries: list[WindowEntry]
    kind: str = "entries"
    schema_version: int = SCHEMA_VERSION


class LaneMark(WireRecord):
    """What ``classify`` vouches for on one input lane (raw partition), sent to every keyed partition.

    Every record of the lane before ``offset`` has been published (ahead of this mark, on every
    partition); ``watermark`` is the latest event time published from the lane. ``idle``: nothing more
    is waiting on the lane. Sent after each batch and as a heartbeat, so a lane nobody speaks for
    (a worker restarting, a rebalance) holds windows open instead of letting them close too early.
    """

    lane: int
    lanes: int  # how many lanes (raw partitions) there are
    offset: int
    watermark: datetime | None
    idle: bool
    sent_at: datetime
    kind: str = "mark"
    schema_version: int = SCHEMA_VERSION


class Evidence(WireRecord):
    """A document that explains an alert."""

    id: str
    title: str
    score: float
    explanation: list[TokenWeight] | None = None


class TrendPoint(WireRecord):
    """One closed window for one key (a topic name or ``$TICKER``)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int
    neutral: int
    positive: int
    mean_score: float
    negative_ratio: float
    most_negative: list[Evidence] | None = None  # the window's most negative documents, lowest score first
    revision: int = 0  # a window emitted early and amended by late documents is sent again, one higher
    final: bool = True  # False: emitted because input went quiet; late documents may still amend it
    upto: dict[str, int] | None = None  # per lane: documents before this raw offset are in the count
    authors: list[str] | None = None  # distinct authors (a document without one is its own), sorted
    negative_authors: list[str] | None = None  # those among them with a negative document
    name: str = ""  # an entity key's name, as the window's latest document called it ("Bitcoin" for $BTC)
    schema_version: int = SCHEMA_VERSION


class Alert(WireRecord):
    """A negative-sentiment spike, firing or resolved."""

    id: str
    key: str
    kind: str  # "negative_spike" (the share test) or "emerging_story" (an entity key's count)
    state: str  # "firing" | "resolved"
    severity: str  # "warning" | "critical"
    window_start: datetime
    window_end: datetime
    negative_ratio: float
    baseline: float
    zscore: float
    count: int
    evidence: list[Evidence]
    fired_at: datetime
    horizon: str = "3m"  # the detection horizon that fired ("5m", "1h", ...); older alerts summed 3 minutes
    negative: int = 0  # negative documents in the horizon
    authors: int = 0  # distinct authors in the horizon, and those of negative documents
    negative_authors: int = 0
    name: str = ""  # an entity key's name ("Bitcoin" for $BTC); empty for topics and older alerts
    emergence: float | None = None  # an entity key's authors against its own rate, as a z-score
    schema_version: int = SCHEMA_VERSION

    @property
    def subject(self) -> str:
        """The key as a person reads it: with the entity's name when the key does not already say it."""
        bare = self.key.split(":", 1)[1] if self.key.startswith(("entity:", "name:")) else self.key
        return f"{self.name} ({self.key})" if self.name and self.name != bare else self.key


class RejectReason(StrEnum):
    """Why an input record went to the dead-letter topic; also a bounded metric label."""

    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    EMPTY_TEXT = "empty_text"
    PROCESSING_ERROR = "processing_error"
    FUTURE_TIMESTAMP = "future_timestamp"


class InvalidRecord(ValueError):
    """Input that cannot become a record; ``reason`` is a bounded label, ``detail`` is for people."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


R = TypeVar("R", bound=WireRecord)


def check_schema_version(data: Mapping[str, Any]) -> None:
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION and str(version) != str(SCHEMA_VERSION):
        raise InvalidRecord(
            RejectReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version {version!r} is not supported (this version reads {SCHEMA_VERSION})",
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def parse_json(payload: bytes) -> Any:
    """JSON from UTF-8 bytes, strictly: no ``NaN``/``Infinity``, no number too large for a float, and
    nesting too deep for the parser is an ``InvalidRecord`` like any other bad input (not a crash)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecord(RejectReason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise InvalidRecord(
            RejectReason.INVALID_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise InvalidRecord(RejectReason.INVALID_JSON, str(exc)) from None
    except RecursionError:
        raise InvalidRecord(RejectReason.INVALID_JSON, "nested too deeply") from None


def record_fields(payload: bytes | None, max_bytes: int | None = None) -> dict[str, Any]:
    """A payload's JSON object, checked for size, encoding and schema version."""
    if payload is None:
        raise InvalidRecord(RejectReason.MISSING_FIELD, "empty record (no value)")
    if max_bytes is not None and len(payload) > max_bytes:
        raise InvalidRecord(RejectReason.TOO_LARGE, f"{len(payload)} bytes exceeds the limit of {max_bytes}")
    data = parse_json(payload)
    if not isinstance(data, dict):
        raise InvalidRecord(RejectReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(data).__name__}")
    check_schema_version(data)
    return data


def decode_keyed(payload: bytes | None) -> WindowEntries | LaneMark:
    """A record of the keyed topic: window entries or a lane mark (a lone entry, as versions before
    batched entries sent them, reads as entries of one)."""
    data = record_fields(payload)
    kind = data.get("kind")
    if kind == "mark":
        return decode_fields(LaneMark, data)
    if kind == "entries":
        return decode_fields(WindowEntries, data)
    return WindowEntries(entries=[decode_fields(WindowEntry, data)])


def decode_record(kind: type[R], payload: bytes | None) -> R:
    """A ``kind`` record from its JSON bytes, or InvalidRecord saying why not."""
    return decode_fields(kind, record_fields(payload))


def decode_fields(kind: type[R], data: dict[str, Any]) -> R:
    try:
        return kind.from_data(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidRecord(RejectReason.INVALID_FIELD, f"not a {kind.__name__}: {exc}") from None


class Rejected(WireRecord):
    """An input that could not be processed, with enough context to find and replay it."""

    reason: str  # a RejectReason value
    detail: str
    source_topic: str
    partition: int
    offset: int
    payload: str  # the start of the original bytes, undecodable bytes backslash-escaped
    payload_size: int
    at: datetime
    schema_version: int = SCHEMA_VERSION
