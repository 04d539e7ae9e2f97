"""Entity mentions as the tagger reads and writes them: casing features per token, BIO tags, spans. Pure.

The base encoder is uncased (its tokenizer lowercases), so the capitals that mark a name never reach it.
Each token therefore gets a few casing features beside the encoder's vector: how its word is written,
how its neighbours are, and how the whole text is (in a Title Case headline every word is capitalized,
so a capital says little there). The tagger head reads both (``model_service/tagger.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TYPES = ("person", "organisation", "place", "product", "other")
TAGS = ("O", *(f"{prefix}-{kind}" for kind in TYPES for prefix in "BI"))
OUTSIDE = 0

_WORD = re.compile(r"[^\W_]+")
# A cashtag ("$BTC", "$BRK.B"): a mention by convention. The one pattern for it: the worker's tickers,
# the engine's mentions and the training data's one-cashtag tweets all read it here.
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:\.[A-Za-z])?)(?!\w)")
# What joins two parts of one name without a space: "Wal-Mart", "S&P 500", "AT&T".
_JOINERS = re.compile(r"[-&'\u2019]")
_GLUE = ".&"  # inside a word, these do not end it
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_SENTENCE_END = frozenset('.!?:;"\u201c\u201d|\n')
# Words a headline leaves in lower case ("Oil Falls as OPEC Meets"): not a sign of running text.
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "vs",
        "via",
        "with",
    ]
)

FEATURES = (
    "word capitalized",
    "word in capitals",
    "word in mixed case",
    "word has a digit",
    "not in a word",
    "after $",
    "after @ or #",
    "starts a sentence",
    "previous word capitalized",
    "next word capitalized",
    "text: share of long words capitalized",
    "text: share of words in capitals",
    "special token",
    "inside a word",
)


@dataclass(frozen=True)
class Span:
    """A mention: characters ``start:end`` of a text, and what kind of entity it names."""

    start: int
    end: int
    type: str = "other"


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


def text_casing(words: Sequence[str]) -> tuple[float, float]:
    """How the text is written: the share of its long words that are capitalized (Title Case: near 1)
    and the share of its words written in capitals (all capitals: near 1)."""
    long_words = [w for w in words if len(w) >= 4 and w.isalpha()]
    lettered = [w for w in words if len(w) >= 2 and w.isalpha()]
    capitalized = sum(w[0].isupper() for w in long_words) / len(long_words) if long_words else 0.0
    capitals = sum(w.isupper() for w in lettered) / len(lettered) if lettered else 0.0
    return capitalized, capitals


def casing_features(text: str, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """``(tokens, len(FEATURES))`` float32: the casing of each token's word, its neighbours and the text.

    ``offsets`` are the tokenizer's character offsets into ``text``; a special token has ``(0, 0)``.
    Runs on every document a worker scores, so the per-token part is array work."""
    words = _words(text)
    outside = len(words)  # the row of a token in no word
    owner = np.full(len(text) + 1, outside, dtype=np.int64)
    word_start = np.zeros(len(words) + 1, dtype=np.int64)
    rows = np.zeros((len(words) + 1, 10), dtype=np.float32)
    last_seen, last_end = "", 0  # the last character before the word that is not a space
    marks = []
    for i, match in enumerate(words):
        start, end = match.span()
        text_of_word = match.group()
        owner[start:end] = i
        word_start[i] = start
        gap = text[last_end:start].rstrip()
        last_seen = gap[-1] if gap else last_seen
        before = text[start - 1] if start > 0 else ""
        shouted = text_of_word.isupper()
        marks.append((
            text_of_word[0].isupper(),
            len(text_of_word) >= 2 and shouted,
            not shouted and any(map(str.isupper, text_of_word[1:])),
            any(map(str.isdigit, text_of_word)),
            before == "$",
            before in ("@", "#"),
            not last_seen or last_seen in _SENTENCE_END,
        ))  # fmt: skip
        last_seen, last_end = text_of_word[-1], end
    if marks:
        rows[:-1, [0, 1, 2, 3, 5, 6, 7]] = np.array(marks, dtype=np.float32)
    rows[:-1, 8] = np.concatenate([[0.0], rows[:-2, 0]]) if words else []
    rows[:-1, 9] = np.concatenate([rows[1:-1, 0], [0.0]]) if words else []
    rows[-1, 4] = 1.0
    capitalized, capitals = text_casing([m.group() for m in words])
    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    special = spans[:, 1] <= spans[:, 0]
    word = owner[np.where(special, len(text), spans[:, 0])]
    features = np.zeros((len(spans), len(FEATURES)), dtype=np.float32)
    features[:, :10] = np.where(special[:, None], 0.0, rows[word])
    features[:, 10] = capitalized
    features[:, 11] = capitals
    features[:, 12] = special
    features[:, 13] = ~special & (word < outside) & (spans[:, 0] > word_start[word])
    return features


def token_tags(offsets: Sequence[tuple[int, int]], spans: Iterable[Span]) -> list[int]:
    """The BIO tag of every token for gold ``spans``: B on a span's first token, I on the rest."""
    tags = [OUTSIDE] * len(offsets)
    for span in spans:
        first = True
        for t, (start, end) in enumerate(offsets):
            if end > start and start < span.end and span.start < end:
                tags[t] = TAGS.index(f"{'B' if first else 'I'}-{span.type}")
                first = False
    return tags


def decode_spans(text: str, offsets: Sequence[tuple[int, int]], tags: Sequence[int]) -> list[Span]:
    """Mentions from one text's tags: a B (or an I after O) opens one, I continues it; a span is widened
    to whole words, so a tag on one word piece names the whole word."""
    found: list[tuple[int, int, str]] = []
    for (start, end), tag in zip(offsets, tags, strict=True):
        if end <= start:
            continue
        if tag == OUTSIDE:
            found.append((-1, -1, ""))
            continue
        prefix, _, kind = TAGS[tag].partition("-")
        if prefix == "I" and found and found[-1][2]:
            first = found[-1]
            found[-1] = (first[0], end, first[2])
        else:
            found.append((start, end, kind))
    spans: list[Span] = []
    for start, end, kind in found:
        if not kind:
            continue
        start, end = _whole_word(text, start, end)
        if spans and spans[-1].end >= start:
            spans[-1] = Span(spans[-1].start, max(end, spans[-1].end), spans[-1].type)
        elif spans and _JOINERS.fullmatch(text[spans[-1].end : start]):
            spans[-1] = Span(spans[-1].start, end, spans[-1].type)  # "Wal-Mart", "S&P", "AT&T"
        else:
            spans.append(Span(start, end, kind))
    return spans


def _whole_word(text: str, start: int, end: int) -> tuple[int, int]:
    """``start:end`` widened to the word it is in, across a "." or "&" inside it ("U.S.", "S&P", "AT&T"):
    the tagger often tags one letter of such a word, and one letter names nothing."""
    while start > 0 and (
        text[start - 1].isalnum() or (start > 1 and text[start - 1] in _GLUE and text[start - 2].isalnum())
    ):
        start -= 1
    while end < len(text) and (
        text[end].isalnum() or (end + 1 < len(text) and text[end] in _GLUE and text[end + 1].isalnum())
    ):
        end += 1
    if end < len(text) and text[end] == "." and _ABBREVIATION.fullmatch(text[start:end]):
        end += 1  # "U.S." keeps its last full stop
    return _capitalized_compound(text, start, end)


def _capitalized_compound(text: str, start: int, end: int) -> tuple[int, int]:
    """A capitalized word widened across hyphens to the capitalized words it is joined to: the tagger
    tags "Wal" of "Wal-Mart" or "Coca" of "Coca-Cola", and a key named by half a name splits the
    entity. "Bitcoin-related" and "U.S.-China" stay as they are."""
    if not text[start:end].isalpha() or not text[start].isupper():
        return start, end
    while end + 1 < len(text) and text[end] == "-" and text[end + 1].isupper():
        after = end + 1
        while after < len(text) and text[after].isalpha():
            after += 1
        if after < len(text) and text[after] in ".&":
            break
        end = after
    while start > 1 and text[start - 1] == "-" and text[start - 2].isalpha():
        before = start - 1
        while before > 0 and text[before - 1].isalpha():
            before -= 1
        if not text[before].isupper() or (before > 0 and text[before - 1] in ".&"):
            break
        start = before
    return start, end


def cashtag_spans(text: str) -> list[Span]:
    """Cashtags (``$BTC``): mentions by convention, whatever the tagger reads."""
    return [Span(m.start(), m.end(), "product") for m in _CASHTAG.finditer(text)]


def cashtag_symbols(text: str) -> list[str]:
    """The symbols of ``text``'s cashtags, in capitals, in order (``$btc`` is ``BTC``)."""
    return [m.group(1).upper() for m in _CASHTAG.finditer(text)]


def span_f1(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]) -> dict[str, float]:
    """Exact-span precision, recall and F1 over texts, types ignored (what a key needs: the right words)."""
    hits = expected = made = 0
    for truth, guess in zip(gold, predicted, strict=True):
        want = {(s.start, s.end) for s in truth}
        got = {(s.start, s.end) for s in guess}
        hits += len(want & got)
        expected += len(want)
        made += len(got)
    precision = hits / made if made else 0.0
    recall = hits / expected if expected else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _recase(text: str, change: object) -> str:
    """``text`` with each character passed through ``change`` where that keeps its length (offsets hold)."""
    out = []
    for char in text:
        new = change(char)  # type: ignore[operator]
        out.append(new if len(new) == 1 else char)
    return "".join(out)


_LINK = re.compile(r"https?://\S+")


def title_case(text: str) -> str:
    """As a headline writes it: every word capitalized but short function words after the first, and
    links as they are (no one capitalizes "t.co/x1Ab"); same length and offsets as ``text``."""
    chars = list(text)
    links = [m.span() for m in _LINK.finditer(text)]
    for i, match in enumerate(_WORD.finditer(text)):
        word = match.group()
        if (i > 0 and word.lower() in _SMALL_WORDS) or any(a <= match.start() < b for a, b in links):
            continue
        upper = word[0].upper()
        if len(upper) == 1:
            chars[match.start()] = upper
    return "".join(chars)


def upper_case(text: str) -> str:
    """``text`` in capitals, with the same length and offsets."""
    return _recase(text, str.upper)
