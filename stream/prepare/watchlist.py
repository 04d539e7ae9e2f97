"""Watchlists users write: entities of any asset class, with aliases and keywords, in YAML or JSON.

An entity with a ``symbol`` is counted under ``$SYMBOL`` (a stock, a coin); one without under
``entity:<name>`` (a commodity, an issuer, a person). The worker rereads the file when it changes, so a
list is edited without a restart; a file that does not validate leaves the previous list in place.

    entities:
      - name: Terra
        kind: coin
        symbol: LUNA
        aliases: [Terraform Labs, TerraUSD]
        keywords: [UST depeg]

The older form, a JSON object of ticker to names (``{"AAPL": ["Apple"]}``), is still read.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.watched_file import WatchedFile, read_yaml, validated


class WatchlistError(ValueError):
    """A watchlist file that cannot be read; the message names the file and the problem."""


class WatchedEntity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    kind: str = "other"  # stock, coin, commodity, issuer, person, ...: for people, not for matching
    symbol: str | None = Field(None, pattern=r"^[A-Za-z0-9.\-]{1,12}$")
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)  # phrases that point at it without naming it

    @field_validator("symbol")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @property
    def key(self) -> str:
        return f"${self.symbol}" if self.symbol else f"entity:{self.name}"

    @property
    def phrases(self) -> list[str]:
        """Every phrase that points at the entity, matched as whole words, case-insensitive."""
        return [p for p in dict.fromkeys([self.name, *self.aliases, *self.keywords]) if p.strip()]


class Watchlist(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entities: list[WatchedEntity] = Field(default_factory=list)

    @property
    def symbols(self) -> frozenset[str]:
        return frozenset(e.symbol for e in self.entities if e.symbol)


def parse_watchlist(data: Any, origin: str) -> Watchlist:
    """A watchlist from parsed YAML/JSON: ``{"entities": [...]}``, or the older ticker-to-names object."""
    if isinstance(data, dict) and "entities" not in data and all(isinstance(v, list) for v in data.values()):
        data = {"entities": [{"name": names[0] if names else ticker, "kind": "stock", "symbol": ticker,
                              "aliases": names[1:]} for ticker, names in data.items()]}  # fmt: skip
    return validated(Watchlist, data, WatchlistError, f"{origin}: not a watchlist")


def read_watchlist(path: Path | None) -> Watchlist:
    """The watchlist in ``path`` (YAML or JSON), or the packaged default when None."""
    if path is None:
        text = resources.files("stream.prepare").joinpath("watchlist.yml").read_text()
        return parse_watchlist(yaml.safe_load(text), "packaged watchlist.yml")
    return parse_watchlist(read_yaml(path, WatchlistError), str(path))


class WatchlistFile(WatchedFile[Watchlist]):
    """The watchlist of a file, read again when the file changes (checked at most every ``check_s``)."""

    def __init__(self, path: Path | None, check_s: float = 5.0) -> None:
        super().__init__(path, read_watchlist, (WatchlistError,), "watchlist", check_s)

    @property
    def watchlist(self) -> Watchlist:
        return self.contents
