"""Polling RSS and Atom feeds into Documents.

Conditional requests (ETag / Last-Modified) so unchanged feeds cost a 304; exponential backoff per
feed on errors; every entry sent once, remembered in a state file that survives restarts.
"""

from __future__ import annotations

import calendar
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import feedparser
import httpx

from common.records import Document
from stream.prepare.documents import document_id

log = logging.getLogger(__name__)

SEEN_PER_FEED = 5000  # entry ids remembered per feed; feeds show far fewer at a time


@dataclass
class FeedState:
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = field(default_factory=list)
    failures: int = 0
    next_poll: float = 0.0  # monotonic time; not persisted


def entry_document(feed_url: str, entry: feedparser.FeedParserDict) -> Document:
    """One feed entry as a Document; the id is the entry's own id (or link) within the feed's host."""
    host = urlparse(feed_url).netloc or feed_url
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC) if stamp else datetime.now(UTC)
    link = entry.get("link", "")
    title = entry.get("title", "")
    key = entry.get("id") or link or title
    return Document(
        id=document_id(f"rss:{host}", key, ""),
        source=f"rss:{host}",
        kind="news",
        title=title,
        body=entry.get("summary", ""),
        url=link,
        author=entry.get("author", ""),
        lang="en",
        tickers=[],
        published_at=published,
        received_at=datetime.now(UTC),
    )


class FeedPoller:
    """Polls each feed every ``interval_s`` (longer after failures) and yields new entries once."""

    def __init__(
        self,
        urls: list[str],
        state_path: Path,
        interval_s: float = 60.0,
        max_backoff_s: float = 900.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.urls = urls
        self.state_path = state_path
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.client = client or httpx.Client(
            timeout=20, follow_redirects=True, headers={"User-Agent": "tapewatch-rss/0.1"}
        )
        self.states = {url: FeedState() for url in urls}
        self._load()

    def _load(self) -> None:
        if not self.state_path.exists():
            return
        saved = json.loads(self.state_path.read_text())
        for url, values in saved.items():
            if url in self.states:
                self.states[url] = FeedState(
                    values.get("etag"), values.get("modified"), values.get("seen", [])
                )

    def save(self) -> None:
        data = {
            url: {"etag": s.etag, "modified": s.modified, "seen": s.seen[-SEEN_PER_FEED:]}
            for url, s in self.states.items()
        }
        temporary = self.state_path.with_suffix(".tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(data))
        temporary.replace(self.state_path)

    def poll_once(
        self,
        send: Callable[[Document], None],
        flush: Callable[[], None] = lambda: None,
        now: float | None = None,
    ) -> int:
        """Fetch every feed that is due; ``send`` each new entry; returns how many were sent.

        ``flush`` runs before the seen entries are saved, so an entry is remembered only once delivered.
        """
        now = time.monotonic() if now is None else now
        sent = 0
        for url, state in self.states.items():
            if state.next_poll > now:
                continue
            try:
                sent += self._poll(url, state, send)
            except (httpx.HTTPError, ValueError) as exc:
                state.failures += 1
                delay = min(self.max_backoff_s, self.interval_s * 2**state.failures)
                state.next_poll = now + delay
                log.warning("feed %s failed (%s); next try in %.0f s", url, exc, delay)
                continue
            state.failures = 0
            state.next_poll = now + self.interval_s
        flush()
        self.save()
        return sent

    def _poll(self, url: str, state: FeedState, send: Callable[[Document], None]) -> int:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        response = self.client.get(url, headers=headers)
        if response.status_code == 304:
            return 0
        response.raise_for_status()
        parsed = feedparser.parse(response.content)
        if parsed.bozo and not parsed.entries:
            raise ValueError(f"not a feed: {parsed.bozo_exception}")
        state.etag = response.headers.get("ETag", state.etag)
        state.modified = response.headers.get("Last-Modified", state.modified)
        seen = set(state.seen)
        sent = 0
        for entry in parsed.entries:
            document = entry_document(url, entry)
            if document.id in seen:
                continue
            send(document)
            state.seen.append(document.id)
            seen.add(document.id)
            sent += 1
        del state.seen[:-SEEN_PER_FEED]
        return sent

    def run(self, send: Callable[[Document], None], flush: Callable[[], None], stop: threading.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            self.poll_once(send, flush)
            due = min(s.next_poll for s in self.states.values())
            stop.wait(max(0.5, due - time.monotonic()))
