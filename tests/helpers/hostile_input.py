"""Hostile input for the fuzz tests: what a careless or malicious client sends, as Hypothesis strategies.

JSON is written with ``ensure_ascii`` so that lone surrogates travel as ``\\ud800`` escapes (valid JSON
that no UTF-8 encoder accepts); numbers include the out-of-range and the non-finite.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# every code point, lone surrogates included (Hypothesis leaves them out of text() by default)
any_char = st.characters(codec=None, exclude_categories=())
hostile_text = st.one_of(
    st.text(any_char, max_size=40),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "é" * 3, "$TSLA", "\u202e", "9" * 400]),
)
hostile_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e20, 253402300800, -62135596800, 2**63, 1.5e308]),
)
timestamps = st.one_of(
    hostile_numbers,
    hostile_text,
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-20T14:00:00Z",
                     "2026-13-45", "NaN", "1e20"]),
)  # fmt: skip
scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=12,
)

DOCUMENT_FIELDS = ("id", "source", "kind", "title", "body", "url", "author", "lang", "tickers",
                   "published_at", "received_at", "schema_version")  # fmt: skip


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A document with some fields valid, some hostile, some missing: the shape fuzzers find bugs with."""
    good = {
        "id": "fuzz-1",
        "source": "social",
        "kind": "post",
        "title": "Oil slides",
        "body": "$XOM down",
        "published_at": "2026-11-20T14:00:00Z",
    }
    document: dict[str, Any] = {}
    for field in DOCUMENT_FIELDS:
        choice = draw(st.sampled_from(["good", "good", "hostile", "absent"]))
        if choice == "good" and field in good:
            document[field] = good[field]
        elif choice == "hostile":
            value = draw(timestamps if field.endswith("_at") else json_values)
            document[field] = value
    return document


def dumps(value: Any) -> bytes:
    """JSON as a fuzzing client sends it: NaN and Infinity written bare, surrogates escaped."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


bodies = st.one_of(
    json_values.map(dumps),
    documents().map(dumps),
    st.lists(documents(), min_size=1, max_size=5).map(dumps),
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=20_000).map(nested),  # the parsers recurse from about 1,000
    st.sampled_from([b"", b"{", b"[]", b"null", b'{"a": NaN}', b"\xff\xfe", b'"\\ud800"']),
)
header_bytes = st.binary(min_size=1, max_size=40).filter(
    lambda value: all(0x21 <= c <= 0x7E or c >= 0x80 for c in value)  # what an HTTP client lets through
)
authorization = st.one_of(
    st.none(),
    header_bytes,
    header_bytes.map(lambda value: b"Bearer " + value),
    st.sampled_from([b"Bearer", b"Bearer \xe9\xe9", b"bearer \xc3\xa9", b"Basic Zm9vOmJhcg=="]),
)
