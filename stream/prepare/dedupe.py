"""Exact and near-duplicate detection over a bounded, time-limited table.

Exact: the same document id. Near: the same text once wire decorations ("UPDATE 2-", "BREAKING:",
"- report", "(Reuters)"), case, punctuation and spacing are removed, or a 64-bit SimHash over word
3-shingles within ``max_distance`` bits (candidates found through 4 bands of 16 bits).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass

from common.records import Document
from stream.prepare.normalize import clean_text

_WORD = re.compile(r"[a-z0-9$]+")
_DECORATION = re.compile(
    r"^(?:(?:update|corrected|refile|breaking|exclusive|wrapup)\s*\d*\s*[-:]\s*)+"
    r"|\s*(?:-\s*(?:report|sources?|source says)|\((?:reuters|bloomberg|ap|dow jones)\))\s*$",
    re.I,
)


def story_key(text: str) -> str:
    """The text reduced to what two copies of one story share."""
    previous = None
    while previous != text:
        previous, text = text, _DECORATION.sub("", text.strip())
    return " ".join(_WORD.findall(text.lower()))


def raw_topic_key(document: Document) -> bytes:
    """The raw topic's key for a document: copies of one story share a key, so a lane, so a duplicate
    table (the document's id when its text has no words)."""
    return story_key(clean_text(document.text, 2000)).encode() or document.id.encode()


BANDS = 4
BAND_BITS = 16
MASK64 = (1 << 64) - 1


def simhash(text: str) -> int:
    words = _WORD.findall(text.lower())
    shingles = [" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))]
    weights = [0] * 64
    for shingle in shingles:
        value = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0) & MASK64


@dataclass(frozen=True)
class Verdict:
    duplicate: bool
    kind: str = ""  # "exact" | "near"
    of: str = ""  # the id of the document it repeats


class DuplicateDetector:
    """Remembers documents for ``ttl_s`` seconds of event time, at most ``max_entries`` of them."""

    def __init__(self, ttl_s: float = 6 * 3600, max_entries: int = 200_000, max_distance: int = 3) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_distance = max_distance
        self._entries: OrderedDict[str, tuple[float, int, str]] = OrderedDict()  # id -> (seen, hash, story)
        self._stories: dict[str, str] = {}  # story key -> id
        self._bands: list[dict[int, set[str]]] = [{} for _ in range(BANDS)]

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, doc_id: str, text: str, at: float) -> Verdict:
        """Is this a repeat of something seen? Remembers it if not."""
        self._expire(at)
        if doc_id in self._entries:
            return Verdict(True, "exact", doc_id)
        story = story_key(text)
        if story in self._stories:
            return Verdict(True, "near", self._stories[story])
        value = simhash(story)
        for band, index in enumerate(self._bands):
            for other in index.get(value >> (band * BAND_BITS) & 0xFFFF, ()):
                if (value ^ self._entries[other][1]).bit_count() <= self.max_distance:
                    return Verdict(True, "near", other)
        self._entries[doc_id] = (at, value, story)
        self._stories[story] = doc_id
        for band, index in enumerate(self._bands):
            index.setdefault(value >> (band * BAND_BITS) & 0xFFFF, set()).add(doc_id)
        return Verdict(False)

    def _expire(self, now: float) -> None:
        while self._entries:
            oldest, (seen, value, story) = next(iter(self._entries.items()))
            if seen >= now - self.ttl_s and len(self._entries) < self.max_entries:
                return
            del self._entries[oldest]
            if self._stories.get(story) == oldest:
                del self._stories[story]
            for band, index in enumerate(self._bands):
                key = value >> (band * BAND_BITS) & 0xFFFF
                members = index.get(key)
                if members is not None:
                    members.discard(oldest)
                    if not members:
                        del index[key]
