"""Event-time tumbling windows: fold scored documents into accumulators, close them into TrendPoints.

Pure and deterministic, shared by the live ``aggregate`` agent and by replay. A window
``[start, start + size)`` closes when the watermark (the latest event time seen) passes its end
plus the grace period; documents for an already-closed window are counted as late.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from common.records import Evidence, ScoredDocument, TrendPoint

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(at: datetime, size_s: int) -> datetime:
    """The start of the tumbling window of ``size_s`` seconds that contains ``at``."""
    seconds = int((at - EPOCH).total_seconds() // size_s) * size_s
    return EPOCH + timedelta(seconds=seconds)


def window_keys(scored: ScoredDocument, watched: frozenset[str] | None) -> list[str]:
    """The topic, plus ``$TICKER`` for each mentioned ticker that is watched (None watches all)."""
    tickers = [t for t in scored.document.tickers if watched is None or t in watched]
    return [scored.topic, *(f"${t}" for t in dict.fromkeys(tickers))]


@dataclass
class WindowAccumulator:
    """Counts and score sum of one window of one key."""

    count: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    score_sum: float = 0.0
    keep: int = 3
    # min-heap of (-score, id, title): its root is the least negative of the kept documents
    most_negative: list[tuple[float, str, str]] = field(default_factory=list)

    def add(self, doc_id: str, sentiment: str, score: float, title: str = "") -> None:
        """Fold one document in (the book counts each id once per window start)."""
        if sentiment == "negative" and self.keep:
            entry = (-score, doc_id, title)
            if len(self.most_negative) < self.keep:
                heapq.heappush(self.most_negative, entry)
            elif entry > self.most_negative[0]:
                heapq.heapreplace(self.most_negative, entry)
        self.count += 1
        self.score_sum += score
        if sentiment == "negative":
            self.negative += 1
        elif sentiment == "positive":
            self.positive += 1
        else:
            self.neutral += 1

    def trend(self, key: str, start: datetime, size_s: int) -> TrendPoint:
        return TrendPoint(
            key=key,
            window_start=start,
            window_end=start + timedelta(seconds=size_s),
            count=self.count,
            negative=self.negative,
            neutral=self.neutral,
            positive=self.positive,
            mean_score=self.score_sum / self.count if self.count else 0.0,
            negative_ratio=self.negative / self.count if self.count else 0.0,
            most_negative=[
                Evidence(id=doc_id, title=title, score=-neg_score)
                for neg_score, doc_id, title in sorted(self.most_negative, reverse=True)
            ],
        )


@dataclass(frozen=True)
class Added:
    """What happened to one document: the windows it went into, or why not."""

    keys: list[str]
    late: bool = False
    duplicate: bool = False


class WindowBook:
    """Open windows of every key, closed in event-time order by the watermark.

    Input from several partitions is read unevenly, so each partition (``lane``) keeps its own
    high-water mark and the watermark is the lowest of them: no lane's documents become late
    because another lane was read ahead.
    """

    def __init__(
        self,
        size_s: int = 60,
        grace_s: int = 30,
        watched: frozenset[str] | None = None,
        evidence: int = 3,
    ) -> None:
        self.size_s = size_s
        self.evidence = evidence
        self.grace = timedelta(seconds=grace_s)
        self.watched = watched
        self.lanes: dict[object, datetime] = {}
        self.expected: frozenset[object] = frozenset()
        self.closed_before: datetime | None = None  # every window starting before this is closed
        self.open: dict[tuple[str, datetime], WindowAccumulator] = {}
        # ids counted per window start, over all keys: a document redelivered after a crash and scored
        # again may come back with another topic, and must not count under both
        self.counted: dict[datetime, set[str]] = {}

    def resume_after(self, emitted_until: datetime) -> None:
        """Windows ending at or before ``emitted_until`` were emitted before a restart: keep them closed."""
        if self.closed_before is None or emitted_until > self.closed_before:
            self.closed_before = emitted_until

    def expect(self, lanes: frozenset[object]) -> None:
        """The lanes (partitions) this book reads; none is passed over before it has data."""
        self.expected = lanes

    @property
    def watermark(self) -> datetime | None:
        if any(lane not in self.lanes for lane in self.expected):
            return None
        marks = [mark for lane, mark in self.lanes.items() if not self.expected or lane in self.expected]
        return min(marks) if marks else None

    def close_idle(self) -> list[TrendPoint]:
        """Input went quiet: close the windows that end before the newest document seen.

        Lagging or empty lanes stop holding the others back and the grace period is waived; the
        window of the newest document stays open. Calling it again changes nothing.
        """
        if not self.lanes:
            return []
        horizon = window_start(max(self.lanes.values()), self.size_s)
        if self.closed_before is None or horizon > self.closed_before:
            self.closed_before = horizon
        return self._close(self.closed_before)

    def add(self, scored: ScoredDocument, lane: object = None) -> Added:
        at = scored.document.published_at
        start = window_start(at, self.size_s)
        keys = window_keys(scored, self.watched)
        if self.closed_before is not None and start < self.closed_before:
            return Added(keys=[], late=True)
        if lane not in self.lanes or at > self.lanes[lane]:
            self.lanes[lane] = at
        seen = self.counted.setdefault(start, set())
        if scored.document.id in seen:
            return Added(keys=[], duplicate=True)
        seen.add(scored.document.id)
        for key in keys:
            self.open.setdefault((key, start), WindowAccumulator(keep=self.evidence)).add(
                scored.document.id, scored.sentiment, scored.sentiment_score, scored.document.headline
            )
        return Added(keys=keys)

    def close_ready(self) -> list[TrendPoint]:
        """TrendPoints of every window whose end plus grace the watermark has passed, oldest first."""
        if self.watermark is None:
            return []
        horizon = window_start(self.watermark - self.grace, self.size_s)
        if self.closed_before is None or horizon > self.closed_before:
            self.closed_before = horizon
        return self._close(self.closed_before)

    def flush(self) -> list[TrendPoint]:
        """Close every open window (end of a replay, or shutdown)."""
        if not self.open:
            return []
        self.closed_before = max(start for _, start in self.open) + timedelta(seconds=self.size_s)
        return self._close(self.closed_before)

    def _close(self, before: datetime) -> list[TrendPoint]:
        for start in [start for start in self.counted if start < before]:
            del self.counted[start]
        due = sorted((start, key) for key, start in self.open if start < before)
        return [self.open.pop((key, start)).trend(key, start, self.size_s) for start, key in due]


def replay_windows(
    documents: Iterable[ScoredDocument],
    size_s: int = 60,
    grace_s: int = 30,
    watched: frozenset[str] | None = None,
    evidence: int = 3,
) -> list[TrendPoint]:
    """All TrendPoints of a sequence of documents, as the live agent would emit them."""
    book = WindowBook(size_s, grace_s, watched, evidence)
    points: list[TrendPoint] = []
    for scored in documents:
        book.add(scored)
        points.extend(book.close_ready())
    return points + book.flush()
