"""Replay and backtest on the real broker: the archive of a live run replays to the same windows and
alerts; Kafka replay by time returns exactly the documents of the range; bad arguments exit 2.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from kafka import KafkaProducer

from common.records import Alert, TrendPoint
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.synthetic import Incident, MarketDay
from stream.replay.sources import KafkaRange
from stream.topics import TopicNames, ensure_topics
from tests.helpers import read_topic, send_documents, tapewatch, unique_settings, wait_until_drained

pytestmark = pytest.mark.integration  # real servers, tools or CLI processes

ALERT_ENV: dict[str, str] = {}  # default detector settings
DAY = MarketDay(
    start=time(10, 0), end=time(12, 0), incidents=[Incident.parse("Energy | Oil@11:20/15m/6x/85%")], seed=21
)


@pytest.fixture(scope="module")
def live_day(broker, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A worker's run over the synthetic morning: its archive, trend points and alerts."""

    tmp = tmp_path_factory.mktemp("live")
    settings = unique_settings(broker, tmp, grace_s=3600, idle_close_s=3, archive_flush_s=1)
    documents = list(DAY.documents())
    send_documents(settings, documents)
    worker = WorkerProcess(settings, tmp / "worker.log", env=ALERT_ENV).start()
    try:
        worker.wait_ready(120)
        wait_until_drained(settings, 180)  # scored, archived, windowed and alerted: every step committed
        events = worker.total("tapewatch_alert_events_total")
        worker.stop()
        names = TopicNames(settings.topic_prefix)
        alerts = [Alert.loads(r.value) for r in read_topic(settings.broker_url, names.alerts)]
        assert events and len(alerts) == events
        trends = [TrendPoint.loads(r.value) for r in read_topic(settings.broker_url, names.trends)]
    finally:
        worker.stop()
    return {"settings": settings, "trends": trends, "alerts": alerts, "tmp": tmp}


def test_replaying_the_archived_day_gives_the_live_windows_and_alerts(live_day: dict) -> None:
    settings, out = live_day["settings"], live_day["tmp"] / "replay"
    result = tapewatch(
        "replay", "--from", "2026-11-20T10:00", "--to", "2026-11-20T12:00", "--out", str(out),
        env={**settings.as_env(), **ALERT_ENV},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "alerts fired" in result.stdout
    trend = pd.read_csv(out / "trend.csv", parse_dates=["window_start"])
    replayed = {
        (r.key, r.window_s, r.window_start.to_pydatetime()): (r.count, r.negative, r.neutral, r.positive)
        for r in trend.itertuples()
    }
    live = {
        (p.key, int((p.window_end - p.window_start).total_seconds()), p.window_start): (
            p.count, p.negative, p.neutral, p.positive
        )
        for p in live_day["trends"]
    }  # fmt: skip
    assert len(live) > 200
    assert {k: replayed.get(k) for k in live} == live, "a live window differs in the replay"
    newest = {size: max(start for _, s, start in live if s == size) for _, size, _ in live}
    extra = set(replayed) - set(live)  # live keeps each size's newest window open while input is quiet
    assert all(start > newest[size] for _, size, start in extra), (
        "the replay has windows the live run had not"
    )

    alerts = pd.read_csv(out / "alerts.csv")
    assert {"key", "state", "severity", "window_start", "window_end", "horizon"} <= set(alerts.columns)
    live_alerts = {(a.id, a.key, a.state, a.severity, a.count, a.horizon) for a in live_day["alerts"]}
    assert any(a.key == "Energy | Oil" and a.state == "firing" for a in live_day["alerts"])
    replay_alerts = {(r.id, r.key, r.state, r.severity, r.count, r.horizon) for r in alerts.itertuples()}
    assert live_alerts <= replay_alerts, f"live alerts missing from the replay: {live_alerts - replay_alerts}"
    assert (out / "chart.png").stat().st_size > 10_000 and (out / "documents.parquet").exists()


def test_replay_counts_the_live_keys_and_rekey_decides_them_with_todays_watchlist(live_day: dict) -> None:
    """A watchlist edited after the live run changes nothing in a replay of the archive (each document is
    counted under the keys it was given when scored), and ``--rekey`` applies it."""
    settings, tmp = live_day["settings"], live_day["tmp"]
    watchlist = tmp / "today.yml"
    watchlist.write_text("entities:\n- name: Newmont\n  kind: stock\n")
    env = {**settings.as_env(), **ALERT_ENV, "TAPEWATCH_WATCHLIST_PATH": str(watchlist)}
    keys = {}
    for flags in ((), ("--rekey",)):
        out = tmp / f"replay{'-'.join(flags)}"
        result = tapewatch(
            "replay", "--from", "2026-11-20T10:00", "--to", "2026-11-20T12:00", "--out", str(out), *flags,
            env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        keys[flags] = set(pd.read_csv(out / "trend.csv")["key"])
    live = {p.key for p in live_day["trends"]}
    assert "$NEM" in live and "entity:Newmont" not in live
    assert live <= keys[()] and "entity:Newmont" not in keys[()]
    assert "entity:Newmont" in keys[("--rekey",)]
    labels = {
        flags: pd.read_parquet(tmp / f"replay{'-'.join(flags)}" / "documents.parquet")
        .set_index("id")[["topic", "sentiment", "sentiment_score"]]
        .sort_index()
        for flags in keys
    }
    pd.testing.assert_frame_equal(labels[()], labels[("--rekey",)])  # keys only: the live labels kept
    out = tmp / "replay-key"
    result = tapewatch(
        "replay", "--from", "2026-11-20T10:00", "--to", "2026-11-20T12:00", "--out", str(out),
        "--key", "entity:Newmont", "--rekey", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(pd.read_csv(out / "trend.csv")["key"]) == {"entity:Newmont"}
    chosen = pd.read_parquet(out / "documents.parquet")
    assert (
        0 < len(chosen) < len(labels[()]) and (chosen["title"] + chosen["body"]).str.contains("Newmont").all()
    )
    both = tapewatch("replay", "--from", "2026-11-20T10:00", "--to", "2026-11-20T12:00", "--out", str(out),
                     "--rekey", "--rescore", env=env)  # fmt: skip
    assert both.returncode == 2 and "give one of --rescore, --rekey" in both.stderr


def test_backtest_reports_delays_misses_and_false_alerts(live_day: dict) -> None:
    incidents = live_day["tmp"] / "incidents.csv"
    incidents.write_text("key,start,end\nEnergy | Oil,2026-11-20T11:20:00+00:00,2026-11-20T11:35:00+00:00\n")
    result = tapewatch(
        "backtest", "--from", "2026-11-20T10:00", "--to", "2026-11-20T12:00", "--z", "4.5,40",
        "--incidents", str(incidents), env={**live_day["settings"].as_env(), **ALERT_ENV},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    found = lines.index(next(line for line in lines if line.startswith("z_warning=4.5:")))
    assert "caught 1/1" in lines[found] and "missed 0" in lines[found]
    assert "first caught at 5m: 1" in lines[found + 1]  # the per-horizon line
    assert any(line.startswith("    caught Energy | Oil on Energy | Oil at 5m") for line in lines[found:])
    impossible = next(line for line in lines if line.startswith("z_warning=40:"))  # z is at most 40
    assert "caught 0/1" in impossible and "missed 1" in impossible


def test_kafka_replay_by_time_returns_exactly_the_documents_of_the_range(make_settings) -> None:
    settings = make_settings()
    ensure_topics(settings)
    topic = TopicNames(settings.topic_prefix).raw
    documents = list(MarketDay(start=time(10, 0), end=time(10, 5), seed=3).documents())[:60]
    base = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    producer = KafkaProducer(bootstrap_servers=settings.broker_url)
    for n, document in enumerate(documents):  # one record a second, in three batches of 20
        at = base + timedelta(seconds=n)
        producer.send(
            topic, key=document.id.encode(), value=document.dumps(), timestamp_ms=int(at.timestamp() * 1000)
        )
        if n % 20 == 19:
            producer.flush()
    producer.close()
    start, end = base + timedelta(seconds=17), base + timedelta(seconds=43)
    found = list(KafkaRange(settings.bootstrap_servers, topic, start, end))
    assert sorted(d.id for d in found) == sorted(d.id for d in documents[17:43])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-20T12:00", "--to", "2026-11-20T10:00"], "is after --to"),
        (["--from", "2026-11-20T10:00", "--to", "2026-11-20T10:00"], "empty range"),
        (
            ["--from", "2026-11-20T10:00", "--to", "2026-11-20T11:00", "--topic", "Weather"],
            "unknown topic 'Weather'",
        ),
        (["--from", "yesterday", "--to", "2026-11-20T11:00"], "is not an ISO-8601 time"),
        (["--from", "2026-11-20T10:00", "--to", "2026-11-20T11:00"], "no archive at"),
    ],
)
def test_bad_arguments_are_one_line_errors_with_exit_code_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    env = {"TAPEWATCH_DATA_DIR": str(tmp_path / "nothing-here")}
    result = tapewatch("replay", *args, "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 2, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and message in error[0], result.stderr
