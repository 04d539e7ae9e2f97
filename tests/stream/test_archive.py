from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq

from common.records import EntityLabel
from stream.archive import ParquetArchive, from_row, to_table
from stream.replay.run import select
from stream.replay.sources import read_archive, scored_documents
from tests.helpers import T0, scored


def test_archive_partitions_by_day_and_skips_ids_it_holds(tmp_path) -> None:
    archive = ParquetArchive(tmp_path)
    day_one = [scored(f"a{i}", T0 + timedelta(minutes=i)) for i in range(3)]
    day_two = [scored("b0", T0 + timedelta(days=1))]
    assert archive.write(day_one + day_two) == 4
    assert (
        ParquetArchive(tmp_path).write([*day_one[:2], scored("a9", T0)]) == 1
    )  # a fresh writer reads ids back
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["date=2026-11-20", "date=2026-11-21"]
    table = pq.read_table(tmp_path / "date=2026-11-20")
    assert sorted(table.column("id").to_pylist()) == ["a0", "a1", "a2", "a9"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_sentiment_toward_each_entity_is_archived_and_read_back(tmp_path) -> None:
    doc = scored("e", T0, "negative", tickers=["SHIB"]).derive(
        entities={"$SHIB": EntityLabel("positive", 0.5, True), "$XYZ": EntityLabel("negative", -0.75, False)}
    )
    ParquetArchive(tmp_path).write([doc, scored("plain", T0)])
    rows = {r["id"]: r for r in pq.read_table(tmp_path).to_pylist()}
    back = from_row(rows["e"])
    assert back.entities == doc.entities and back.counted_as("$SHIB") == ("positive", 0.5)
    assert rows["plain"]["entities"] is None and from_row(rows["plain"]).entities is None


def test_an_archive_written_before_the_entities_column_reads_as_scored_without_them(tmp_path) -> None:
    old = to_table([scored("old", T0)]).drop_columns(["entities"])
    folder = tmp_path / "date=2026-11-20"
    folder.mkdir()
    pq.write_table(old, folder / "part-old.parquet")
    ParquetArchive(tmp_path).write(
        [scored("new", T0).derive(entities={"$A": EntityLabel("positive", 0.375)})]
    )
    table = read_archive(tmp_path, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    by_id = {s.document.id: s for s in scored_documents(table)}
    assert by_id["old"].entities is None and by_id["new"].counted_as("$A") == ("positive", 0.375)


def test_the_user_topic_is_archived_and_chosen_by_name(tmp_path) -> None:
    ParquetArchive(tmp_path).write(
        [scored("mine", T0).derive(user_topic="Stablecoins"), scored("other", T0, topic="Macro")]
    )
    old = to_table([scored("old", T0)]).drop_columns(["user_topic"])
    pq.write_table(old, tmp_path / "date=2026-11-20" / "part-old.parquet")
    period = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    by_id = {s.document.id: s for s in scored_documents(read_archive(tmp_path, *period))}
    assert by_id["mine"].user_topic == "Stablecoins" and by_id["old"].user_topic is None
    chosen = read_archive(tmp_path, *period, ["Macro"], user_topics=["Stablecoins"])
    assert sorted(chosen.column("id").to_pylist()) == ["mine", "other"]
    only_mine = read_archive(tmp_path, *period, user_topics=["Stablecoins"])
    assert only_mine.column("id").to_pylist() == ["mine"]
    assert [d.document.id for d in select(by_id.values(), [], None, ["Stablecoins"])] == ["mine"]
