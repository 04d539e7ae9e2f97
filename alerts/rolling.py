"""Detection windows: the last ``span`` closed windows of a key summed, hopping one window at a time.

One-minute windows of one topic hold a handful of documents, too few to tell a spike from noise;
waiting for a five-minute tumbling window would delay alerts by up to five minutes. Summing the
last five one-minute windows each minute gives both. Pure; the live agent and replay share it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar


class ClosedWindow(Protocol):
    """What is summed of a closed window (a TrendPoint has these fields)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int


W = TypeVar("W", bound=ClosedWindow)


@dataclass(frozen=True)
class DetectionWindow(Generic[W]):
    """A key's closed windows within the span ending at ``window_end``, summed."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int
    parts: tuple[W, ...]

    @property
    def negative_ratio(self) -> float:
        return self.negative / self.count if self.count else 0.0


class RollingWindows(Generic[W]):
    """Feed closed windows in event-time order; get one detection window per active key per step.

    A step is a window end. Every key with a window in the span is answered at every step, those with
    no documents in the newest window included, so a quiet key's sums go down; a key whose span has
    emptied is answered once more with a count of zero, then forgotten. Steps go through every window
    end in turn, so what a key is answered depends on its own windows only, not on which other keys
    share its monitor (a worker owns a part of the keys). A window for an end already stepped past is
    an amended one: it replaces its part for the steps to come.
    """

    def __init__(self, span: int, size_s: int) -> None:
        self.span = span
        self.size = timedelta(seconds=size_s)
        self.parts: dict[str, deque[W]] = defaultdict(deque)
        self.last_end: datetime | None = None

    def add(self, closed: Iterable[W], until: datetime | None = None) -> list[DetectionWindow[W]]:
        """Detection windows at every end up to the newest window in ``closed`` (or ``until``, the end up
        to which every window has been given), in order."""
        by_end: dict[datetime, list[W]] = defaultdict(list)
        for window in closed:
            if self.last_end is not None and window.window_end <= self.last_end:
                self._replace(window)
            else:
                by_end[window.window_end].append(window)
        target = max([*by_end, *([until] if until is not None else [])], default=None)
        if target is None or (self.last_end is not None and target <= self.last_end):
            return []
        pending = sorted(by_end)
        end = self.last_end + self.size if self.last_end is not None else pending[0] if pending else target
        detections: list[DetectionWindow[W]] = []
        while end <= target:
            if not self.parts and pending and end < pending[0]:
                end = pending[0]  # nothing in any span until the next window: skip the empty ends
            elif not self.parts and not pending:
                break
            for window in by_end.pop(end, []):
                self.parts[window.key].append(window)
            if pending and pending[0] == end:
                pending.pop(0)
            detections.extend(self._step(end))
            end += self.size
        self.last_end = target
        return detections

    def _replace(self, window: W) -> None:
        parts = self.parts.get(window.key)
        if parts is None:
            return
        for index, part in enumerate(parts):
            if part.window_start == window.window_start:
                parts[index] = window
                return
            if part.window_start > window.window_start:
                parts.insert(index, window)
                return
        if self.last_end is not None and window.window_end > self.last_end - self.span * self.size:
            parts.append(window)

    def _step(self, end: datetime) -> list[DetectionWindow[W]]:
        span = self.span * self.size
        out: list[DetectionWindow[W]] = []
        for key in sorted(self.parts):
            parts = self.parts[key]
            while parts and end - parts[0].window_start > span:
                parts.popleft()
            window = DetectionWindow(
                key=key,
                window_start=end - span,
                window_end=end,
                count=sum(p.count for p in parts),
                negative=sum(p.negative for p in parts),
                parts=tuple(parts),
            )
            out.append(window)
            if not parts:
                del self.parts[key]
        return out
