"""The ``tapewatch`` command as a user runs it."""

from __future__ import annotations

import json
import subprocess

import pytest

from stream.topics import TopicNames
from tests.helpers import read_topic, tapewatch

pytestmark = pytest.mark.integration


def test_help_lists_only_working_commands() -> None:
    result = tapewatch("--help")
    assert result.returncode == 0
    commands = result.stdout.split("Commands:")[1].split()
    listed = {word for word in commands if word.islower() and word.isalpha()}
    assert {"broker", "worker", "ingest", "demo"} <= listed
    assert "file" in tapewatch("ingest", "--help").stdout


def test_ingest_file_sends_valid_rows_and_reports_bad_ones(make_settings, tmp_path) -> None:
    settings = make_settings()
    path = tmp_path / "docs.jsonl"
    rows = [
        {"id": f"d{i}", "source": "wire", "title": f"t{i}", "published_at": "2026-11-20T14:00:00Z"}
        for i in range(5)
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, "{broken")
    path.write_text("\n".join(lines) + "\n")
    result = tapewatch("ingest", "file", str(path), "--no-wait", env=settings.as_env())
    assert result.returncode == 1
    assert "sent 5 documents" in result.stdout
    assert "line 3: invalid JSON" in result.stderr
    records = read_topic(settings.broker_url, TopicNames(settings.topic_prefix).raw)  # sent: acknowledged
    assert sorted(json.loads(r.value)["id"] for r in records) == [f"d{i}" for i in range(5)]


def test_ingest_against_no_broker_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"source": "s", "title": "t", "published_at": "2026-11-20T14:00:00Z"}\n')
    result = tapewatch("ingest", "file", str(path), env={"TAPEWATCH_BROKER_URL": "127.0.0.1:1"})
    assert result.returncode == 1
    assert "no Kafka broker at 127.0.0.1:1" in result.stderr


def test_missing_file_and_bad_settings_are_usage_errors(tmp_path) -> None:
    assert tapewatch("ingest", "file", str(tmp_path / "nope.jsonl")).returncode == 2
    result = tapewatch("worker", env={"TAPEWATCH_TOPIC_PARTITIONS": "zero"})
    assert result.returncode == 2
    assert "TAPEWATCH_TOPIC_PARTITIONS" in result.stderr


def test_the_sparse_profile_writes_a_feed_ingest_file_reads_and_labels_backtest_reads(tmp_path) -> None:
    from alerts.backtest import read_incidents
    from common.records import Document
    from stream.ingest.document_file import read_documents

    docs, labels = tmp_path / "sparse.jsonl", tmp_path / "incidents.csv"
    result = tapewatch("ingest", "synthetic", "--profile", "sparse", "--days", "40", "--seed", "2",
                       "--out", str(docs), "--incidents-out", str(labels))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "40 days from 2026-01-05" in result.stdout
    read = list(read_documents(docs))
    assert 1000 < len(read) < 2500 and all(isinstance(r, Document) for r in read)
    incidents = read_incidents(labels)
    assert incidents and all(i.mentions and len(i.keys) >= 3 for i in incidents)
    wrong = tapewatch("ingest", "synthetic", "--profile", "sparse", "--incident", "Markets@10:00/5m/2x/50%")
    assert wrong.returncode == 2 and "--incident is for the dense profile" in wrong.stderr


def test_demo_runs_and_leaves_nothing_running() -> None:
    result = tapewatch("demo", "--duration", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "documents sent" in result.stdout
    assert "demo finished; broker and worker stopped." in result.stdout
    leftovers = subprocess.run(
        ["pgrep", "-f", "tapewatch-demo|stream.cli worker|stream.cli alerts listen"],
        capture_output=True,
        text=True,
    )
    assert leftovers.stdout.strip() == ""
