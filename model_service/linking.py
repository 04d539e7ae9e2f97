"""Which entity a mention names: the key every mention of one real entity counts under. Pure.

Three sources, in this order: the entities the caller asks about (a watchlist's, cashtags, a source's
tickers: ``EntityQuery``), the packaged alias lists (S&P 500 companies, crypto assets: a name or a
symbol gives ``$SYMBOL``), and the text itself: a name no list holds is ``name:<Name>``, and within one
text a name that starts another ("Celsius", "Celsius Network") is the same entity, under the shorter.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from importlib import resources

from model_service.mentions import Span

# Words a company's listed name carries that a text leaves out ("Apple Inc." is "Apple").
_SUFFIXES = re.compile(
    r"(?:,?\s+(?:inc|incorporated|corp|corporation|co|company|plc|ltd|limited|llc|n\.?v|s\.?a|ag|"
    r"holdings?|group|class [a-c]))+\.?$|\s*\(class [a-c]\)$",
    re.I,
)
_EDGES = re.compile(r"^[\W_]+|(?:['\u2019]s)?(?<!\.[A-Za-z])[\W_]*$")  # "U.S." keeps its full stop
SUFFIX_WORDS = frozenset(
    ["inc", "corp", "co", "company", "plc", "ltd", "llc", "group", "holdings", "sa", "ag"]
)
# Each list's type, and whether a name from it links (a symbol always does). The S&P 500's names do
# not: "Morgan Stanley" downgrading a stock, or "Dow" the index (Dow Inc. is DOW), made regular keys of
# names mentioned in passing (4 false alerts on the synthetic spike day); a watchlist names the
# companies a user follows, and an unlisted name stays a name: key, which fires only while emerging.
ALIAS_FILES = {"crypto.csv": ("product", True), "sp500.csv": ("organisation", False)}


def normalized(name: str) -> str:
    """A name as lists and texts agree on it: lower case, no possessive, edges or company suffix."""
    name = name.strip()
    while True:
        shorter = _EDGES.sub("", _SUFFIXES.sub("", name)).strip()
        if shorter == name:
            return " ".join(name.lower().split())
        name = shorter


@dataclass(frozen=True)
class KnownEntity:
    key: str  # "$BTC"
    name: str  # "Bitcoin"
    type: str  # one of mentions.TYPES


@dataclass
class AliasTable:
    """Known entities by normalized name and by symbol."""

    by_name: dict[str, KnownEntity] = field(default_factory=dict)
    by_symbol: dict[str, KnownEntity] = field(default_factory=dict)

    @classmethod
    def packaged(cls) -> AliasTable:
        """S&P 500 constituents (ODC-PDDL; symbols only) and crypto assets (CC0), shipped in
        ``model_service/aliases``."""
        table = cls()
        for filename, (kind, by_name) in ALIAS_FILES.items():
            text = resources.files("model_service.aliases").joinpath(filename).read_text(encoding="utf-8")
            for row in csv.DictReader(text.splitlines()):
                symbol = row["symbol"].strip().lstrip("$").upper()
                name = row["name"].strip()
                entity = KnownEntity(f"${symbol}", normalized_display(name), kind)
                table.by_symbol.setdefault(symbol, entity)
                if by_name:
                    table.by_name.setdefault(normalized(name), entity)
        return table

    def find(self, surface: str, capitals_text: bool = False) -> KnownEntity | None:
        """The known entity ``surface`` names: by name, or by symbol as a cashtag or written in capitals
        (at least three letters, and not in a text written all in capitals, where every word is)."""
        found = self.by_name.get(normalized(surface))
        if found is not None:
            return found
        if surface.startswith("$"):
            return self.by_symbol.get(surface[1:].upper())
        bare = surface.strip().lstrip("#")
        if len(bare) >= 3 and bare.isupper() and bare.isalnum() and not capitals_text:
            return self.by_symbol.get(bare)
        return None


def normalized_display(name: str) -> str:
    """A listed name as a reader would say it: ``Alphabet Inc. (Class A)`` is ``Alphabet``."""
    shorter = name
    while True:
        cut = _SUFFIXES.sub("", shorter).strip().rstrip(",")
        if cut == shorter or not cut:
            return shorter
        shorter = cut


@dataclass
class LinkedEntity:
    """One entity of a text: its key, the name it goes by, its type and where the text names it (in the
    characters the model read)."""

    key: str
    name: str
    type: str
    spans: list[Span] = field(default_factory=list)


def display_name(surface: str, capitals_text: bool) -> str:
    """How a found name is keyed: as written, but in a text written in capitals, as a name is written
    (``CELSIUS`` is ``Celsius``; a short symbol-like word stays as it is)."""
    surface = _EDGES.sub("", surface.strip()) or surface.strip()
    surface = " ".join(surface.split())
    if capitals_text and surface.isupper() and len(surface) > 4:
        return surface.title()
    return surface


def link(
    text: str,
    asked: list[LinkedEntity],
    found: list[Span],
    aliases: AliasTable,
    capitals_text: bool = False,
) -> list[LinkedEntity]:
    """The entities of one text: those ``asked`` about (with the spans their names cover), then each
    tagged mention that none of them covers, linked by the alias table or keyed by its own name.

    A tagged mention that overlaps an asked entity's span joins that entity; mentions that link to the
    same key, or whose names start one another, are one entity; a handle (``@name``) is none."""
    entities = [LinkedEntity(e.key, e.name, e.type, list(e.spans)) for e in asked]
    by_key = {e.key: e for e in entities}
    names: list[tuple[list[str], LinkedEntity]] = []  # words of each found name, for the prefix rule
    for span in found:
        if text[: span.start].rstrip().endswith(("@", "@[")):
            continue  # a handle names a person's account (and is scrubbed to "@[user]"): never a key
        covering = next((e for e in entities if any(_overlaps(span, s) for s in e.spans)), None)
        if covering is not None:
            if covering.type == "other" and span.type != "other":
                covering.type = span.type
            continue
        surface = text[span.start : span.end]
        known = aliases.find(surface, capitals_text)
        if known is None and surface.startswith("$"):
            symbol = surface[1:].upper()
            known = aliases.by_symbol.get(symbol) or KnownEntity(f"${symbol}", symbol, span.type)
        if known is not None:
            entity = by_key.get(known.key)
            if entity is None:
                entity = by_key[known.key] = LinkedEntity(known.key, known.name, known.type)
                entities.append(entity)
            entity.spans.append(span)
            continue
        name = display_name(surface, capitals_text)
        if (
            not any(c.isupper() for c in name)
            or name.lower().rstrip(".") in SUFFIX_WORDS
            or sum(c.isalnum() for c in name) < 2
        ):
            continue  # "price target" in lower case, "Inc" of "Facebook Inc" alone, or one letter
        words = normalized(name).split()
        entity = next((e for other, e in names if _starts(words, other) or _starts(other, words)), None)
        if entity is None:
            entity = LinkedEntity(f"name:{name}", name, span.type)
            by_key[entity.key] = entity
            entities.append(entity)
            names.append((words, entity))
        elif len(words) < len(normalized(entity.name).split()):
            del by_key[entity.key]
            entity.key, entity.name = f"name:{name}", name
            by_key[entity.key] = entity
            names.append((words, entity))
        entity.spans.append(span)
    for entity in entities:
        entity.spans.sort(key=lambda s: s.start)
    return entities


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _starts(words: list[str], other: list[str]) -> bool:
    return bool(words) and other[: len(words)] == words
