"""The windows a sequence of scored documents gives offline, as the live ``aggregate`` agent emits them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from common.records import ScoredDocument, TrendPoint
from stream.prepare.entities import EntityExtractor
from stream.prepare.watchlist import read_watchlist
from stream.routing import window_keys
from stream.windows import Counted, WindowBook


def replay_windows(
    documents: Iterable[ScoredDocument],
    size_s: int = 60,
    grace_s: int = 30,
    entities: EntityExtractor | None = None,
    evidence: int = 3,
) -> list[TrendPoint]:
    """All final TrendPoints of documents in event-time order, as the live agent would emit them."""
    book = WindowBook(size_s, grace_s, evidence)
    extractor = entities or EntityExtractor(read_watchlist(None))
    points: list[TrendPoint] = []
    latest: datetime | None = None
    for scored in documents:
        for key in window_keys(scored, extractor):
            book.add(key, Counted.of(scored, key))
        published = scored.document.published_at
        if latest is None or published > latest:
            latest = published
            points.extend(book.close(latest))
    return points + book.finish()
