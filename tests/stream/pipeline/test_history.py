"""History is a first-class input: a time-sorted file sent at full speed lands in the windows a replay
of the archive gives, with no document late, and the ingest command says what became of each."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pandas as pd
import pytest

from stream.devstack.worker_process import WorkerProcess
from stream.ingest.synthetic import MarketDay
from stream.settings import StreamSettings
from stream.topics import TopicNames, ensure_topics
from tests.helpers import (
    archived,
    latest_windows,
    read_topic,
    replayed_windows,
    tapewatch,
    wait_until_drained,
)

pytestmark = pytest.mark.integration

FIRST_DAY = date(2026, 10, 1)
DAYS = 5  # a week of trading days at about 1,000 documents a day: the file outruns the model on any machine


def history(days: int = DAYS) -> list[dict]:
    """A time-sorted file of market days, as a user would export one."""
    rows = []
    for n in range(days):
        day = MarketDay(day=FIRST_DAY + timedelta(days=n), start=time(9, 30), end=time(16, 0),
                        per_minute=2.6, syndicated_share=0.03, seed=100 + n)  # fmt: skip
        rows.extend(json.loads(doc.dumps()) for doc in day.documents())
    for row in rows:
        row.pop("received_at")  # the ingest stamps when it sends
    return sorted(rows, key=lambda r: r["published_at"])


@pytest.mark.timeout(900)  # a bound for a hung run: on a slow machine under load the model takes minutes
def test_a_history_file_at_full_speed_has_no_late_document_and_equals_its_replay(
    make_settings, tmp_path
) -> None:
    settings = make_settings(idle_close_s=3, archive_flush_s=1)
    ensure_topics(settings)
    rows = history()
    assert 950 * DAYS <= len(rows) <= 1_050 * DAYS
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready(180)
        result = tapewatch(
            "ingest", "file", str(path), "--rate", "0", "--timeout", "600", env=settings.as_env(), timeout=660
        )
        assert result.returncode == 0, result.stderr[-2000:]
        summary = result.stdout.strip().splitlines()[-1]
        assert summary.startswith(f"sent {len(rows)}, scored ") and summary.endswith(
            ", dead letters 0, late 0"
        ), summary
        assert worker.total("tapewatch_late_documents_total") == 0
    out = tmp_path / "replay"
    replayed = tapewatch(
        "replay",
        "--from",
        str(FIRST_DAY),
        "--to",
        str(FIRST_DAY + timedelta(days=DAYS)),
        "--out",
        str(out),
        env=settings.as_env(),
    )
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    trend = pd.read_csv(out / "trend.csv", parse_dates=["window_start"])
    from_replay = {
        (r.key, r.window_s, r.window_start.to_pydatetime()): (r.count, r.negative, r.neutral, r.positive)
        for r in trend.itertuples()
    }
    live = latest_windows(settings)
    assert len(live) > 300 * DAYS
    assert live == from_replay


def test_the_same_history_sent_twice_is_labelled_the_same_in_both_archives(make_settings, tmp_path) -> None:
    """Labels come from a document's text alone: two fresh runs of one file, batched differently
    (32 and 7 documents), archive the same labels and scores."""
    rows = history(days=1)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    runs = [make_settings(archive_flush_s=1, idle_close_s=1, max_batch=max_batch) for max_batch in (32, 7)]
    workers = [WorkerProcess(settings, tmp_path / f"worker-{n}.log") for n, settings in enumerate(runs)]

    def send(settings: StreamSettings) -> None:
        result = tapewatch("ingest", "file", str(path), "--rate", "0", "--timeout", "240",
                           env=settings.as_env(), timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        wait_until_drained(settings, 120)  # every scored document archived

    try:
        for settings, worker in zip(runs, workers, strict=True):
            ensure_topics(settings)
            worker.start()
        for worker in workers:
            worker.wait_ready(180)
        with ThreadPoolExecutor(2) as both:  # the two runs side by side: their batches differ all the more
            list(both.map(send, runs))
    finally:
        for worker in workers:
            worker.stop()
    columns = ["id", "topic", "topic_confidence", "sentiment", "sentiment_score", "model_version"]
    archives = [{row["id"]: row for row in archived(settings, columns)} for settings in runs]
    first, second = archives
    assert len(first) > 0.9 * len(rows) and first.keys() == second.keys()
    labels = {i: (r["topic"], r["sentiment"], r["model_version"]) for i, r in first.items()}
    assert labels == {i: (r["topic"], r["sentiment"], r["model_version"]) for i, r in second.items()}
    for i, row in first.items():
        assert row["sentiment_score"] == pytest.approx(second[i]["sentiment_score"], abs=1e-5)
        assert row["topic_confidence"] == pytest.approx(second[i]["topic_confidence"], abs=1e-5)


def test_a_document_from_the_future_is_dead_lettered_and_holds_no_window_back(
    make_settings, tmp_path
) -> None:
    """One document dated 2099 used to close every window up to 2099, so all later ones were late."""
    settings = make_settings(idle_close_s=3, archive_flush_s=1)
    ensure_topics(settings)
    rows = [
        json.loads(doc.dumps())
        for doc in MarketDay(start=time(9, 30), end=time(10, 30), per_minute=8).documents()
    ]
    for row in rows:
        row.pop("received_at")
    rows.insert(len(rows) // 3, {"source": "poison", "title": "Markets rally into the next century",
                                 "published_at": "2099-01-01T00:00:00Z"})  # fmt: skip
    path = tmp_path / "poisoned.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with WorkerProcess(settings, tmp_path / "worker.log") as worker:
        worker.wait_ready(180)
        result = tapewatch("ingest", "file", str(path), "--timeout", "120", env=settings.as_env())
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip().splitlines()[-1].endswith(", dead letters 1, late 0"), result.stdout
    dead = [
        json.loads(r.value)
        for r in read_topic(settings.broker_url, TopicNames(settings.topic_prefix).deadletter)
    ]
    assert [d["reason"] for d in dead] == ["future_timestamp"]
    assert "TAPEWATCH_MAX_FUTURE_S" in dead[0]["detail"]
    assert latest_windows(settings) == replayed_windows(settings)
