from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from stream.ingest.document_file import RowError, detect_format, read_documents


def test_jsonl_reports_bad_rows_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_bytes(
        b'{"source": "s", "title": "ok", "published_at": "2026-01-01T00:00:00Z"}\n'
        b"\n"
        b"not json\n"
        b'{"source": "s", "title": "no time"}\n'
        b'\xff{"source": "s"}\n'
        b"[1]\n"
        b'{"source": "s", "body": "ok too", "published_at": "2026-01-01T00:01:00Z"}\n'
    )
    items = list(read_documents(path))
    errors = [item for item in items if isinstance(item, RowError)]
    assert [e.line for e in errors] == [3, 4, 5, 6]
    assert "invalid JSON" in errors[0].message
    assert "published_at" in errors[1].message
    assert "UTF-8" in errors[2].message
    assert len(items) - len(errors) == 2


def test_csv_rows_become_documents_and_bad_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text(
        "source,title,published_at,tickers\n"
        's,"Headline, with comma",2026-01-01T00:00:00Z,AAPL;MSFT\n'
        "s,Bad date,tomorrow,\n"
        "s,Too many,2026-01-01T00:00:00Z,X,extra\n"
    )
    items = list(read_documents(path))
    assert items[0].title == "Headline, with comma"  # type: ignore[union-attr]
    assert items[0].tickers == ["AAPL", "MSFT"]  # type: ignore[union-attr]
    assert [str(i) for i in items[1:]] == [
        "line 3: invalid_field: published_at: not an ISO-8601 timestamp: 'tomorrow'",
        "line 4: 1 more values than columns",
    ]


def test_unknown_suffix_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot tell the format"):
        detect_format(tmp_path / "docs.xlsx")


def test_shipped_examples_parse() -> None:
    examples = Path(str(resources.files("stream.ingest").joinpath("examples")))
    jsonl = list(read_documents(examples / "documents.jsonl"))
    assert sum(not isinstance(i, RowError) for i in jsonl) == 8
    assert sum(not isinstance(i, RowError) for i in read_documents(examples / "documents.csv")) == 2
