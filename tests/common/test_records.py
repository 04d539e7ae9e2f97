from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.records import (
    Alert,
    Evidence,
    InvalidRecord,
    RejectReason,
    ScoredDocument,
    TokenWeight,
    TrendPoint,
    decode_record,
)
from stream.pipeline.deadletter import PAYLOAD_PREVIEW_BYTES, rejection
from stream.prepare.documents import document_from_fields

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def scored() -> ScoredDocument:
    doc = document_from_fields({"source": "wire", "title": "Oil slumps", "published_at": NOW.isoformat()})
    return ScoredDocument(
        document=doc,
        topic="Energy | Oil",
        topic_confidence=0.9,
        sentiment="negative",
        sentiment_score=-0.8,
        probs={"negative": 0.85, "neutral": 0.1, "positive": 0.05},
        model_version="test-1",
        scored_at=NOW,
        explanation=[TokenWeight(token="slumps", weight=0.7)],
    )


def test_wire_json_is_plain_and_versioned() -> None:
    data = json.loads(scored().dumps())
    assert "__faust" not in data
    assert data["schema_version"] == 1
    assert data["document"]["schema_version"] == 1
    assert data["scored_at"].startswith("2026-11-20T14:00:00")


def test_nested_records_roundtrip() -> None:
    original = scored()
    loaded = ScoredDocument.loads(original.dumps())
    assert loaded == original
    assert isinstance(loaded.explanation[0], TokenWeight)
    assert loaded.document.published_at == NOW


def trend_point() -> TrendPoint:
    return TrendPoint(
        key="$XOM",
        window_start=NOW,
        window_end=NOW,
        count=3,
        negative=2,
        neutral=1,
        positive=0,
        mean_score=-0.5,
        negative_ratio=2 / 3,
    )


def test_trend_point_and_alert_roundtrip() -> None:
    point = trend_point()
    assert TrendPoint.loads(point.dumps()) == point
    alert = Alert(
        id="a1",
        key="Energy | Oil",
        kind="negative_spike",
        state="firing",
        severity="critical",
        window_start=NOW,
        window_end=NOW,
        negative_ratio=0.7,
        baseline=0.2,
        zscore=4.2,
        count=40,
        evidence=[Evidence(id="d1", title="Oil slumps", score=-0.9)],
        fired_at=NOW,
    )
    loaded = Alert.loads(alert.dumps())
    assert loaded == alert
    assert isinstance(loaded.evidence[0], Evidence)


def test_rejection_keeps_where_and_why_and_truncates_payload() -> None:
    error = InvalidRecord(RejectReason.TOO_LARGE, "too big")
    record = rejection(error, b"\xff" + b"a" * 10_000, topic="raw", partition=2, offset=41)
    assert (record.reason, record.source_topic, record.partition, record.offset) == (
        "too_large",
        "raw",
        2,
        41,
    )
    assert record.payload_size == 10_001
    assert record.payload.startswith("\\xff")
    assert len(record.payload) <= PAYLOAD_PREVIEW_BYTES + 3


def test_every_record_kind_is_decoded_with_its_schema_version_checked() -> None:
    point = trend_point()
    assert decode_record(TrendPoint, point.dumps()) == point
    future = json.dumps({**json.loads(point.dumps()), "schema_version": 2}).encode()
    cases = {
        future: RejectReason.UNSUPPORTED_SCHEMA_VERSION,
        b"{not json": RejectReason.INVALID_JSON,
        b"[1, 2]": RejectReason.NOT_AN_OBJECT,
        b"\xff\xfe": RejectReason.NOT_UTF8,
        b'{"key": "Energy | Oil"}': RejectReason.INVALID_FIELD,
    }
    for payload, reason in cases.items():
        with pytest.raises(InvalidRecord) as raised:
            decode_record(TrendPoint, payload)
        assert raised.value.reason == reason, payload
    with pytest.raises(InvalidRecord) as raised:
        decode_record(Alert, future)
    assert raised.value.reason == RejectReason.UNSUPPORTED_SCHEMA_VERSION
