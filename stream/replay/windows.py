"""The windows a sequence of scored documents gives offline, as the live ``aggregate`` agent emits them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from common.records import ScoredDocument, TrendPoint
from stream.routing import window_keys
from stream.windows import Counted, WindowBook


def replay_windows(
    documents: Iterable[ScoredDocument],
    size_s: int = 60,
    grace_s: int = 30,
    evidence: int = 3,
) -> list[TrendPoint]:
    """All final TrendPoints of documents in event-time order, as the live agent would emit them, under
    the keys each document was given when it was scored."""
    book = WindowBook(size_s, grace_s, evidence)
    points: list[TrendPoint] = []
    latest: datetime | None = None
    for scored in documents:
        for key in window_keys(scored):
            book.add(key, Counted.of(scored, key))
        published = scored.document.published_at
        if latest is None or published > latest:
            latest = published
            points.extend(book.close(latest))
    return points + book.finish()
