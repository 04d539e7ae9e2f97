"""Every name and symbol of the alias lists that a text writes, found in one pass. Pure.

One Aho-Corasick automaton (pyahocorasick) holds every listed name and symbol, lower-cased; a match
counts when it is a whole word and its row's rule allows it (``model_service/aliases/build.py`` writes
the rules into the lists, so the CSV says why "Gas" needs more than "Bitcoin"):

- a name: ``any`` case ("bitcoin"), only ``capital``-ized ("Terra"), capitalized and in ``context``
  ("Gas token", "Status (SNT)"), or ``exact``-ly as listed ("US", never "us");
- a symbol, written in capitals in a text that is not all capitals: bare when ``capitals`` ("BTC"),
  in ``context`` otherwise ("NEAR Protocol", "LUNA" beside "Terra"); a ``cashtag`` symbol only as
  ``$SYMBOL``, which ``mentions.cashtag_spans`` finds.

Context is an asset word just before or after ("coin", "token", "network", ...) or the entity's other
surface anywhere in the text (its symbol beside a name, its name beside a symbol).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import ahocorasick

from model_service.mentions import Span

ASSET_WORDS = frozenset(
    [
        "coin", "coins", "token", "tokens", "network", "protocol", "crypto", "cryptocurrency",
        "blockchain", "chain", "stablecoin", "holders", "staking", "wallet", "mainnet"
    ]
)  # fmt: skip
# The encoder's WordPiece vocabulary lists whole words by frequency in the English text it was built
# from; those before this id are ordinary words ("request" is 5227, "waves" 5975; "oxygen" 7722,
# "maker" 9338, "ibm" 9980): a listed name made only of them needs context (``aliases/build.py``).
ORDINARY_BELOW = 6000
_JOINING = frozenset(["of", "and", "the", "de", "la"])  # lower-case words of a name ("Republic of the Congo")
BARE_SYMBOL_MIN = 3  # a symbol shorter than this ("GE", "T") is a word in capitals unless a cashtag


@dataclass(frozen=True)
class Listed:
    """One row of an alias list: the entity's key (``$BTC``), name, type, and how a text may name it."""

    key: str
    name: str
    type: str
    name_match: str = "any"
    symbol_match: str = "capitals"
    alias: str = ""  # the form a text writes, when it is not ``name`` ("U.S." of the US)

    @property
    def symbol(self) -> str:
        return self.key[1:]

    @property
    def written(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class _Surface:
    listed: Listed
    is_symbol: bool


class KnownNames:
    """The matcher of a set of list rows, built once (a worker's engine builds it at load)."""

    def __init__(self, rows: Iterable[Listed]) -> None:
        self._automaton = ahocorasick.Automaton()
        surfaces: dict[str, list[_Surface]] = {}
        for row in rows:
            if row.name_match != "never" and len(row.written) >= 2:
                surfaces.setdefault(row.written.lower(), []).append(_Surface(row, False))
            if row.symbol_match != "cashtag":
                surfaces.setdefault(row.symbol.lower(), []).append(_Surface(row, True))
        for surface, entries in surfaces.items():
            self._automaton.add_word(surface, (len(surface), tuple(entries)))
        self.size = len(surfaces)
        if surfaces:
            self._automaton.make_automaton()

    def find(self, text: str, capitals_text: bool = False) -> list[tuple[Span, Listed]]:
        """The listed entities ``text`` names, leftmost-longest, no two overlapping."""
        if not self.size:
            return []
        lowered = _lowered(text)
        present: dict[tuple[str, bool], set[int]] = {}  # where each (key, is_symbol) is written, rule or not
        candidates: list[tuple[int, int, _Surface]] = []
        for last, (length, entries) in self._automaton.iter(lowered):
            start, end = last + 1 - length, last + 1
            plural = lowered[end : end + 1] == "s" and _whole_word(lowered, start, end + 1)
            if not (_whole_word(lowered, start, end) or plural):
                continue
            if plural:  # "bitcoins": the plural of a coined name, never of a symbol or a word
                entries = tuple(e for e in entries if not e.is_symbol and e.listed.name_match == "any")
                end += 1
            for entry in entries:
                cashtag = entry.is_symbol and start > 0 and text[start - 1] == "$"
                written = text[start:end]
                if not entry.is_symbol or cashtag or written.isupper():
                    present.setdefault((entry.listed.key, entry.is_symbol), set()).add(start)
                if not cashtag:
                    candidates.append((start, end, entry))
        found: list[tuple[Span, Listed]] = []
        taken_until = -1
        for start, end, entry in sorted(candidates, key=lambda c: (c[0], c[0] - c[1])):
            if start < taken_until or not self._counts(
                text, lowered, start, end, entry, present, capitals_text
            ):
                continue
            found.append((Span(start, end, entry.listed.type), entry.listed))
            taken_until = end
        return found

    @staticmethod
    def _counts(
        text: str,
        lowered: str,
        start: int,
        end: int,
        entry: _Surface,
        present: dict[tuple[str, bool], set[int]],
        capitals_text: bool,
    ) -> bool:
        written, row = text[start:end], entry.listed
        if entry.is_symbol:
            if capitals_text or written != row.symbol or row.symbol_match == "cashtag":
                return False
            rule = row.symbol_match
        else:
            rule = row.name_match
            if rule == "exact":  # "US", not "us", nor "US" in a text in capitals ("U.S." there too)
                return written == row.written and (not capitals_text or "." in written)
            if rule != "any" and not all(
                w[0].isupper() or not w[0].isalpha() or w in _JOINING for w in written.split()
            ):
                return False
        if rule in ("any", "capital", "capitals"):
            return True
        beside = (_word_before(lowered, start), _word_after(lowered, end))
        elsewhere = present.get((row.key, not entry.is_symbol), set()) - {start}
        return any(w in ASSET_WORDS for w in beside) or bool(elsewhere)


def packaged_ordinary_words() -> frozenset[str]:
    """Words the project's training texts write in lower case mid-sentence (``ordinary.txt``, written by
    ``python -m model_service.aliases.build --data-dir``): a capital on one at a sentence's start, in a
    headline or in capitals does not make it a name ("Stock futures slide", "EXCHANGE")."""
    text = resources.files("model_service.aliases").joinpath("ordinary.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


def _lowered(text: str) -> str:
    """``text`` in lower case, character for character (a few characters lower to two)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _whole_word(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


def _word_before(lowered: str, start: int) -> str:
    words = lowered[max(0, start - 40) : start].replace("(", " ").split()
    return words[-1].strip(".,:;!?'\"") if words else ""


def _word_after(lowered: str, end: int) -> str:
    words = lowered[end : end + 40].replace(")", " ").split()
    return words[0].strip(".,:;!?'\"") if words else ""
