"""Reading documents from JSONL or CSV files, with a line number on every bad row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from common.records import Document, InvalidRecord
from stream.prepare.documents import document_from_fields

FileFormat = Literal["jsonl", "csv"]
FORMAT_BY_SUFFIX: dict[str, FileFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}


@dataclass(frozen=True)
class RowError:
    """A row of the file that is not a valid document."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def detect_format(path: Path) -> FileFormat:
    try:
        return FORMAT_BY_SUFFIX[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise ValueError(f"cannot tell the format of {path.name}: use a {known} file or --format") from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield line_no, RowError(line_no, f"not valid UTF-8 (byte {exc.start})")
                continue
            except json.JSONDecodeError as exc:
                yield line_no, RowError(line_no, f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(data, dict):
                yield line_no, RowError(line_no, f"expected a JSON object, got {type(data).__name__}")
                continue
            yield line_no, data


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line_no = reader.line_num
            if None in row:
                yield line_no, RowError(line_no, f"{len(row[None])} more values than columns")
                continue
            values = [value for value in row.values() if value is not None]
            try:
                for value in values:
                    value.encode("utf-8")
            except UnicodeEncodeError:
                yield line_no, RowError(line_no, "not valid UTF-8")
                continue
            yield line_no, {key: value for key, value in row.items() if value not in (None, "")}


def read_documents(path: Path, file_format: FileFormat | None = None) -> Iterator[Document | RowError]:
    """Every row of the file as a Document, or a RowError saying which line is wrong and why."""
    rows = _jsonl_rows(path) if (file_format or detect_format(path)) == "jsonl" else _csv_rows(path)
    for line_no, row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        try:
            yield document_from_fields(row)
        except InvalidRecord as exc:
            yield RowError(line_no, str(exc))
