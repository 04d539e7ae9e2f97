from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.records import InvalidRecord, RejectReason
from stream.prepare.documents import decode_document, document_from_fields, document_id

VALID = {"source": "wire", "title": "Oil slumps", "published_at": "2026-11-20T14:00:00Z"}


def test_minimal_document_is_completed_with_defaults() -> None:
    doc = document_from_fields(VALID)
    assert doc.kind == "news"
    assert doc.lang == "en"
    assert doc.tickers == []
    assert doc.published_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert doc.id == document_id("wire", "", "Oil slumps")
    assert doc.schema_version == 1


def test_derived_id_is_stable_and_depends_on_content() -> None:
    assert document_from_fields(VALID).id == document_from_fields(VALID).id
    assert document_from_fields(VALID).id != document_from_fields({**VALID, "title": "Oil jumps"}).id


def test_given_id_is_kept() -> None:
    assert document_from_fields({**VALID, "id": "abc"}).id == "abc"


@pytest.mark.parametrize(
    ("tickers", "expected"),
    [
        (["aapl", "$msft"], ["AAPL", "MSFT"]),
        ("XOM;CVX", ["XOM", "CVX"]),
        ("$TSLA, F", ["TSLA", "F"]),
        (None, []),
    ],
)
def test_tickers_accept_lists_and_separated_strings(tickers: object, expected: list[str]) -> None:
    assert document_from_fields({**VALID, "tickers": tickers}).tickers == expected


def test_timestamps_are_normalized_to_utc() -> None:
    local = document_from_fields({**VALID, "published_at": "2026-11-20T09:00:00-05:00"})
    naive = document_from_fields({**VALID, "published_at": "2026-11-20T14:00:00"})
    epoch = document_from_fields({**VALID, "published_at": 1795183200})
    assert local.published_at == naive.published_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert epoch.published_at.tzinfo is not None


@pytest.mark.parametrize(
    ("fields", "reason", "detail_part"),
    [
        ({"title": "x", "published_at": "2026-01-01"}, RejectReason.MISSING_FIELD, "source"),
        ({"source": "s", "title": "x"}, RejectReason.MISSING_FIELD, "published_at"),
        (
            {"source": "s", "published_at": "2026-01-01", "title": " ", "body": ""},
            RejectReason.MISSING_FIELD,
            "title",
        ),
        ({**VALID, "published_at": "yesterday"}, RejectReason.INVALID_FIELD, "ISO-8601"),
        ({**VALID, "title": 42}, RejectReason.INVALID_FIELD, "title"),
        ({**VALID, "kind": "tweet"}, RejectReason.INVALID_FIELD, "kind"),
        ({**VALID, "tickers": [1, 2]}, RejectReason.INVALID_FIELD, "tickers"),
        ({**VALID, "schema_version": 2}, RejectReason.UNSUPPORTED_SCHEMA_VERSION, "2"),
    ],
)
def test_invalid_fields_say_what_is_wrong(fields: dict, reason: RejectReason, detail_part: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        document_from_fields(fields)
    assert caught.value.reason is reason
    assert detail_part in caught.value.detail


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, RejectReason.MISSING_FIELD),
        (b"{not json", RejectReason.INVALID_JSON),
        (b"\xff\xfe\x00", RejectReason.NOT_UTF8),
        (b"[1, 2]", RejectReason.NOT_AN_OBJECT),
        (b"x" * 2000, RejectReason.TOO_LARGE),
        (json.dumps({**VALID, "schema_version": 99}).encode(), RejectReason.UNSUPPORTED_SCHEMA_VERSION),
        (json.dumps({"source": "s"}).encode(), RejectReason.MISSING_FIELD),
    ],
)
def test_decode_rejects_malformed_payloads(payload: bytes | None, reason: RejectReason) -> None:
    with pytest.raises(InvalidRecord) as caught:
        decode_document(payload, max_bytes=1000)
    assert caught.value.reason is reason


def test_decode_roundtrips_a_serialized_document() -> None:
    doc = document_from_fields({**VALID, "tickers": ["XOM"], "author": "anon-1"})
    assert decode_document(doc.dumps(), max_bytes=10_000) == doc
