from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.replay_archive import build_archive
from stream.replay.sources import ReplayError, day_partitions, read_archive, scored_documents

START = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_a_range_reads_only_its_day_partitions_and_the_asked_rows(tmp_path: Path) -> None:
    build_archive(tmp_path, rows=3000, days=3)
    # an unreadable file in another day: reading the first day must never open it
    (tmp_path / "date=2026-11-04" / "part-999.parquet").write_bytes(b"not parquet")
    first_day = read_archive(tmp_path, START, START + timedelta(hours=7))
    assert first_day.num_rows == 1000
    assert day_partitions(tmp_path, START, START + timedelta(hours=7)) == [tmp_path / "date=2026-11-02"]
    hour = read_archive(
        tmp_path,
        START,
        START + timedelta(hours=1),
        topics=["Energy | Oil"],
        columns=["id", "topic", "published_at"],
    )
    assert 0 < hour.num_rows < 1000 and set(hour.column("topic").to_pylist()) == {"Energy | Oil"}
    times = hour.column("published_at").to_pylist()
    assert times == sorted(times) and all(START <= t < START + timedelta(hours=1) for t in times)


def test_archive_rows_become_scored_documents_again(tmp_path: Path) -> None:
    build_archive(tmp_path, rows=20, days=1)
    documents = list(scored_documents(read_archive(tmp_path, START, START + timedelta(days=1))))
    assert len(documents) == 20 and documents[0].document.source == "newswire"
    assert set(documents[0].probs) == {"negative", "neutral", "positive"}


def test_a_missing_archive_is_a_replay_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no archive at"):
        read_archive(tmp_path / "absent", START, START + timedelta(days=1))
