"""Detection windows: the last ``span`` closed windows of a key summed, hopping one window at a time.

One-minute windows of one topic hold a handful of documents, too few to tell a spike from noise;
waiting for a five-minute tumbling window would delay alerts by up to five minutes. Summing the
last five one-minute windows each minute gives both. Pure; the live agent and replay share it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
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

    A step is a window end. Each step answers every key with a window in the span, including
    keys that had no documents in the newest window, so a quiet key's sums go down. A key whose
    span has emptied is answered once more with a count of zero, then forgotten.
    """

    def __init__(self, span: int, size_s: int) -> None:
        self.span = span
        self.size_s = size_s
        self.parts: dict[str, deque[W]] = defaultdict(deque)
        self.last_end: datetime | None = None

    def add(self, closed: Iterable[W]) -> list[DetectionWindow[W]]:
        by_end: dict[datetime, list[W]] = defaultdict(list)
        for window in closed:
            if self.last_end is not None and window.window_end <= self.last_end:
                continue  # already stepped past (a replayed or repeated window)
            by_end[window.window_end].append(window)
        detections: list[DetectionWindow[W]] = []
        for end in sorted(by_end):
            for window in by_end[end]:
                self.parts[window.key].append(window)
            detections.extend(self._step(end))
        return detections

    def _step(self, end: datetime) -> list[DetectionWindow[W]]:
        self.last_end = end
        span_s = self.span * self.size_s
        out: list[DetectionWindow[W]] = []
        for key in sorted(self.parts):
            parts = self.parts[key]
            while parts and (end - parts[0].window_start).total_seconds() > span_s:
                parts.popleft()
            start = datetime.fromtimestamp(end.timestamp() - span_s, tz=end.tzinfo)
            window = DetectionWindow(
                key=key,
                window_start=start,
                window_end=end,
                count=sum(p.count for p in parts),
                negative=sum(p.negative for p in parts),
                parts=tuple(parts),
            )
            out.append(window)
            if not parts:
                del self.parts[key]
        return out
