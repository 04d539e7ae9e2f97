from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stream.windows import WindowBook, replay_windows, window_keys, window_start
from tests.helpers import T0, scored


def test_window_start_floors_to_the_window_size() -> None:
    assert window_start(T0 + timedelta(seconds=59.9), 60) == T0
    assert window_start(T0 + timedelta(minutes=7), 900) == T0


def test_keys_are_the_topic_and_watched_tickers() -> None:
    doc = scored("a", T0, tickers=["XOM", "ZZZ", "XOM"])
    assert window_keys(doc, frozenset({"XOM"})) == ["Earnings", "$XOM"]
    assert window_keys(doc, None) == ["Earnings", "$XOM", "$ZZZ"]


def test_closed_window_counts_sentiments_and_mean() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    for i, sentiment in enumerate(["negative", "negative", "positive", "neutral"]):
        book.add(scored(f"d{i}", T0 + timedelta(seconds=i), sentiment))
    assert book.close_ready() == []  # the watermark has not passed the window's end
    book.add(scored("next", T0 + timedelta(seconds=61)))
    (point,) = book.close_ready()
    assert (point.key, point.window_start, point.window_end) == ("Earnings", T0, T0 + timedelta(minutes=1))
    assert (point.count, point.negative, point.neutral, point.positive) == (4, 2, 1, 1)
    assert point.negative_ratio == 0.5
    assert abs(point.mean_score - (-0.8 - 0.8 + 0.6) / 4) < 1e-9


def test_late_documents_within_grace_count_and_later_ones_do_not() -> None:
    book = WindowBook(size_s=60, grace_s=30)
    book.add(scored("a", T0 + timedelta(seconds=10)))
    book.add(scored("b", T0 + timedelta(seconds=80)))  # watermark 14:01:20; 14:00 window waits for grace
    assert book.close_ready() == []
    assert book.add(scored("late-ok", T0 + timedelta(seconds=20))).keys == ["Earnings"]
    book.add(scored("c", T0 + timedelta(seconds=95)))  # 14:01:35 - 30 s grace passes 14:01
    (point,) = book.close_ready()
    assert point.count == 2
    assert book.add(scored("too-late", T0 + timedelta(seconds=30))).late


def test_repeated_ids_count_once() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    assert book.add(scored("a", T0)).keys == ["Earnings"]
    assert book.add(scored("a", T0)).duplicate
    assert book.flush()[0].count == 1


def test_the_slowest_lane_holds_the_watermark() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    book.expect(frozenset({0, 1}))
    book.add(scored("a", T0 + timedelta(minutes=5)), lane=0)
    assert book.watermark is None and book.close_ready() == []  # lane 1 has not spoken yet
    book.add(scored("b", T0 + timedelta(seconds=5)), lane=1)
    assert book.watermark == T0 + timedelta(seconds=5)
    assert not book.add(scored("c", T0 + timedelta(seconds=6)), lane=1).late


def test_idle_close_leaves_the_newest_window_open_and_is_idempotent() -> None:
    book = WindowBook(size_s=60, grace_s=300)
    book.add(scored("a", T0))
    book.add(scored("b", T0 + timedelta(seconds=70)))
    assert [p.window_start for p in book.close_idle()] == [T0]
    assert book.close_idle() == []
    assert list(book.open) == [("Earnings", T0 + timedelta(minutes=1))]


def test_resume_after_keeps_emitted_windows_closed() -> None:
    book = WindowBook(size_s=60, grace_s=0)
    book.resume_after(T0 + timedelta(minutes=1))
    assert book.add(scored("redelivered", T0 + timedelta(seconds=30))).late
    assert not book.add(scored("new", T0 + timedelta(seconds=61))).late


def test_replay_matches_incremental_windows() -> None:
    docs = [
        scored(f"d{i}", T0 + timedelta(seconds=7 * i), ["negative", "positive"][i % 2]) for i in range(40)
    ]
    points = replay_windows(docs, size_s=60, grace_s=0)
    assert sum(p.count for p in points) == 40
    assert [p.window_start for p in points] == sorted(p.window_start for p in points)


def test_a_closed_window_keeps_its_most_negative_documents_lowest_score_first() -> None:
    book = WindowBook(60, 0, evidence=2)
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    docs = [scored("a", t0, "negative"), scored("b", t0, "positive"), scored("c", t0, "negative")]
    docs[2] = docs[2].derive(sentiment_score=-0.95)
    docs.append(scored("d", t0, "negative").derive(sentiment_score=-0.5))
    for doc in docs:
        book.add(doc)
    point = book.flush()[0]
    assert [(e.id, e.score) for e in point.most_negative] == [("c", -0.95), ("a", -0.8)]
    assert point.most_negative[0].title == "c"


def test_a_document_scored_again_with_another_topic_counts_once() -> None:
    book = WindowBook(60, 0)
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert book.add(scored("a", t0, topic="Financials")).keys == ["Financials"]
    again = book.add(scored("a", t0, topic="Fed | Central Banks"))
    assert again.duplicate and again.keys == []
    assert [(p.key, p.count) for p in book.flush()] == [("Financials", 1)]
