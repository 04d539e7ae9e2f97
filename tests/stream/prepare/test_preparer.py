from __future__ import annotations

import json
from datetime import UTC, datetime, time
from itertools import pairwise

import pytest

from common.records import InvalidRecord, RejectReason
from stream.ingest.synthetic import Incident, MarketDay
from stream.prepare.dedupe import DuplicateDetector, story_key
from stream.prepare.documents import document_from_fields
from stream.prepare.entities import EntityExtractor, EntitySource
from stream.prepare.normalize import clean_text, pseudonymize, scrub_personal_data
from stream.prepare.preparer import DocumentPreparer, LaneDuplicates
from stream.prepare.watchlist import WatchlistFile, read_watchlist


def test_clean_text_strips_markup_unicode_and_space() -> None:
    raw = "<p>Oil&nbsp;<b>slumps</b></p>\u200b  as\tOPEC+ <script>x()</script>acts \uff21"
    assert clean_text(raw, 1000) == "Oil slumps as OPEC+ acts A"
    assert clean_text("word " * 100, 22) == "word word word word"


def test_personal_data_is_scrubbed() -> None:
    text = "Call +1 (212) 555-0101 or mail jane.doe@bank.com, cc @trader_joe; $TSLA up 5%"
    assert scrub_personal_data(text) == "Call [phone] or mail [email], cc @[user]; $TSLA up 5%"


def test_pseudonyms_are_stable_keyed_and_not_the_name() -> None:
    first = pseudonymize("@Trader_Joe", b"k1")
    assert first == pseudonymize("trader_joe", b"k1") and first.startswith("anon-")
    assert first != pseudonymize("trader_joe", b"k2")
    assert "trader" not in first and pseudonymize("", b"k1") == ""


def test_tickers_from_cashtags_and_watchlist_names() -> None:
    extractor = EntityExtractor(read_watchlist(None))
    assert extractor.tickers("Exxon and $cvx rally; Apple flat; $5 pizza", ["XOM"]) == ["XOM", "CVX", "AAPL"]
    assert extractor.tickers("Pineapple futures") == []


def test_wire_decorations_make_copies_one_story() -> None:
    assert story_key("UPDATE 2-Oil slumps as OPEC+ acts - report") == story_key("Oil slumps as OPEC+ acts")
    detector = DuplicateDetector(ttl_s=60)
    assert not detector.check("a", "Oil slumps as OPEC+ acts", 0).duplicate
    assert detector.check("a", "anything", 1).kind == "exact"
    assert detector.check("b", "BREAKING: Oil slumps as OPEC+ acts (Reuters)", 2).of == "a"
    assert not detector.check("c", "Gold hits a record high", 3).duplicate
    assert not detector.check("d", "Oil slumps as OPEC+ acts", 100).duplicate  # "a" expired


def test_a_lane_taken_over_gets_a_table_of_what_it_published_without_touching_the_one_in_use() -> None:
    lanes = LaneDuplicates(3600, 1000, 3)
    fields = {"id": "a", "source": "news", "kind": "news", "published_at": "2026-11-20T14:00:00Z"}
    oil = document_from_fields({**fields, "title": "Oil slumps as OPEC+ acts"})
    in_use = lanes.table(2)
    table = lanes.rebuilt([oil])
    assert len(in_use) == 0 and lanes.table(2) is in_use  # built aside (off the event loop)
    lanes.restart(2, table)
    copy = document_from_fields({**fields, "id": "b", "title": "BREAKING: Oil slumps as OPEC+ acts"})
    assert lanes.check(2, copy).of == "a" and not lanes.check(3, copy).duplicate


def test_preparer_cleans_scrubs_and_pseudonymizes(tmp_path) -> None:
    preparer = DocumentPreparer(
        EntitySource(WatchlistFile(None)), LaneDuplicates(3600, 1000, 3), b"key", 10_000, 500
    )
    payload = json.dumps(
        {
            "source": "social",
            "kind": "post",
            "body": "<b>Exxon</b> dumping, DM @bob or bob@x.io",
            "author": "@bob",
            "published_at": "2026-11-20T14:00:00Z",
        }
    ).encode()
    prepared = preparer.prepare(payload)
    doc = prepared.document
    assert doc.body == "Exxon dumping, DM @[user] or [email]"
    assert doc.author == pseudonymize("@bob", b"key") and doc.tickers == ["XOM"]
    assert not prepared.duplicate.duplicate and preparer.prepare(payload).duplicate.kind == "exact"
    with pytest.raises(InvalidRecord) as caught:
        preparer.prepare(json.dumps({"source": "s", "title": "<p> </p>", "published_at": 1}).encode())
    assert caught.value.reason is RejectReason.EMPTY_TEXT


def test_synthetic_day_is_reproducible_ordered_and_has_the_incident() -> None:
    incident = Incident.parse("Energy | Oil@14:00/20m/5x/70%")
    day = MarketDay(start=time(13, 30), end=time(14, 40), incidents=[incident], seed=3)
    docs = list(day.documents())
    assert docs == list(
        MarketDay(start=time(13, 30), end=time(14, 40), incidents=[incident], seed=3).documents()
    )
    assert docs != list(MarketDay(start=time(13, 30), end=time(14, 40), seed=4).documents())
    assert all(a.published_at <= b.published_at for a, b in pairwise(docs))
    assert docs[0].published_at >= datetime(2026, 11, 20, 13, 30, tzinfo=UTC)
    assert len({d.id for d in docs}) == len(docs)
    syndicated = [d for d in docs if d.title.startswith(("UPDATE 1-", "BREAKING: "))]
    assert syndicated, "near-duplicate copies are part of the scenario"
    assert {d.author for d in docs if d.kind == "post"} - {""}


@pytest.mark.parametrize(
    "spec", ["Energy | Oil@14:00/20m/5x", "Nope@14:00/20m/5x/70%", "Energy | Oil@14:00/20m/5x/170%"]
)
def test_bad_incident_specs_are_clear_errors(spec: str) -> None:
    with pytest.raises(ValueError, match="incident"):
        Incident.parse(spec)
