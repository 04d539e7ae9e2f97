"""Turning loose input (a JSON object, a CSV row, raw bytes) into a valid ``Document``.

Pure functions, shared by the ingest commands (which report bad rows to the user) and the
worker (which sends bad records to the dead-letter topic).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stream.records import SCHEMA_VERSION, Document, RejectReason

DOCUMENT_KINDS = ("news", "post")


class InvalidDocument(ValueError):
    """Input that cannot become a Document; ``reason`` is a bounded label, ``detail`` is for people."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def document_id(source: str, url: str, title: str) -> str:
    """A stable id for documents that come without one, so a re-sent copy gets the same id."""
    digest = hashlib.sha256(f"{source}\x1f{url}\x1f{title}".encode()).hexdigest()
    return digest[:24]


def parse_timestamp(value: Any, field: str) -> datetime:
    """ISO-8601 text or epoch seconds to an aware UTC datetime (naive input is taken as UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidDocument(
                RejectReason.INVALID_FIELD, f"{field}: not an ISO-8601 timestamp: {value[:40]!r}"
            ) from None
    else:
        raise InvalidDocument(RejectReason.INVALID_FIELD, f"{field}: expected a timestamp, got {value!r:.40}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(data: Mapping[str, Any], field: str, default: str = "") -> str:
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidDocument(
            RejectReason.INVALID_FIELD, f"{field}: expected a string, got {type(value).__name__}"
        )
    return value


def _tickers(value: Any) -> list[str]:
    """A list of symbols, or one string of symbols separated by spaces, commas or semicolons."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[Any] = value.replace(",", " ").replace(";", " ").split()
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidDocument(
            RejectReason.INVALID_FIELD, f"tickers: expected a list, got {type(value).__name__}"
        )
    if not all(isinstance(item, str) for item in items):
        raise InvalidDocument(RejectReason.INVALID_FIELD, "tickers: every ticker must be a string")
    return [item.strip().lstrip("$").upper() for item in items if item.strip().lstrip("$")]


def document_from_fields(data: Mapping[str, Any], *, received_at: datetime | None = None) -> Document:
    """Validate and complete one document given as a mapping of fields.

    Required: ``source``, ``published_at`` and a non-empty ``title`` or ``body``. The id is derived
    when absent; ``kind`` defaults to ``news``.
    """
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION and str(version) != str(SCHEMA_VERSION):
        raise InvalidDocument(
            RejectReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version {version!r} is not supported (this worker reads {SCHEMA_VERSION})",
        )
    for field in ("source", "published_at"):
        if data.get(field) in (None, ""):
            raise InvalidDocument(RejectReason.MISSING_FIELD, f"{field} is required")
    title, body = _text(data, "title"), _text(data, "body")
    if not (title.strip() or body.strip()):
        raise InvalidDocument(RejectReason.MISSING_FIELD, "title or body is required")
    source, url = _text(data, "source"), _text(data, "url")
    kind = _text(data, "kind", "news") or "news"
    if kind not in DOCUMENT_KINDS:
        raise InvalidDocument(
            RejectReason.INVALID_FIELD, f"kind: expected one of {DOCUMENT_KINDS}, got {kind!r}"
        )
    doc_id = data.get("id")
    if doc_id is not None and not isinstance(doc_id, str | int):
        raise InvalidDocument(RejectReason.INVALID_FIELD, "id: expected a string")
    return Document(
        id=str(doc_id) if doc_id not in (None, "") else document_id(source, url, title),
        source=source,
        kind=kind,
        title=title,
        body=body,
        url=url,
        author=_text(data, "author"),
        lang=_text(data, "lang", "en") or "en",
        tickers=_tickers(data.get("tickers")),
        published_at=parse_timestamp(data["published_at"], "published_at"),
        received_at=(
            parse_timestamp(data["received_at"], "received_at")
            if data.get("received_at")
            else received_at or datetime.now(UTC)
        ),
    )


def decode_document(payload: bytes | None, *, max_bytes: int) -> Document:
    """Raw bytes from the raw-documents topic to a Document, or ``InvalidDocument`` saying why not."""
    if payload is None:
        raise InvalidDocument(RejectReason.MISSING_FIELD, "empty record (no value)")
    if len(payload) > max_bytes:
        raise InvalidDocument(
            RejectReason.TOO_LARGE, f"{len(payload)} bytes exceeds the limit of {max_bytes}"
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDocument(RejectReason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            RejectReason.INVALID_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidDocument(
            RejectReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(data).__name__}"
        )
    return document_from_fields(data)
