"""The feed poller against feeds served by a local HTTP server (conditional requests, errors, dedup)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stream.ingest.rss import FeedPoller

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>"""
ITEM = """<item><guid>{guid}</guid><title>{title}</title><link>https://wire.example/{guid}</link>
<description>&lt;p&gt;Body of {guid}&lt;/p&gt;</description>
<pubDate>Fri, 20 Nov 2026 14:0{n}:00 GMT</pubDate></item>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title>
<entry><id>urn:a1</id><title>Gold hits a record</title><link href="https://atom.example/a1"/>
<updated>2026-11-20T14:05:00Z</updated><author><name>desk</name></author></entry></feed>"""


class Feeds:
    """What the local server serves, and what it saw."""

    def __init__(self) -> None:
        self.rss_items = [("g1", "Oil slumps"), ("g2", "Fed holds")]
        self.fail = False
        self.requests: list[tuple[str, str | None]] = []  # (path, If-None-Match)

    def rss(self) -> bytes:
        items = "".join(ITEM.format(guid=g, title=t, n=i) for i, (g, t) in enumerate(self.rss_items))
        return RSS.format(items=items).encode()


@pytest.fixture
def feeds() -> Iterator[tuple[Feeds, str]]:
    state = Feeds()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("If-None-Match")))
            if state.fail:
                self.send_response(500)
                self.end_headers()
                return
            body = state.rss() if self.path == "/rss" else ATOM.encode()
            etag = f'"{hash(body) & 0xFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_entries_are_sent_once_with_conditional_requests(feeds, tmp_path) -> None:
    state, base = feeds
    poller = FeedPoller([f"{base}/rss", f"{base}/atom"], tmp_path / "state.json", interval_s=10)
    sent = []
    assert poller.poll_once(sent.append, now=0) == 3
    titles = sorted(d.title for d in sent)
    assert titles == ["Fed holds", "Gold hits a record", "Oil slumps"]
    oil = next(d for d in sent if d.title == "Oil slumps")
    assert oil.url == "https://wire.example/g1" and oil.source.startswith("rss:127.0.0.1")
    assert oil.published_at.isoformat() == "2026-11-20T14:00:00+00:00"

    assert poller.poll_once(sent.append, now=5) == 0  # not due yet: no request
    assert len(state.requests) == 2
    assert poller.poll_once(sent.append, now=10) == 0
    assert state.requests[-1][1] is not None, "the second fetch is conditional (If-None-Match)"

    state.rss_items.append(("g3", "Bank shares tumble"))
    restarted = FeedPoller([f"{base}/rss", f"{base}/atom"], tmp_path / "state.json", interval_s=10)
    assert restarted.poll_once(sent.append, now=0) == 1  # only the new entry, also after a restart
    assert sent[-1].title == "Bank shares tumble"


def test_failing_feed_backs_off_and_recovers(feeds, tmp_path) -> None:
    state, base = feeds
    poller = FeedPoller([f"{base}/rss"], tmp_path / "state.json", interval_s=10, max_backoff_s=100)
    state.fail = True
    assert poller.poll_once(lambda d: None, now=0) == 0
    assert poller.states[f"{base}/rss"].next_poll == 20  # 10 s x 2^1
    assert poller.poll_once(lambda d: None, now=20) == 0
    assert poller.states[f"{base}/rss"].next_poll == 20 + 40
    state.fail = False
    assert poller.poll_once(lambda d: None, now=60) == 2
    assert poller.states[f"{base}/rss"].failures == 0
