"""Tickers mentioned in a document: ``$CASHTAGS`` and company names from a watchlist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,5}(?:\.[A-Za-z])?)(?![\w])")


def default_watchlist() -> dict[str, list[str]]:
    """The shipped watchlist: ticker to the names that refer to it."""
    text = resources.files("stream.prepare").joinpath("watchlist.json").read_text()
    return json.loads(text)


def load_watchlist(path: Path | None) -> dict[str, list[str]]:
    return json.loads(path.read_text()) if path else default_watchlist()


class TickerExtractor:
    """Finds cashtags and watchlist names (whole words, case-insensitive) in text."""

    def __init__(self, watchlist: Mapping[str, Iterable[str]]) -> None:
        self.watchlist = {ticker.upper(): [n for n in names] for ticker, names in watchlist.items()}
        by_name = {name.lower(): ticker for ticker, names in self.watchlist.items() for name in names}
        alternatives = "|".join(re.escape(name) for name in sorted(by_name, key=len, reverse=True))
        self._names = re.compile(rf"\b({alternatives})\b", re.I) if alternatives else None
        self._by_name = by_name

    def extract(self, text: str, given: Iterable[str] = ()) -> list[str]:
        """Tickers in order of first mention; ``given`` (from the source) come first."""
        found: dict[str, None] = dict.fromkeys(t.upper() for t in given)
        for match in _CASHTAG.finditer(text):
            found[match.group(1).upper()] = None
        if self._names is not None:
            for match in self._names.finditer(text):
                found[self._by_name[match.group(1).lower()]] = None
        return list(found)
