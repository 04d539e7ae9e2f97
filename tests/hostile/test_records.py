"""Record decoding under hostile bytes: whatever arrives on a topic is a record or an ``InvalidRecord``
with a reason (which the worker dead-letters), never another exception; and no decoded text can
break the metrics exposition."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, generate_latest

from alerts.detector import Observation
from alerts.horizons import HorizonWindow
from alerts.metrics import DetectorMetrics
from common.metrics import MAX_LABEL_CHARS, BoundedLabel, label_value
from common.records import (
    Alert,
    InvalidRecord,
    RejectReason,
    ScoredDocument,
    TrendPoint,
    decode_keyed,
    decode_record,
)
from stream.prepare.documents import decode_document, document_from_fields
from tests.helpers import T0
from tests.helpers.hostile_input import bodies, documents, dumps, timestamps

DECODERS = (
    lambda payload: decode_document(payload, max_bytes=1_000_000),
    decode_keyed,
    lambda payload: decode_record(ScoredDocument, payload),
    lambda payload: decode_record(TrendPoint, payload),
    lambda payload: decode_record(Alert, payload),
)
payloads = st.one_of(bodies, st.none())
# What reading a record can find wrong with it; the rest are for later stages (text, time, the model).
DECODE_REASONS = {
    RejectReason.NOT_UTF8,
    RejectReason.INVALID_JSON,
    RejectReason.NOT_AN_OBJECT,
    RejectReason.UNSUPPORTED_SCHEMA_VERSION,
    RejectReason.MISSING_FIELD,
    RejectReason.INVALID_FIELD,
    RejectReason.TOO_LARGE,
}


def decode_everything(examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(payloads, st.sampled_from(DECODERS))
    def one(payload: bytes | None, decode: Callable[[bytes | None], object]) -> None:
        try:
            record = decode(payload)
        except InvalidRecord as exc:
            assert exc.reason in DECODE_REASONS, exc.reason  # not a reason only later stages give
            assert exc.detail.strip() and "\n" not in exc.detail
            return
        json.dumps(record.asdict() if hasattr(record, "asdict") else record, default=str).encode("utf-8")

    one()


def test_fuzzed_payloads_decode_or_are_rejected_with_a_reason() -> None:
    decode_everything(300)


@pytest.mark.fuzz
def test_fuzzed_payloads_ten_thousand() -> None:
    decode_everything(10_000)


@settings(max_examples=300, deadline=None, database=None)
@given(documents())
def test_an_accepted_document_can_be_written_anywhere(fields: dict) -> None:
    """What validation lets through encodes as UTF-8 (topics, files, labels) and has a sane time."""
    try:
        document = document_from_fields(fields)
    except InvalidRecord:
        return
    document.dumps()
    assert 1900 <= document.published_at.year < 2200


@pytest.mark.parametrize(
    "published_at",
    [1e20, "NaN", float("nan"), float("inf"), 253402300800, "0001-01-01T00:00:00+14:00", -1e18],
)
def test_out_of_range_timestamps_are_invalid_fields(published_at: object) -> None:
    payload = dumps({"source": "wire", "title": "Oil", "published_at": published_at})
    with pytest.raises(InvalidRecord) as raised:
        decode_document(payload, max_bytes=10_000)
    assert raised.value.reason in (RejectReason.INVALID_FIELD, RejectReason.INVALID_JSON)


def test_deep_nesting_and_bare_nan_are_invalid_json() -> None:
    for payload in (b"[" * 100_000 + b"]" * 100_000, b'{"a": NaN}', b'{"a": 1e999}'):
        with pytest.raises(InvalidRecord) as raised:
            decode_document(payload, max_bytes=10_000_000)
        assert raised.value.reason is RejectReason.INVALID_JSON


@pytest.mark.parametrize("field", ["id", "source", "title", "author", "tickers"])
def test_a_lone_surrogate_is_an_invalid_field(field: str) -> None:
    fields = {"source": "wire", "title": "Oil", "published_at": "2026-11-20T14:00:00Z"}
    fields[field] = ["X\ud800"] if field == "tickers" else "X\ud800"
    with pytest.raises(InvalidRecord, match=f"{field}: holds a lone surrogate"):
        decode_document(dumps(fields), max_bytes=10_000)


@given(timestamps)
@settings(max_examples=300, deadline=None, database=None)
def test_any_timestamp_is_a_time_or_an_invalid_field(value: object) -> None:
    try:
        document = document_from_fields({"source": "wire", "title": "Oil", "published_at": value})
    except InvalidRecord as exc:
        assert exc.reason in (RejectReason.INVALID_FIELD, RejectReason.MISSING_FIELD)
    else:
        assert 1900 <= document.published_at.year < 2200


@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=300))
@settings(max_examples=300, deadline=None, database=None)
def test_any_label_value_can_be_exported(value: str) -> None:
    registry = CollectorRegistry()
    counter = Counter("fuzzed", "a label from input", ["source"], registry=registry)
    counter.labels(source=BoundedLabel(limit=10)(value)).inc()
    generate_latest(registry)
    assert len(label_value(value)) <= MAX_LABEL_CHARS


def test_a_surrogate_source_leaves_metrics_readable(registry: CollectorRegistry) -> None:
    """Issue 14 item 3: one such document made /metrics a 500 for the rest of the process."""
    counter = Counter("documents", "by source", ["source"], registry=registry)
    counter.labels(source=BoundedLabel(limit=10)("wire\udc80")).inc()
    assert 'source="wire?"' in generate_latest(registry).decode()


def observation(key: str, emergence: float) -> Observation:
    window = HorizonWindow(key=key, horizon_s=300, window_start=T0, window_end=T0 + timedelta(minutes=5),
                           count=6, negative=1, authors=6, negative_authors=1, parts=())  # fmt: skip
    return Observation(window=window, zscore=0.0, baseline=0.1, emergence=emergence)


def test_an_entity_key_with_a_surrogate_leaves_detector_metrics_readable(registry: CollectorRegistry) -> None:
    metrics = DetectorMetrics.create(registry, BoundedLabel(limit=10))
    metrics.export(observation("name:Ter\ud800ra", emergence=4.0))
    assert "Ter?ra" in generate_latest(registry).decode()
    metrics.export(observation("name:Ter\ud800ra", emergence=0.0))  # off the rise: its series go
    assert "Ter" not in generate_latest(registry).decode()
