"""Known names: every listed name and symbol a text writes, by the rule its list row gives it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from model_service.known_names import KnownNames, Listed, packaged_ordinary_words
from model_service.linking import AliasTable, link
from model_service.mentions import Span

ROWS = [
    Listed("$BTC", "Bitcoin", "product", "any", "capitals"),
    Listed("$LUNA", "Terra", "product", "capital", "context"),
    Listed("$GAS", "Gas", "product", "context", "context"),
    Listed("$FTX", "FintruX", "product", "any", "context"),
    Listed("$SEC", "SecureCryptoPayments", "product", "any", "cashtag"),
    Listed("$XOM", "Exxon Mobil", "organisation", "never", "capitals"),
]
NAMES = KnownNames(ROWS)


def found(text: str, capitals_text: bool = False) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], row.key) for s, row in NAMES.find(text, capitals_text)]


def test_each_rule_of_a_list_row_decides_whether_a_match_counts() -> None:
    assert found("bitcoin and Bitcoin, BTC but not btc or BTCUSD") == [
        ("bitcoin", "$BTC"), ("Bitcoin", "$BTC"), ("BTC", "$BTC"),
    ]  # fmt: skip
    assert found("Terra slides; the terra firma holds") == [("Terra", "$LUNA")]  # a word: capitalized only
    assert found("Gas prices rise") == []  # an ordinary word: only beside an asset word or its symbol
    assert found("Gas token jumps") == [("Gas", "$GAS")]
    assert found("Terra (LUNA) and GAS") == [("Terra", "$LUNA"), ("LUNA", "$LUNA")]  # LUNA beside its name
    assert found("FTX collapses as SEC probes") == []  # the long list's symbols: not bare
    assert found("XOM rises, Exxon Mobil says") == [("XOM", "$XOM")]  # S&P 500 names do not link
    assert found("BTC SLIDES AS XOM RISES", capitals_text=True) == []  # in capitals every word is
    assert found("$BTC and $SEC") == []  # cashtags are mentions.cashtag_spans' to find


def test_the_longest_match_wins_and_none_overlap() -> None:
    names = KnownNames([*ROWS, Listed("$BCH", "Bitcoin Cash", "product", "any", "capitals")])
    matches = names.find("Bitcoin Cash and Bitcoin")
    assert [(s.start, s.end, row.key) for s, row in matches] == [(0, 12, "$BCH"), (17, 24, "$BTC")]


@given(st.text(max_size=80))
def test_any_text_gives_whole_word_spans_inside_it(text: str) -> None:
    for span, row in NAMES.find(text):
        assert 0 <= span.start < span.end <= len(text)
        written = row.written.lower()
        assert text[span.start : span.end].lower() in (written, f"{written}s", row.symbol.lower())


def test_the_packaged_lists_find_the_assets_a_feed_names_and_link_them_to_one_key() -> None:
    aliases = AliasTable.packaged()
    names = KnownNames(aliases.rows)
    text = "SHIB Surges as bitcoin and Ethereum slide; SOL, ADA, DOT, Polygon and Tether follow Terra"
    keys = [row.key for _, row in names.find(text)]
    assert keys == ["$BTC", "$ETH", "$SOL", "$ADA", "$DOT", "$MATIC", "$USDT"]  # the long list's Terra:
    assert [row.key for _, row in names.find(text + " (LUNA)")][-2:] == ["$LUNA", "$LUNA"]  # in context
    assert names.find("idk, Hello Rocky") == []  # one-word names of the long list, without context
    linked = link(text, [], [], aliases, listed=names.find(text))
    assert [e.name for e in linked][:2] == ["Bitcoin", "Ethereum"]


def test_a_coined_name_is_found_in_the_plural_a_symbol_or_a_word_is_not() -> None:
    assert found("Finland sells its bitcoins; BTCs and Terras stay") == [("bitcoins", "$BTC")]


def test_places_are_found_by_every_form_a_text_writes_under_one_key() -> None:
    """A place is who a text is about as much as a company (``bench/labels``): "Russia", "Europe" and
    "the Middle East" of a real headline, found whether or not the tagger read them."""
    aliases = AliasTable.packaged()
    names = KnownNames(aliases.rows)
    text = "Russia\u2019s fuel shunned in Europe heads to the Middle East; U.S. and USA buyers wait, US too"
    keys = [row.key for _, row in names.find(text)]
    assert keys == ["name:Russia", "name:Europe", "name:Middle East", "name:US", "name:US", "name:US"]
    assert names.find("let us know what the us says") == []  # a form in capitals counts only so
    assert [row.key for _, row in names.find("U.S. SAYS LET US KNOW", capitals_text=True)] == ["name:US"]
    assert aliases.find("America").key == "name:US"  # type: ignore[union-attr]  # a tagged form links


def test_a_place_inside_a_longer_name_is_that_name_not_the_place() -> None:
    aliases = AliasTable.packaged()
    names = KnownNames(aliases.rows)
    text = "Bank of England warns as Japan stalls"
    bank = [Span(0, 15, "organisation")]  # the tagger's whole name
    linked = link(text, [], bank, aliases, listed=names.find(text))
    assert [e.key for e in linked] == ["name:Japan", "name:Bank of England"]
    title = "US Lawmakers Target Stablecoins as US Capitol Waits"  # a Title Case headline
    capitol = title.index("US Capitol")
    tagged = [Span(0, 12, "organisation"), Span(capitol, capitol + 10, "place")]  # as the tagger reads it
    linked = link(title, [], tagged, aliases, listed=names.find(title), ordinary=packaged_ordinary_words())
    assert [(e.key, [title[s.start : s.end] for s in e.spans]) for e in linked] == [
        ("name:US", ["US"]),  # the place and an ordinary word said of it
        ("name:US Capitol", ["US Capitol"]),
    ]
