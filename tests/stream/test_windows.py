"""The window book: when windows are emitted, how late documents amend them, how repeats are known."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from common.records import EntityLabel, WindowEntry
from stream.replay.windows import replay_windows
from stream.routing import entity_labels, window_keys
from stream.windows import Counted, Outcome, WindowBook, window_start
from tests.helpers import T0, scored

KEY = "Earnings"


def item(doc_id: str, seconds: float, sentiment: str = "neutral", lane: int | None = None, offset: int = 0):
    counted = Counted.of(scored(doc_id, T0 + timedelta(seconds=seconds), sentiment), KEY)
    return dataclasses.replace(counted, lane=lane, offset=offset if lane is not None else None)


def at(seconds: float):
    return T0 + timedelta(seconds=seconds)


def test_window_start_floors_to_the_window_size() -> None:
    assert window_start(T0 + timedelta(seconds=59.9), 60) == T0
    assert window_start(T0 + timedelta(minutes=7), 900) == T0


def test_keys_are_the_feed_the_topic_the_source_and_the_entity_keys_stored_when_scored() -> None:
    doc = scored("a", T0, tickers=["XOM", "ZZZ", "XOM"])
    # archived before keys were stored: its tickers
    assert window_keys(doc) == ["all", "Earnings", "source:t", "$XOM", "$ZZZ"]
    label = EntityLabel("negative", -0.7, True, "Velix Capital", "organisation", [[0, 13]])
    keyed = doc.derive(entities={"$BTC": label, "name:Velix Capital": label})
    assert window_keys(keyed)[3:] == ["$BTC", "name:Velix Capital"]  # the stored keys, not the tickers
    assert window_keys(doc.derive(entities={}))[3:] == []


def test_a_document_with_a_user_topic_is_counted_under_it_too() -> None:
    doc = scored("a", T0).derive(user_topic="Stablecoins")
    assert window_keys(doc) == ["all", "Earnings", "topic:Stablecoins", "source:t"]
    assert "topic:Stablecoins" in {point.key for point in replay_windows([doc], 60, 0)}


def test_a_window_is_final_once_the_watermark_passes_its_end_and_counts_sentiments() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    for i, sentiment in enumerate(["negative", "negative", "positive", "neutral"]):
        assert book.add(KEY, item(f"d{i}", i, sentiment)) is Outcome.COUNTED
    assert book.close(at(59)) == []
    (point,) = book.close(at(61))
    assert (point.key, point.window_start, point.window_end) == (KEY, T0, T0 + timedelta(minutes=1))
    assert (point.count, point.negative, point.neutral, point.positive) == (4, 2, 1, 1)
    assert point.negative_ratio == 0.5 and point.final and point.revision == 0
    assert abs(point.mean_score - (-0.8 - 0.8 + 0.6) / 4) < 1e-9
    assert book.close(at(61)) == [] and book.close(at(90)) == []


def test_documents_within_the_grace_count_and_later_ones_are_late() -> None:
    book = WindowBook(size_s=60, grace_s=30)
    book.add(KEY, item("a", 10))
    assert book.close(at(80)) == []  # 14:01:20 minus 30 s grace has not passed 14:01
    assert book.add(KEY, item("in-grace", 20)) is Outcome.COUNTED
    (point,) = book.close(at(95))
    assert point.count == 2
    assert book.add(KEY, item("too-late", 30)) is Outcome.LATE


def test_a_repeated_id_counts_once() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    assert book.add(KEY, item("a", 0)) is Outcome.COUNTED
    assert book.add(KEY, item("a", 0)) is Outcome.REPEAT
    assert book.finish()[0].count == 1


def test_a_window_emitted_early_is_amended_within_the_grace_then_made_final() -> None:
    book = WindowBook(size_s=60, grace_s=120)
    book.add(KEY, item("a", 10, "negative"))
    (early,) = book.flush({0: 5})
    assert (early.count, early.revision, early.final, early.upto) == (1, 0, False, {"0": 5})
    assert book.flush() == []  # nothing changed since
    assert book.add(KEY, item("b", 20)) is Outcome.AMENDED
    (amended,) = book.flush()
    assert (amended.count, amended.revision, amended.final) == (2, 1, False)
    (final,) = book.close(at(181))
    assert (final.count, final.revision, final.final) == (2, 2, True)
    assert book.add(KEY, item("c", 30)) is Outcome.LATE


def test_a_record_published_again_after_a_crash_is_a_repeat_not_late_nor_counted_twice() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    book.add(KEY, item("a", 10, lane=0, offset=4))
    (point,) = book.close(at(61), upto={0: 5, 1: 3})
    assert point.upto == {"0": 5, "1": 3}
    assert book.add(KEY, item("a", 10, lane=0, offset=4)) is Outcome.REPEAT  # read again: in the count
    assert book.add(KEY, item("x", 20, lane=1, offset=3)) is Outcome.LATE  # new, after the window was final


def test_recovered_windows_know_their_repeats_and_early_ones_can_still_be_amended() -> None:
    first = WindowBook(size_s=60, grace_s=120)
    first.add(KEY, item("a", 10, "negative", lane=0, offset=1))
    first.add("Macro", item("m", 70, lane=0, offset=2))
    finals = first.close(at(185), upto={0: 3})
    early = first.flush({0: 3})
    after_restart = WindowBook(size_s=60, grace_s=120)
    after_restart.recover([*finals, *early])
    assert after_restart.add(KEY, item("a", 10, lane=0, offset=1)) is Outcome.REPEAT
    assert after_restart.add("Macro", item("m", 70, lane=0, offset=2)) is Outcome.REPEAT
    assert after_restart.add("Macro", item("n", 80, lane=0, offset=7)) is Outcome.AMENDED
    (amended,) = after_restart.flush({0: 8})
    assert (amended.key, amended.count, amended.revision) == ("Macro", 2, early[0].revision + 1)


def test_replay_gives_every_document_in_final_windows_in_order() -> None:
    docs = [
        scored(f"d{i}", T0 + timedelta(seconds=7 * i), ["negative", "positive"][i % 2]) for i in range(40)
    ]
    points = [p for p in replay_windows(docs, size_s=60, grace_s=0) if p.key == "all"]
    assert sum(p.count for p in points) == 40 and all(p.final for p in points)
    assert [p.window_start for p in points] == sorted(p.window_start for p in points)


def test_a_window_keeps_its_most_negative_documents_lowest_score_first() -> None:
    book = WindowBook(60, 0, evidence=2)
    for doc in (
        scored("a", T0, "negative"),
        scored("b", T0, "positive"),
        scored("c", T0, "negative").derive(sentiment_score=-0.95),
        scored("d", T0, "negative").derive(sentiment_score=-0.5),
    ):
        book.add(KEY, Counted.of(doc, KEY))
    point = book.finish()[0]
    assert [(e.id, e.score) for e in point.most_negative] == [("c", -0.95), ("a", -0.8)]
    assert point.most_negative[0].title == "c"


def test_an_entity_key_counts_the_sentiment_toward_the_entity_and_the_rest_the_documents() -> None:
    doc = scored("h", T0, "negative", tickers=["SHIB", "BTC"])
    doc = doc.derive(entities={"$SHIB": EntityLabel("positive", 0.7), "$BTC": EntityLabel("negative", -0.6)})
    points = {p.key: p for p in replay_windows([doc], size_s=60, grace_s=0) if p.count}
    assert (points["$SHIB"].positive, points["$SHIB"].negative) == (1, 0)
    assert points["$SHIB"].mean_score == pytest.approx(0.7)
    assert (points["$BTC"].negative, points["all"].negative, points["Earnings"].negative) == (1, 1, 1)
    entry = WindowEntry(
        keys=["$SHIB", "all"], id="h", published_at=T0, sentiment="negative", score=-0.8, title="h",
        lane=0, offset=0, entities=entity_labels(doc, ["$SHIB", "all"]),
    )  # fmt: skip
    assert entry.entities == {"$SHIB": EntityLabel("positive", 0.7)}
    assert Counted.entry(entry, "$SHIB").sentiment == "positive"
    assert Counted.entry(entry, "all").sentiment == "negative"
    assert entity_labels(doc.derive(entities=None), ["$SHIB"]) is None
