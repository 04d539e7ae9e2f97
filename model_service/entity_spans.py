"""Where an entity is mentioned: character spans in a text, then the model's tokens over them. Pure.

Training and inference find mentions the same way, in the text the model reads, so a span never
points at characters that URL stripping or space collapsing moved.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EntityQuery:
    """An entity to read a text's sentiment toward: its key and the ways a text may name it."""

    key: str  # "$SHIB", "entity:Oil", "name:Celsius"
    surfaces: tuple[str, ...]  # "$SHIB", "SHIB", "Shiba Inu"
    name: str = ""  # how people call it ("Shiba Inu"); the key without its prefix when empty
    type: str = "other"  # one of ``mentions.TYPES``, when the caller knows it

    @property
    def display_name(self) -> str:
        return self.name or self.key.lstrip("$").partition(":")[2] or self.key.lstrip("$")


AskedEntities = Callable[[str], list[EntityQuery]]  # a text's watched entities and cashtags


def with_asked(first: Sequence[EntityQuery], asked: Sequence[EntityQuery]) -> list[EntityQuery]:
    """``first`` (what the caller named), then what the text is asked about that it did not name."""
    keys = {q.key for q in first}
    return [*first, *(q for q in asked if q.key not in keys)]


def mention_spans(text: str, surfaces: Sequence[str]) -> list[tuple[int, int]]:
    """Every whole-word occurrence of any of ``surfaces`` (``$BTC``, ``Bitcoin``): in any case, but a
    surface in capitals (a symbol: ``ON``, ``SHIB``) only in capitals, so a symbol is not a word."""
    spans: set[tuple[int, int]] = set()
    for surface in surfaces:
        name = surface.strip()
        if name:
            pattern = rf"(?<![\w$]){re.escape(name)}(?!\w)"
            flags = 0 if name.isupper() and not name.startswith("$") else re.I
            lead = 4 if name[:4].lower() == "the " else 0  # "the Fed" names the Fed: "Fed" is its span
            spans.update((m.start() + lead, m.end()) for m in re.finditer(pattern, text, flags))
    return sorted(spans)


def token_positions(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[int]:
    """The tokens that overlap any span; special tokens (empty offsets) never do."""
    if not spans or not offsets:
        return []
    tokens = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    named = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    overlaps = (tokens[:, None, 0] < named[None, :, 1]) & (named[None, :, 0] < tokens[:, None, 1])
    return np.flatnonzero((tokens[:, 1] > tokens[:, 0]) & overlaps.any(axis=1)).tolist()


def mention_tokens(text: str, offsets: Sequence[tuple[int, int]], surfaces: Sequence[str]) -> list[int]:
    """The tokens of every mention of an entity, by the names ``surfaces`` gives it: what its span
    pooling reads, found the same way by training, inference and explanations."""
    return token_positions(offsets, mention_spans(text, surfaces))


def entity_mask(positions: Sequence[Sequence[Sequence[int]]], width: int) -> np.ndarray:
    """``(texts, entities, width)`` float32, 1 on each entity's tokens; at least one entity column."""
    entities = max(1, max((len(row) for row in positions), default=0))
    mask = np.zeros((len(positions), entities, width), dtype=np.float32)
    for i, row in enumerate(positions):
        for j, tokens in enumerate(row):
            mask[i, j, list(tokens)] = 1.0
    return mask
