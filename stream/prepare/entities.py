"""What a document is about besides its topic: watched entities, cashtags and names found in the text.

Pure. Three kinds of entity key:
- ``$SYMBOL``: a cashtag (``$LUNA``) or the symbol of a watched entity named in the text;
- ``entity:<name>``: a watched entity without a symbol (a commodity, an issuer);
- ``name:<words>``: a capitalized name or an all-capitals symbol no list holds (``name:Celsius``,
  ``name:FTX``). Most such words are noise, so the detector lets a ``name:`` key fire only while it is
  emerging, mentioned far above its own rate.
In a headline written in title case every word is capitalized, so there each word stands alone; in
running text, neighbouring capitalized words make one name (``name:Silvergate Capital``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from importlib import resources

from common.records import Document
from model_service.entity_spans import EntityQuery
from stream.prepare.watchlist import WatchedEntity, Watchlist, WatchlistFile, read_watchlist
from stream.settings import StreamSettings

_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:\.[A-Za-z])?)(?![\w])")
_CLAUSES = re.compile(
    r"[.!?:;,\"()\[\]|#@/\u2026\u201c\u201d\u2018]+|\s[-\u2013\u2014]+\s|https?://\S+|\$\w+|\d\S*"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9&'\u2019.-]*[A-Za-z0-9]|[A-Za-z]")

COMMON_WORDS = frozenset(
    line.strip()
    for line in resources.files("stream.prepare").joinpath("common_words.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


class EntityExtractor:
    """Finds the entities of a text for one watchlist."""

    def __init__(self, watchlist: Watchlist, max_keys: int = 8, max_names: int = 3) -> None:
        self.watchlist = watchlist
        self.max_keys = max_keys
        self.max_names = max_names
        self._by_phrase = {p.lower(): e for e in watchlist.entities for p in e.phrases}
        alternatives = "|".join(re.escape(p) for p in sorted(self._by_phrase, key=len, reverse=True))
        self._phrases = re.compile(rf"(?<![\w$])({alternatives})(?!\w)", re.I) if alternatives else None
        self._symbols = {e.symbol for e in watchlist.entities if e.symbol}
        self._by_key = {e.key: e for e in watchlist.entities}

    @classmethod
    def from_settings(cls, settings: StreamSettings) -> EntityExtractor:
        """The extractor of the configured watchlist as it is now (replay, tests)."""
        return cls(read_watchlist(settings.watchlist_path), settings.max_entity_keys, settings.max_names)

    def tickers(self, text: str, given: Iterable[str] = ()) -> list[str]:
        """Symbols: those ``given`` by the source, then cashtags, then watched names, each once."""
        found: dict[str, None] = dict.fromkeys(t.upper() for t in given)
        for match in _CASHTAG.finditer(text):
            found[match.group(1).upper()] = None
        for entity in self._watched(text):
            if entity.symbol:
                found[entity.symbol] = None
        return list(found)

    def keys(self, document: Document) -> list[str]:
        """The document's entity keys: its tickers, watched entities without a symbol, then new names."""
        text = document.text
        keys: dict[str, None] = dict.fromkeys(f"${t}" for t in document.tickers)
        watched = self._watched(text)
        keys.update((e.key, None) for e in watched)
        known = {p.lower() for e in watched for p in e.phrases} | {s.lower() for s in self._symbols}
        known |= {t.lower() for t in document.tickers}
        known |= {word for phrase in known for word in phrase.split()}  # "Fed" of "the Fed"
        names = [n for n in names_in(text) if n.lower() not in known][: self.max_names]
        keys.update((f"name:{n}", None) for n in names)
        return list(keys)[: self.max_keys]

    def queries(self, document: Document) -> list[EntityQuery]:
        """Each entity key of the document with the ways a text names it, to read its own sentiment:
        ``$SHIB`` by ``$SHIB``, ``SHIB`` and its watched names; ``name:Celsius`` by ``Celsius``."""
        found = []
        for key in self.keys(document):
            if key.startswith("$"):
                symbol = key[1:]
                surfaces = [key, symbol] if len(symbol) >= 2 else [key]  # a bare "A" is a word
            else:
                surfaces = [key.partition(":")[2]]
            watched = self._by_key.get(key)
            if watched is not None:
                surfaces += watched.phrases
            found.append(EntityQuery(key, tuple(dict.fromkeys(surfaces))))
        return found

    def _watched(self, text: str) -> list[WatchedEntity]:
        if self._phrases is None:
            return []
        matches = (self._by_phrase[m.group(1).lower()] for m in self._phrases.finditer(text))
        return list({e.name: e for e in matches}.values())


def names_in(text: str) -> list[str]:
    """Capitalized names and all-capitals symbols, in order of first mention."""
    found: dict[str, None] = {}
    for clause in _CLAUSES.split(text):
        words = [w.rstrip(".").removesuffix("'s").removesuffix("\u2019s") for w in _WORD.findall(clause)]
        words = [w for w in words if w]
        if not words:
            continue
        long_words = [w for w in words if len(w) >= 4]
        title_case = len(long_words) >= 3 and sum(w[0].isupper() for w in long_words) >= 0.7 * len(long_words)
        run: list[str] = []
        for word in words:
            symbol = word.isupper() and 2 <= len(word) <= 6 and word.isalpha()
            usable = word[0].isupper() and word.lower() not in COMMON_WORDS and len(word) >= 2
            if symbol and usable:
                found.setdefault(word, None)
                _close(run, found)
                continue
            if usable and not title_case:
                run.append(word)
                continue
            _close(run, found)
            if usable and title_case:
                found.setdefault(word, None)
        _close(run, found)
    return list(found)


def _close(run: list[str], found: dict[str, None]) -> None:
    if run:
        found.setdefault(" ".join(run[:3]), None)
        run.clear()


class EntitySource:
    """The extractor of the watchlist file as it is now: rebuilt when the file changes."""

    def __init__(self, watchlist: WatchlistFile, max_keys: int = 8, max_names: int = 3) -> None:
        self.file = watchlist
        self.max_keys, self.max_names = max_keys, max_names
        self._version = watchlist.version
        self._extractor = EntityExtractor(watchlist.watchlist, max_keys, max_names)

    @classmethod
    def from_settings(cls, settings: StreamSettings) -> EntitySource:
        watchlist = WatchlistFile(settings.watchlist_path, settings.watchlist_check_s)
        return cls(watchlist, settings.max_entity_keys, settings.max_names)

    def current(self) -> EntityExtractor:
        watchlist = self.file.current(time.monotonic())
        if self.file.version != self._version:
            self._version = self.file.version
            self._extractor = EntityExtractor(watchlist, self.max_keys, self.max_names)
        return self._extractor
