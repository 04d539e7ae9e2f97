"""Detection horizons: a key's closed windows summed over several spans at once (5 min to a day).

Sums are rolled, not recomputed: a closed window enters every horizon when it closes and leaves each
one when the horizon has moved past it, so a day-long horizon costs what a five-minute one does. A
key is stepped only when one of its sums changes (a window enters or leaves), so a quiet key or a
months-long gap costs nothing. Distinct authors are rolled next to documents (a count per author), so
a burst from one account counts once in every horizon. Pure; the live agent and replay share it.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, NamedTuple, Protocol, TypeVar

from common.records import Evidence


class ClosedWindow(Protocol):
    """What is summed of a closed window (a TrendPoint has these fields)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int
    authors: list[str] | None
    negative_authors: list[str] | None
    name: str  # an entity key's name; empty for topics


W = TypeVar("W", bound=ClosedWindow)


@functools.cache  # asked for at every observation, of a handful of horizons
def horizon_name(seconds: int) -> str:
    """``300`` -> ``"5m"``, ``86400`` -> ``"1d"``: the label alerts and gauges carry."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def evidence_of(window: HorizonWindow[W]) -> Iterator[Evidence]:
    """The evidence the horizon's windows kept (a TrendPoint keeps its most negative documents; a
    window read back from before evidence was kept has none)."""
    for part in window.parts:
        yield from getattr(part, "most_negative", None) or ()


def voices(window: ClosedWindow) -> tuple[Sequence[str], Sequence[str]]:
    """A window's distinct authors, and those of its negative documents. A window written before authors
    were kept counts each document as its own author."""
    if window.authors is not None:
        return window.authors, window.negative_authors or ()
    own = [f"{window.key}|{window.window_start.isoformat()}|{i}" for i in range(window.count)]
    return own, own[: window.negative]


@dataclass
class HorizonSum(Generic[W]):
    """One key's windows within one horizon, and their sums."""

    seconds: int
    parts: deque[W] = field(default_factory=deque)
    count: int = 0
    negative: int = 0
    authors: Counter[str] = field(default_factory=Counter)
    negative_authors: Counter[str] = field(default_factory=Counter)
    span: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.span = timedelta(seconds=self.seconds)

    def enter(self, part: W, sign: int = 1) -> None:
        self.count += sign * part.count
        self.negative += sign * part.negative
        authors, negative_authors = voices(part)
        for counter, names in ((self.authors, authors), (self.negative_authors, negative_authors)):
            for name in names:
                counter[name] += sign
                if counter[name] <= 0:
                    del counter[name]

    def expire(self, end: datetime) -> tuple[W, ...]:
        """Windows that started before this horizon, ending at ``end``, began: out of the sums."""
        if not self.parts:
            return ()
        gone = []
        start = end - self.span
        while self.parts and self.parts[0].window_start < start:
            part = self.parts.popleft()
            self.enter(part, -1)
            gone.append(part)
        return tuple(gone)

    def replace(self, part: W) -> bool:
        """An amended window takes the place of the one with its start, if still in the horizon."""
        for index, old in enumerate(self.parts):
            if old.window_start == part.window_start:
                self.enter(old, -1)
                self.enter(part)
                self.parts[index] = part
                return True
        return False


class HorizonWindow(NamedTuple, Generic[W]):
    """A key's sums over one horizon ending at ``window_end``. A named tuple: the detector makes one per
    horizon at every step of every key, and a tuple is the cheapest immutable record to make."""

    key: str
    horizon_s: int
    window_start: datetime
    window_end: datetime
    count: int  # type: ignore[assignment]  # shadows tuple.count, which nothing here calls
    negative: int
    authors: int  # distinct authors (a document without one is its own author)
    negative_authors: int
    parts: Sequence[W]  # the roller's own, not a copy: valid until the roller takes its next step

    @property
    def horizon(self) -> str:
        return horizon_name(self.horizon_s)

    @property
    def negative_ratio(self) -> float:
        return self.negative / self.count if self.count else 0.0


@dataclass(frozen=True)
class KeyStep(Generic[W]):
    """A key at one window end: its sums over every horizon (shortest first), and what just left each."""

    key: str
    window_end: datetime
    horizons: tuple[HorizonWindow[W], ...]
    expired: tuple[tuple[W, ...], ...]


class HorizonRoller(Generic[W]):
    """Feed closed windows in event-time order; get a KeyStep each time a key's sums change.

    Keys beyond ``max_keys`` are forgotten least recently seen first, so an endless stream of new names
    keeps memory flat. A window for an end already stepped past is an amended one: it replaces its
    part in the horizons still holding it.
    """

    def __init__(self, horizons_s: Sequence[int], size_s: int, max_keys: int = 10_000) -> None:
        if not horizons_s or any(h <= 0 or h % size_s for h in horizons_s):
            raise ValueError(f"horizons {list(horizons_s)} must be multiples of the {size_s} s window")
        self.horizons_s = sorted(set(horizons_s))
        self.size = timedelta(seconds=size_s)
        self.max_keys = max_keys
        self.keys: OrderedDict[str, list[HorizonSum[W]]] = OrderedDict()
        self.expiries: list[tuple[datetime, str]] = []  # (step at which a part leaves a horizon, key)
        self.last_end: datetime | None = None
        self.forgotten = 0

    def add(self, closed: Iterable[W], until: datetime | None = None) -> list[KeyStep[W]]:
        """Every step of ``steps`` at once: their sums hold, their ``parts`` are those after the last."""
        return list(self.steps(closed, until))

    def steps(self, closed: Iterable[W], until: datetime | None = None) -> Iterator[KeyStep[W]]:
        """Steps at every end up to the newest window in ``closed`` (or ``until``, the end up to which
        every window has been given) where some key's sums change, in order. Each is made when asked
        for, so its horizons' ``parts`` (not copied: a busy key's day holds thousands) are read then."""
        by_end: dict[datetime, list[W]] = defaultdict(list)
        for window in closed:
            if self.last_end is not None and window.window_end <= self.last_end:
                for horizon in self.keys.get(window.key, ()):
                    horizon.replace(window)
            else:
                by_end[window.window_end].append(window)
        target = max([*by_end, *([until] if until is not None else [])], default=None)
        if target is None or (self.last_end is not None and target <= self.last_end):
            return
        pending = sorted(by_end)
        while True:
            end = min([*pending[:1], *([self.expiries[0][0]] if self.expiries else [])], default=None)
            if end is None or end > target:
                break
            arrived = by_end.pop(end, []) if pending and pending[0] == end else []
            if arrived:
                pending.pop(0)
            dirty = {window.key for window in arrived}
            while self.expiries and self.expiries[0][0] <= end:
                dirty.add(heapq.heappop(self.expiries)[1])
            for key in sorted(dirty):
                step = self._step(key, end, [w for w in arrived if w.key == key])
                if step is not None:
                    yield step
        self.last_end = target

    def _step(self, key: str, end: datetime, arrived: list[W]) -> KeyStep[W] | None:
        sums = self.keys.get(key)
        if sums is None:
            if not arrived:
                return None  # an expiry left over from a forgotten key
            sums = self.keys[key] = [HorizonSum(seconds) for seconds in self.horizons_s]
            self._bound()
        self.keys.move_to_end(key)
        for horizon in sums:
            for part in arrived:
                horizon.parts.append(part)
                horizon.enter(part)
                heapq.heappush(self.expiries, (part.window_start + horizon.span + self.size, key))
        expired = tuple([horizon.expire(end) for horizon in sums])
        # positional: key, horizon_s, window_start, window_end, count, negative, authors,
        # negative_authors, parts (a keyword call costs a third more, at every step of every key)
        horizons = tuple([
            HorizonWindow(key, h.seconds, end - h.span, end, h.count, h.negative, len(h.authors),
                          len(h.negative_authors), h.parts)
            for h in sums
        ])  # fmt: skip
        step = KeyStep(key=key, window_end=end, horizons=horizons, expired=expired)
        if not sums[-1].parts:
            del self.keys[key]
        return step

    def _bound(self) -> None:
        while len(self.keys) > self.max_keys:
            self.keys.popitem(last=False)
            self.forgotten += 1
