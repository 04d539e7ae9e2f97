"""Which entities a document is asked about before it is scored: its tickers and watched entities. Pure.

Two kinds of entity key come from here:
- ``$SYMBOL``: a ticker its source gave, a cashtag (``$LUNA``), or the symbol of a watched entity the
  text names;
- ``entity:<name>``: a watched entity without a symbol (a commodity, an issuer).
The model reads the sentiment toward each in the document's encoder pass, and in that same pass its
mention tagger finds the names nobody listed; those are linked to the packaged alias lists or keyed
``name:<Name>`` (``model_service/linking.py``). The keys are decided then, once, and stored with the
scored document.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from common.records import Document
from model_service.entity_spans import EntityQuery
from model_service.known_names import BARE_SYMBOL_MIN
from model_service.mentions import cashtag_symbols
from stream.prepare.watchlist import WatchedEntity, Watchlist, WatchlistFile, read_watchlist
from stream.settings import StreamSettings

# A watchlist's kinds as the tagger's types (``model_service.mentions.TYPES``).
KIND_TYPES = {
    "stock": "organisation",
    "company": "organisation",
    "issuer": "organisation",
    "bank": "organisation",
    "coin": "product",
    "token": "product",
    "crypto": "product",
    "commodity": "product",
    "person": "person",
    "country": "place",
    "place": "place",
}


class EntityExtractor:
    """Finds the entities of a text for one watchlist."""

    def __init__(self, watchlist: Watchlist, max_keys: int = 8) -> None:
        self.watchlist = watchlist
        self.max_keys = max_keys
        self._by_phrase = {p.lower(): e for e in watchlist.entities for p in e.phrases}
        alternatives = "|".join(re.escape(p) for p in sorted(self._by_phrase, key=len, reverse=True))
        self._phrases = re.compile(rf"(?<![\w$])({alternatives})(?!\w)", re.I) if alternatives else None
        self._symbols = {e.symbol for e in watchlist.entities if e.symbol}
        self._by_key = {e.key: e for e in watchlist.entities}

    @classmethod
    def from_settings(cls, settings: StreamSettings) -> EntityExtractor:
        """The extractor of the configured watchlist as it is now (replay, tests)."""
        return cls(read_watchlist(settings.watchlist_path), settings.max_entity_keys)

    def tickers(self, text: str, given: Iterable[str] = ()) -> list[str]:
        """Symbols: those ``given`` by the source, then cashtags, then watched names, each once."""
        found: dict[str, None] = dict.fromkeys(t.upper() for t in given)
        for symbol in cashtag_symbols(text):
            found[symbol] = None
        for entity in self._watched(text):
            if entity.symbol:
                found[entity.symbol] = None
        return list(found)

    def queries(self, document: Document) -> list[EntityQuery]:
        """The document's tickers and watched entities, with the ways a text names each, to read its
        own sentiment: ``$SHIB`` by ``$SHIB``, ``SHIB`` and its watched names."""
        return self.queries_for(document.text, document.tickers)

    def asked(self, text: str, given: Iterable[str] = ()) -> list[EntityQuery]:
        """What a text that was never prepared is asked about (``tapewatch classify``, ``POST
        /v1/classify``): the same as the worker asks of the document it prepares from the text."""
        return self.queries_for(text, self.tickers(text, given))

    def queries_for(self, text: str, tickers: Sequence[str]) -> list[EntityQuery]:
        found: dict[str, EntityQuery] = {}
        for ticker in tickers:
            key = f"${ticker}"
            watched = self._by_key.get(key)
            surfaces = [key, ticker] if len(ticker) >= BARE_SYMBOL_MIN else [key]  # a bare "GE" is a word
            if watched is not None:
                surfaces += watched.phrases
            found[key] = EntityQuery(
                key,
                tuple(dict.fromkeys(surfaces)),
                watched.name if watched else "",
                KIND_TYPES.get(watched.kind, "other") if watched else "other",
            )
        for watched in self._watched(text):
            if watched.key not in found:
                kind = KIND_TYPES.get(watched.kind, "other")
                found[watched.key] = EntityQuery(watched.key, tuple(watched.phrases), watched.name, kind)
        return list(found.values())[: self.max_keys]

    def _watched(self, text: str) -> list[WatchedEntity]:
        if self._phrases is None:
            return []
        matches = (self._by_phrase[m.group(1).lower()] for m in self._phrases.finditer(text))
        return list({e.name: e for e in matches}.values())


class EntitySource:
    """The extractor of the watchlist file as it is now: rebuilt when the file changes."""

    def __init__(self, watchlist: WatchlistFile, max_keys: int = 8) -> None:
        self.file = watchlist
        self.max_keys = max_keys
        self._version = watchlist.version
        self._extractor = EntityExtractor(watchlist.watchlist, max_keys)

    @classmethod
    def from_settings(cls, settings: StreamSettings) -> EntitySource:
        watchlist = WatchlistFile(settings.watchlist_path, settings.watchlist_check_s)
        return cls(watchlist, settings.max_entity_keys)

    def current(self) -> EntityExtractor:
        watchlist = self.file.current(time.monotonic())
        if self.file.version != self._version:
            self._version = self.file.version
            self._extractor = EntityExtractor(watchlist, self.max_keys)
        return self._extractor
