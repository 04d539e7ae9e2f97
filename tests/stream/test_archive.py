from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq

from stream.archive import ParquetArchive
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
