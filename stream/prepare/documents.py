"""Turning loose input (a JSON object, a CSV row, raw bytes) into a valid ``Document``.

Pure functions, shared by the ingest commands (which report bad rows to the user) and the
worker (which sends bad records to the dead-letter topic).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from common.records import Document, InvalidRecord, RejectReason, check_schema_version, record_fields

DOCUMENT_KINDS = ("news", "post")
# what a timestamp may say: anything outside is a typo or an attack
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def document_id(source: str, url: str, title: str) -> str:
    """A stable id for documents that come without one, so a re-sent copy gets the same id."""
    digest = hashlib.sha256(f"{source}\x1f{url}\x1f{title}".encode()).hexdigest()
    return digest[:24]


def parse_timestamp(value: Any, field: str) -> datetime:
    """ISO-8601 text or epoch seconds to an aware UTC datetime (naive input is taken as UTC), between
    1900 and 2200: epoch seconds like ``1e20`` or dates at the ends of the calendar are refused."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            parsed = datetime.fromtimestamp(value, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise InvalidRecord(
                RejectReason.INVALID_FIELD, f"{field}: {value!r:.40} is out of range"
            ) from None
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidRecord(
                RejectReason.INVALID_FIELD, f"{field}: not an ISO-8601 timestamp: {value[:40]!r}"
            ) from None
    else:
        raise InvalidRecord(RejectReason.INVALID_FIELD, f"{field}: expected a timestamp, got {value!r:.40}")
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in the year 0 in UTC
        raise InvalidRecord(RejectReason.INVALID_FIELD, f"{field}: {value!s:.40} is out of range") from None
    if not EARLIEST <= parsed < LATEST:
        raise InvalidRecord(
            RejectReason.INVALID_FIELD,
            f"{field}: {parsed.isoformat()} is outside {EARLIEST.year}-{LATEST.year - 1}",
        )
    return parsed


def _encodable(value: str, field: str) -> str:
    """``value``, if it can be written as UTF-8: JSON may carry a lone surrogate (``"\\ud800"``) that
    no topic, file or metric label can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRecord(
            RejectReason.INVALID_FIELD, f"{field}: holds a lone surrogate at character {exc.start}"
        ) from None
    return value


def _text(data: Mapping[str, Any], field: str, default: str = "") -> str:
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidRecord(
            RejectReason.INVALID_FIELD, f"{field}: expected a string, got {type(value).__name__}"
        )
    return _encodable(value, field)


def _tickers(value: Any) -> list[str]:
    """A list of symbols, or one string of symbols separated by spaces, commas or semicolons."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items: list[Any] = value.replace(",", " ").replace(";", " ").split()
    elif isinstance(value, list):
        items = value
    else:
        raise InvalidRecord(
            RejectReason.INVALID_FIELD, f"tickers: expected a list, got {type(value).__name__}"
        )
    if not all(isinstance(item, str) for item in items):
        raise InvalidRecord(RejectReason.INVALID_FIELD, "tickers: every ticker must be a string")
    for item in items:
        _encodable(item, "tickers")
    return [item.strip().lstrip("$").upper() for item in items if item.strip().lstrip("$")]


def document_from_fields(data: Mapping[str, Any], *, received_at: datetime | None = None) -> Document:
    """Validate and complete one document given as a mapping of fields.

    Required: ``source``, ``published_at`` and a non-empty ``title`` or ``body``. The id is derived
    when absent; ``kind`` defaults to ``news``.
    """
    check_schema_version(data)
    for field in ("source", "published_at"):
        if data.get(field) in (None, ""):
            raise InvalidRecord(RejectReason.MISSING_FIELD, f"{field} is required")
    title, body = _text(data, "title"), _text(data, "body")
    if not (title.strip() or body.strip()):
        raise InvalidRecord(RejectReason.MISSING_FIELD, "title or body is required")
    source, url = _text(data, "source"), _text(data, "url")
    kind = _text(data, "kind", "news") or "news"
    if kind not in DOCUMENT_KINDS:
        raise InvalidRecord(
            RejectReason.INVALID_FIELD, f"kind: expected one of {DOCUMENT_KINDS}, got {kind!r}"
        )
    doc_id = data.get("id")
    if doc_id is not None and (not isinstance(doc_id, str | int) or isinstance(doc_id, bool)):
        raise InvalidRecord(RejectReason.INVALID_FIELD, "id: expected a string")
    if isinstance(doc_id, str):
        _encodable(doc_id, "id")
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
    """Raw bytes from the raw-documents topic to a Document, or ``InvalidRecord`` saying why not."""
    return document_from_fields(record_fields(payload, max_bytes))
