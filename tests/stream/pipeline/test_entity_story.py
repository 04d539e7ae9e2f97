"""Issue 45's incident through the real broker, worker and model, then through replay of its archive: a
name no list holds, named twice in three days of a thin feed, then 8 times in 7 hours, half negative.
Its own key fires an emerging story within those hours, and the replay fires the same alert."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from common.records import Alert, Document
from stream.ingest.sparse import SparseFeed
from stream.ingest.synthetic import synthetic_document
from stream.topics import TopicNames
from tests.helpers import process_all, read_topic, tapewatch

pytestmark = pytest.mark.integration

NAME = "Korvex Lending"
NEGATIVE = [
    "{n} halts customer withdrawals, citing extreme market conditions",
    "Regulators probe {n} after withdrawal freeze",
    "{n} faces lawsuit from depositors over frozen accounts",
    "{n} files for bankruptcy protection after run on deposits",
]
NEUTRAL = [
    "{n} says it is working with advisers on its options",
    "What {n}'s customers need to know",
    "{n} to hold a call with clients on Thursday",
    "{n} statement on account access",
]


def headline(text: str, at: datetime, n: int) -> Document:
    return synthetic_document("newswire", text.format(n=NAME), at, f"https://news.example/k{n}", "", [])


def test_an_incidents_own_name_fires_within_hours_live_and_in_replay(make_settings, tmp_path) -> None:
    feed = SparseFeed(days=4, per_day=30, spam_per_week=0, seed=3)
    assert feed.incidents == []  # the thin feed's own incidents start later: only ours
    day = feed.begins
    before = [
        headline(NEUTRAL[0], day + timedelta(hours=10), 0),
        headline(NEUTRAL[3], day + timedelta(days=1, hours=15), 1),
    ]
    start = day + timedelta(days=3, hours=4)
    story = [
        headline((NEGATIVE if i % 2 == 0 else NEUTRAL)[i // 2], start + timedelta(minutes=55 * i), 10 + i)
        for i in range(8)
    ]
    documents = sorted([*feed.documents(), *before, *story], key=lambda d: d.published_at)
    settings = make_settings(grace_s=3600, idle_close_s=3, archive_flush_s=1)
    process_all(settings, documents, tmp_path / "worker.log")
    alerts = [
        Alert.loads(r.value)
        for r in read_topic(settings.broker_url, TopicNames(settings.topic_prefix).alerts)
    ]
    ours = [a for a in alerts if a.key.startswith("name:Korvex") and a.state == "firing"]
    assert ours, f"no alert on the incident's key; alerts: {[(a.key, a.kind) for a in alerts]}"
    first = ours[0]
    assert first.kind == "emerging_story" and first.negative_authors >= 3
    took = first.window_end - story[0].published_at
    assert timedelta(0) < took <= timedelta(hours=7), took
    assert {e.id for e in first.evidence} <= {d.id for d in story}  # its own headlines as evidence
    print(f"live: {first.key} {first.severity} at {first.horizon}, {took} after the first headline")

    out = tmp_path / "replay"
    result = tapewatch(
        "replay", "--from", f"{day:%Y-%m-%dT%H:%M}", "--to", f"{day + timedelta(days=4):%Y-%m-%dT%H:%M}",
        "--out", str(out), env=settings.as_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    replayed = pd.read_csv(out / "alerts.csv")
    assert first.id in set(replayed["id"]), "the replay of the archive fires the same alert"
    row = replayed.set_index("id").loc[first.id]
    assert first.name.startswith("Korvex") and (row["kind"], row["name"]) == ("emerging_story", first.name)
