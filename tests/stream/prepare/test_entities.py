"""The entities a document is asked about before scoring: tickers, cashtags and watchlists users write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stream.prepare.entities import EntityExtractor, EntitySource
from stream.prepare.watchlist import WatchlistError, WatchlistFile, read_watchlist
from tests.helpers import T0, scored

WATCHLIST = """
entities:
  - name: Terra
    kind: coin
    symbol: luna
    aliases: [Terraform Labs]
  - name: Federal Reserve
    kind: issuer
    aliases: [the Fed]
    keywords: [rate decision]
"""


def keys(extractor: EntityExtractor, title: str, tickers: list[str] | None = None) -> list[str]:
    doc = scored("a", T0, tickers=tickers)
    return [q.key for q in extractor.queries(doc.document.derive(title=title))]


def test_a_users_watchlist_gives_symbols_and_entities_and_leaves_names_to_the_model(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.yml"
    path.write_text(WATCHLIST)
    extractor = EntityExtractor(read_watchlist(path))
    assert extractor.tickers("Terraform Labs halts chain; $ust depegs") == ["UST", "LUNA"]
    title = "Terraform Labs halts chain after the Fed rate decision; Velix Capital exposed"
    assert keys(extractor, title, ["LUNA"]) == ["$LUNA", "entity:Federal Reserve"]  # no capitalization rule
    bounded = EntityExtractor(read_watchlist(path), max_keys=2)
    assert keys(bounded, "Terraform Labs and the Fed", ["A", "B", "C"]) == ["$A", "$B"]


def test_json_and_the_older_ticker_object_are_read_and_bad_files_say_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "w.json").write_text(json.dumps({"entities": [{"name": "Gold", "kind": "commodity"}]}))
    assert read_watchlist(tmp_path / "w.json").entities[0].key == "entity:Gold"
    (tmp_path / "old.json").write_text(json.dumps({"XOM": ["Exxon", "ExxonMobil"]}))
    (old,) = read_watchlist(tmp_path / "old.json").entities
    assert (old.key, old.name, old.aliases) == ("$XOM", "Exxon", ["ExxonMobil"])
    (tmp_path / "bad.yml").write_text("entities:\n  - kind: coin\n")
    with pytest.raises(WatchlistError, match=r"bad.yml: not a watchlist: entities.0.name: Field required"):
        read_watchlist(tmp_path / "bad.yml")
    with pytest.raises(WatchlistError, match="cannot read"):
        read_watchlist(tmp_path / "missing.yml")


def test_a_changed_watchlist_is_used_without_a_restart_and_a_broken_one_keeps_the_last(
    tmp_path: Path,
) -> None:
    path = tmp_path / "watchlist.yml"
    path.write_text(WATCHLIST)
    source = EntitySource(WatchlistFile(path, check_s=0))
    assert keys(source.current(), "Velix Capital exposed") == []
    path.write_text(WATCHLIST + "  - name: Velix Capital\n    symbol: VLX\n")
    os.utime(path, ns=(1, 10**18))  # a new modification time, whatever the clock's resolution
    assert keys(source.current(), "Velix Capital exposed") == ["$VLX"]
    path.write_text("entities: [")
    os.utime(path, ns=(1, 2 * 10**18))
    assert keys(source.current(), "Velix Capital exposed") == ["$VLX"]


def test_each_entity_key_comes_with_the_ways_a_text_names_it(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.yml"
    path.write_text(WATCHLIST)
    extractor = EntityExtractor(read_watchlist(path))
    doc = scored("a", T0, tickers=["LUNA", "A"]).document.derive(
        title="Terraform Labs halts chain after the Fed rate decision; Velix Capital exposed"
    )
    queries = {q.key: q for q in extractor.queries(doc)}
    assert list(queries) == ["$LUNA", "$A", "entity:Federal Reserve"]
    assert queries["$LUNA"].surfaces == ("$LUNA", "LUNA", "Terra", "Terraform Labs")
    assert (queries["$LUNA"].name, queries["$LUNA"].type) == ("Terra", "product")
    assert queries["$A"].surfaces == ("$A",)  # a one-letter symbol alone would be the word "A"
    assert queries["entity:Federal Reserve"].surfaces == ("Federal Reserve", "the Fed", "rate decision")
    assert queries["entity:Federal Reserve"].type == "organisation"
