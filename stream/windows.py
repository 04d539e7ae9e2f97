"""Event-time tumbling windows: fold documents into accumulators, emit them as TrendPoints.

Pure and deterministic, shared by the live ``aggregate`` agent and by replay. A window
``[start, start + size)`` is final, and emitted, once the watermark passes its end plus the grace.
When input has gone quiet a window may be emitted early (``flush``); documents that still come
within its grace amend it, and it is emitted again with the next revision. Documents for a final
window are late. Each emission says, per input lane, up to which offset it counts everything
(``upto``), so a record published again after a crash is known for a repeat, not counted twice.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from common.records import Evidence, ScoredDocument, TrendPoint, WindowEntry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(at: datetime, size_s: int) -> datetime:
    """The start of the tumbling window of ``size_s`` seconds that contains ``at``."""
    seconds = int((at - EPOCH).total_seconds() // size_s) * size_s
    return EPOCH + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Counted:
    """What a window counts of one document; ``lane``/``offset`` say where it was read, if from Kafka."""

    id: str
    published_at: datetime
    sentiment: str
    score: float
    title: str
    lane: int | None = None
    offset: int | None = None
    author: str = ""
    name: str = ""  # an entity key's name as this document called it

    @classmethod
    def of(cls, scored: ScoredDocument, key: str) -> Counted:
        """What ``key``'s window counts of a scored document (an entity key: the entity's sentiment)."""
        doc = scored.document
        sentiment, score = scored.counted_as(key)
        label = (scored.entities or {}).get(key)
        return cls(doc.id, doc.published_at, sentiment, score, doc.headline, author=doc.author,
                   name=label.name if label else "")  # fmt: skip

    @classmethod
    def entry(cls, entry: WindowEntry, key: str) -> Counted:
        sentiment, score = entry.counted_as(key)
        label = (entry.entities or {}).get(key)
        return cls(entry.id, entry.published_at, sentiment, score, entry.title, entry.lane, entry.offset,
                   entry.author, label.name if label else "")  # fmt: skip

    @property
    def voice(self) -> str:
        """Who said it: the author, or the document itself when the source names none."""
        return self.author or f"doc:{self.id}"


@dataclass
class WindowAccumulator:
    """Counts, distinct authors and score sum of one window of one key."""

    count: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    score_sum: float = 0.0
    keep: int = 3
    # min-heap of (-score, id, title): its root is the least negative of the kept documents
    most_negative: list[tuple[float, str, str]] = field(default_factory=list)
    authors: set[str] = field(default_factory=set)
    negative_authors: set[str] = field(default_factory=set)
    name: str = ""  # an entity key's name, as the latest document with one called it

    @classmethod
    def resumed(cls, point: TrendPoint, keep: int) -> WindowAccumulator:
        """The accumulator an emitted window was made from (for amending it after a restart)."""
        kept = [(-e.score, e.id, e.title) for e in point.most_negative or []]
        heapq.heapify(kept)
        return cls(point.count, point.negative, point.neutral, point.positive,
                   point.mean_score * point.count, keep, kept, set(point.authors or ()),
                   set(point.negative_authors or ()), point.name)  # fmt: skip

    def add(
        self, doc_id: str, sentiment: str, score: float, title: str = "", voice: str = "", name: str = ""
    ) -> None:
        """Fold one document in (the book counts each id once per window); ``voice`` is its author,
        ``name`` what it called the window's entity."""
        voice = voice or f"doc:{doc_id}"
        self.name = name or self.name
        self.authors.add(voice)
        if sentiment == "negative":
            self.negative_authors.add(voice)
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

    def trend(
        self,
        key: str,
        start: datetime,
        size_s: int,
        revision: int = 0,
        final: bool = True,
        upto: Mapping[int, int] | None = None,
    ) -> TrendPoint:
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
            revision=revision,
            final=final,
            upto={str(lane): offset for lane, offset in upto.items()} if upto else None,
            authors=sorted(self.authors),
            negative_authors=sorted(self.negative_authors),
            name=self.name,
        )


class Outcome(StrEnum):
    """What happened to one document in one book."""

    COUNTED = "counted"  # into an open window
    AMENDED = "amended"  # into a window emitted early: it will be emitted again
    REPEAT = "repeat"  # already in its window (the same id, or a record published again after a crash)
    LATE = "late"  # its window was final


@dataclass
class OpenWindow:
    accumulator: WindowAccumulator
    ids: set[str] = field(default_factory=set)
    emitted: TrendPoint | None = None  # the latest emission, if it was emitted early
    changed: bool = True


Upto = Mapping[str, int] | None  # an emitted window's ``upto``: per lane, the offset it counts records before


def counted_before(item: Counted, upto: Upto) -> bool:
    """Whether a window emitted with ``upto`` already counts the record ``item`` was read from (it was
    published before)."""
    if upto is None or item.lane is None or item.offset is None:
        return False
    return item.offset < upto.get(str(item.lane), 0)


class WindowBook:
    """Every key's windows of one size: open, emitted early (still amendable), and recently final."""

    def __init__(
        self, size_s: int = 60, grace_s: int = 30, evidence: int = 3, remember: int = 20_000
    ) -> None:
        self.size_s = size_s
        self.grace = timedelta(seconds=grace_s)
        self.evidence = evidence
        self.remember = remember
        self.windows: dict[tuple[str, datetime], OpenWindow] = {}
        # the latest final windows' ``upto`` (all a repeat is told by), not their points: a busy worker
        # remembers 160,000 of them, and a point's lists and records are objects every full garbage
        # collection walks (a second's pause)
        self.finals: OrderedDict[tuple[str, datetime], Upto] = OrderedDict()
        self.horizon: datetime | None = None  # every window starting before this is final

    def add(self, key: str, item: Counted) -> Outcome:
        start = window_start(item.published_at, self.size_s)
        slot = (key, start)
        window = self.windows.get(slot)
        if window is None:
            if slot in self.finals:
                return Outcome.REPEAT if counted_before(item, self.finals[slot]) else Outcome.LATE
            if self.horizon is not None and start < self.horizon:
                return Outcome.LATE
            window = self.windows[slot] = OpenWindow(WindowAccumulator(keep=self.evidence))
        elif item.id in window.ids or (
            window.emitted is not None and counted_before(item, window.emitted.upto)
        ):
            return Outcome.REPEAT
        window.ids.add(item.id)
        window.accumulator.add(item.id, item.sentiment, item.score, item.title, item.voice, item.name)
        window.changed = True
        return Outcome.AMENDED if window.emitted is not None else Outcome.COUNTED

    def close(self, watermark: datetime, upto: Mapping[int, int] | None = None) -> list[TrendPoint]:
        """Every window whose end plus grace the watermark has passed, final, oldest first."""
        horizon = window_start(watermark - self.grace, self.size_s)
        if self.horizon is not None and horizon <= self.horizon:
            return []
        self.horizon = horizon
        return self._final(sorted((start, key) for key, start in self.windows if start < horizon), upto)

    def flush(self, upto: Mapping[int, int] | None = None) -> list[TrendPoint]:
        """Input went quiet: emit every open window not emitted yet (or changed since), to be amended."""
        points = []
        for (key, start), window in sorted(self.windows.items(), key=lambda item: (item[0][1], item[0][0])):
            if window.changed:
                window.emitted = self._emit(key, start, window, final=False, upto=upto)
                points.append(window.emitted)
        return points

    def finish(self) -> list[TrendPoint]:
        """Every window final (the end of a replay)."""
        return self._final(sorted((start, key) for key, start in self.windows), None)

    def recover(self, points: Iterable[TrendPoint]) -> None:
        """Windows of this size emitted before a restart: final ones are remembered (so a repeat is known),
        early ones reopened, to be amended or made final."""
        latest: dict[tuple[str, datetime], TrendPoint] = {}
        for point in points:
            if (point.window_end - point.window_start).total_seconds() != self.size_s:
                continue
            slot = (point.key, point.window_start)
            if slot not in latest or point.revision >= latest[slot].revision:
                latest[slot] = point
        for slot, point in sorted(latest.items(), key=lambda item: item[0][1]):
            if point.final:
                self._remember(slot, point)
            else:
                accumulator = WindowAccumulator.resumed(point, self.evidence)
                self.windows[slot] = OpenWindow(accumulator, emitted=point, changed=False)

    def _final(self, due: list[tuple[datetime, str]], upto: Mapping[int, int] | None) -> list[TrendPoint]:
        points = []
        for start, key in due:
            window = self.windows.pop((key, start))
            point = window.emitted
            if point is None or window.changed or not point.final:
                point = self._emit(key, start, window, final=True, upto=upto)
                points.append(point)
            self._remember((key, start), point)
        return points

    def _emit(
        self, key: str, start: datetime, window: OpenWindow, final: bool, upto: Mapping[int, int] | None
    ) -> TrendPoint:
        revision = window.emitted.revision + 1 if window.emitted is not None else 0
        window.changed = False
        return window.accumulator.trend(key, start, self.size_s, revision, final, upto)

    def _remember(self, slot: tuple[str, datetime], point: TrendPoint) -> None:
        self.finals[slot] = point.upto
        self.finals.move_to_end(slot)
        while len(self.finals) > self.remember:
            self.finals.popitem(last=False)
