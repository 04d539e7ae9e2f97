"""Mentions as the tagger reads and writes them (casing features, BIO tags, spans) and how they are linked
to keys. Pure: no model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from model_service.entity_spans import mention_spans
from model_service.linking import AliasTable, KnownEntity, LinkedEntity, link, normalized
from model_service.mention_data import read_conll
from model_service.mentions import (
    FEATURES,
    OUTSIDE,
    TAGS,
    Span,
    cashtag_spans,
    casing_features,
    decode_spans,
    span_f1,
    title_case,
    token_tags,
    upper_case,
)
from model_service.tagger import DEFAULT_OUTSIDE_BELOW, TaggerWeights, tags_at
from model_service.text import model_text, model_text_map


def word_offsets(text: str) -> list[tuple[int, int]]:
    """Offsets as a tokenizer gives them: a special token, one token per word, a special token."""
    import re

    return [(0, 0), *((m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)), (0, 0)]


def test_casing_features_say_how_a_word_and_its_text_are_written() -> None:
    text = "Celsius halts withdrawals as $BTC falls"
    features = casing_features(text, word_offsets(text))
    column = {name: i for i, name in enumerate(FEATURES)}
    assert features.shape == (len(word_offsets(text)), len(FEATURES))
    assert features[0, column["special token"]] == 1
    celsius, halts = features[1], features[2]
    assert celsius[column["word capitalized"]] == 1 and celsius[column["starts a sentence"]] == 1
    assert halts[column["word capitalized"]] == 0 and halts[column["previous word capitalized"]] == 1
    btc = features[6]  # "$" is token 5, "BTC" token 6
    assert btc[column["word in capitals"]] == 1 and btc[column["after $"]] == 1
    title = title_case(text)
    assert title == "Celsius Halts Withdrawals as $BTC Falls"  # "as" stays small
    shares = casing_features(title, word_offsets(title))[1]
    assert shares[column["text: share of long words capitalized"]] == 1.0
    assert features[1, column["text: share of long words capitalized"]] == 0.25


def test_tags_and_spans_round_trip_and_a_tag_on_a_word_piece_names_the_whole_word() -> None:
    text = "Do Kwon sold Terraform Labs"
    offsets = word_offsets(text)
    gold = [Span(0, 7, "person"), Span(13, 27, "organisation")]
    tags = token_tags(offsets, gold)
    assert [TAGS[t] for t in tags] == [
        "O",
        "B-person",
        "I-person",
        "O",
        "B-organisation",
        "I-organisation",
        "O",
    ]
    assert decode_spans(text, offsets, tags) == gold
    walmart = "Wal-Mart cuts its outlook"  # the tagger leaves the hyphen out: one name all the same
    tags = [0, TAGS.index("B-organisation"), 0, TAGS.index("B-organisation"), 0, 0, 0, 0]
    assert decode_spans(walmart, word_offsets(walmart), tags) == [Span(0, 8, "organisation")]
    us = "U.S. stocks slide as S&P 500 falls"  # a tag on one letter of "U.S." or "S&P" names the word
    tags = [0, TAGS.index("B-place"), *[0] * 7, TAGS.index("B-organisation"), 0, 0, 0, 0]
    found = decode_spans(us, word_offsets(us), tags)
    assert [us[s.start : s.end] for s in found] == ["U.S.", "S&P"]
    pieces = [(0, 0), (0, 4), (4, 7), (8, 12), (0, 0)]  # "Cels", "ius" of "Celsius fell"
    only_first = [0, TAGS.index("B-organisation"), 0, 0, 0]
    assert decode_spans("Celsius fell", pieces, only_first) == [Span(0, 7, "organisation")]


def test_span_f1_counts_exact_spans_whatever_their_type() -> None:
    gold = [[Span(0, 7, "person"), Span(10, 12)]]
    assert span_f1(gold, [[Span(0, 7, "place")]]) == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3}
    assert span_f1(gold, [[Span(0, 6)]])["f1"] == 0.0


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x250), max_size=60))
def test_headline_copies_keep_every_offset(text: str) -> None:
    assert len(title_case(text)) == len(text) and len(upper_case(text)) == len(text)


@given(
    st.lists(
        st.sampled_from(["Celsius", "halts", "https://t.co/x1", "  ", "\n", "$BTC", "é", "www.a.b", "x"]),
        max_size=12,
    ).map("".join)
)
def test_a_span_in_what_the_model_reads_maps_back_to_the_same_characters(text: str) -> None:
    read, origin = model_text_map(text)
    assert read == model_text(text)
    assert len(origin) == len(read)
    for i, char in enumerate(read):
        assert text[origin[i]] == char or char == " "  # a collapsed run of spaces is one space


def test_conll_texts_keep_their_mentions_as_character_spans(tmp_path: Path) -> None:
    iob2 = tmp_path / "a.conll"
    iob2.write_text("Allen\tB-PER\nIverson\tI-PER\nat\tO\nWizards\tB-ORG\n\nhi\tO\n")
    first, second = read_conll(iob2)
    assert [first.text[s.start : s.end] for s in first.spans] == ["Allen Iverson", "Wizards"]
    assert [s.type for s in first.spans] == ["person", "organisation"]
    assert second.spans == ()
    iob1 = tmp_path / "b.conll"
    iob1.write_text("The I-ORG\nMad I-ORG\nCapsule I-ORG\nrocks O\n")
    (text,) = read_conll(iob1)
    assert [text.text[s.start : s.end] for s in text.spans] == ["The Mad Capsule"]


ALIASES = AliasTable(
    by_name={
        "bitcoin": KnownEntity("$BTC", "Bitcoin", "product"),
        "apple": KnownEntity("$AAPL", "Apple", "organisation"),
    },
    by_symbol={"BTC": KnownEntity("$BTC", "Bitcoin", "product")},
    bare_symbols=frozenset({"BTC"}),
)


def spans_of(text: str, *words: str) -> list[Span]:
    found = []
    for word in words:
        start = text.index(word)
        found.append(Span(start, start + len(word), "organisation"))
    return found


def test_names_symbols_and_cashtags_of_one_asset_are_one_key() -> None:
    text = "$BTC and Bitcoin: BTC slides as Apple Inc. falls"
    found = sorted(
        [*spans_of(text, "Bitcoin", "Apple Inc"), Span(18, 21), *cashtag_spans(text)], key=lambda s: s.start
    )
    linked = link(text, [], found, ALIASES)
    assert [(e.key, e.name, len(e.spans)) for e in linked] == [("$BTC", "Bitcoin", 3), ("$AAPL", "Apple", 1)]


def test_a_name_no_list_holds_is_keyed_by_itself_and_its_shorter_form_within_a_text() -> None:
    text = "Celsius Network pauses withdrawals; Celsius says it is fine"
    linked = link(text, [], [*spans_of(text, "Celsius Network"), Span(36, 43)], ALIASES)
    assert [(e.key, [text[s.start : s.end] for s in e.spans]) for e in linked] == [
        ("name:Celsius", ["Celsius Network", "Celsius"])
    ]
    assert link("@[user] and @Dana say", [], [Span(2, 6), Span(13, 17)], ALIASES) == []  # handles
    assert link("RT @ Dana : hi", [], [Span(5, 9)], ALIASES) == []
    assert link("Facebook Inc", [], [Span(9, 12)], ALIASES) == []  # a company suffix alone names nothing
    assert link("Plan B for Q3", [], [Span(5, 6)], ALIASES) == []  # nor does one letter
    assert link("Total To Reduce Capital Spending", [], [Span(16, 23)], ALIASES) == []  # nor a company word
    shouting = "CELSIUS FREEZES WITHDRAWALS"
    (entity,) = link(shouting, [], [Span(0, 7)], ALIASES, capitals_text=True)
    assert entity.key == "name:Celsius"
    tweet = "Get out of CELSIUS now, LUNA too"  # shouted in a tweet: the same key; a symbol stays
    assert [e.key for e in link(tweet, [], [Span(11, 18), Span(24, 28)], ALIASES)] == [
        "name:Celsius",
        "name:LUNA",
    ]


def test_a_mention_an_asked_entity_covers_joins_it_and_lends_it_its_type() -> None:
    text = "Terraform Labs halts chain"
    asked = [LinkedEntity("$LUNA", "Terra", "other", [Span(0, 14)])]
    (entity,) = link(text, asked, [Span(0, 9, "organisation")], ALIASES)
    assert (entity.key, entity.type, entity.spans) == ("$LUNA", "organisation", [Span(0, 14)])


def test_listed_names_lose_their_company_suffixes() -> None:
    assert normalized("Apple Inc.") == normalized("Apple") == "apple"
    assert normalized("Microsoft Corp") == "microsoft"
    assert normalized("Alphabet Inc. (Class A)") == "alphabet"
    assert normalized("Tesla's") == "tesla"
    packaged = AliasTable.packaged()
    assert packaged.find("Bitcoin") == packaged.find("$BTC") == packaged.find("BTC")
    assert packaged.find("MSFT").key == "$MSFT"  # type: ignore[union-attr]
    assert packaged.find("Morgan Stanley") is None  # S&P 500 names do not link, only their symbols
    assert packaged.find("BTC", capitals_text=True) is None  # in a text in capitals every word is
    assert packaged.find("Bitcoin Cash").key == "$BCH"  # type: ignore[union-attr]
    # a name that needs context ("Terra", "Musk": one-word names of the long list) does not link from a
    # tagged word alone (``KnownNames`` links it beside an asset word or its symbol), nor a concept
    # ("Crypto Holding" is said "Crypto")
    assert packaged.find("Terra") is None and packaged.find("Musk") is None
    assert packaged.find("Crypto") is None
    assert packaged.find("$FTX").name == "FintruX"  # type: ignore[union-attr]  # its symbols, as cashtags
    assert packaged.find("FTX") is None  # but not bare: "FTX" in a headline is the exchange


def test_concepts_are_not_names() -> None:
    text = "NFTs and DeFi lift Web3 as Crypto ETF nears; Do Kwon speaks"
    found = spans_of(text, "NFTs", "DeFi", "Web3", "Crypto ETF", "Do Kwon")
    assert [e.key for e in link(text, [], found, ALIASES)] == ["name:Do Kwon"]


def test_a_token_is_a_mention_when_o_is_less_likely_than_the_cut() -> None:
    """The tagger says O too readily: a token whose O is at 0.6 is a mention at the cut of 0.7, with
    its likeliest mention tag, and O at the argmax-like cut of 0.5."""
    probs = np.full((2, len(TAGS)), 0.01)
    probs[0, OUTSIDE], probs[0, TAGS.index("B-organisation")], probs[0, TAGS.index("B-person")] = (
        0.6,
        0.25,
        0.06,
    )
    probs[1, OUTSIDE] = 0.95
    logits = np.log(probs / probs.sum(axis=1, keepdims=True))
    assert tags_at(logits, 0.7).tolist() == [TAGS.index("B-organisation"), OUTSIDE]
    assert tags_at(logits, 0.5).tolist() == [OUTSIDE, OUTSIDE]


def test_the_cut_travels_with_the_weights_and_an_older_file_reads_with_the_default(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(4 + len(FEATURES), 3)).astype(np.float32), np.zeros(3, np.float32)
    w2, b2 = rng.normal(size=(3, len(TAGS))).astype(np.float32), np.zeros(len(TAGS), np.float32)
    TaggerWeights(w1, b1, w2, b2, 0.7).save(tmp_path / "new.safetensors")
    assert TaggerWeights.load(tmp_path / "new.safetensors").outside_below == np.float32(0.7)
    from safetensors.numpy import save_file

    save_file({"w1": w1, "b1": b1, "w2": w2, "b2": b2}, str(tmp_path / "old.safetensors"))
    assert TaggerWeights.load(tmp_path / "old.safetensors").outside_below == DEFAULT_OUTSIDE_BELOW


def test_an_ordinary_word_is_a_name_only_where_its_capital_says_so() -> None:
    ordinary = frozenset({"stock", "penny", "highway"})
    text = "Stock futures slide as Penny Lane and HIGHWAY fall; brokers still like Penny"
    found = spans_of(text, "Stock", "Penny Lane", "HIGHWAY", "like Penny")
    found[-1] = Span(found[-1].start + 5, found[-1].end)
    linked = link(text, [], found, ALIASES, ordinary=ordinary)
    assert [e.key for e in linked] == ["name:Penny"]  # "Penny Lane" and "Penny": the prefix rule
    assert [len(e.spans) for e in linked] == [2]
    headline = "Stock Futures Slide As Penny Rises"
    assert link(headline, [], spans_of(headline, "Penny"), ALIASES, ordinary=ordinary) == []
    assert [e.key for e in link("Facebook Inc sues", [], [Span(0, 12)], ALIASES)] == ["name:Facebook"]


def test_half_of_a_capitalized_hyphenated_name_is_the_whole_name() -> None:
    for text, first in (("Wal-Mart cuts outlook", 0), ("RT: Coca-Cola profit falls", 4)):
        word_end = text.index("-")
        tags = [
            TAGS.index("B-organisation") if (s, e > s) == (first, True) else 0 for s, e in word_offsets(text)
        ]
        (span,) = decode_spans(text, word_offsets(text), tags)
        assert (span.start, text[span.start : span.end]) == (first, text[first:].split()[0].rstrip(":"))
        assert span.end > word_end
    for text in ("Bitcoin-related stocks slide", "U.S.-China talks stall"):
        tags = [TAGS.index("B-place") if (s, e > s) == (0, True) else 0 for s, e in word_offsets(text)]
        (span,) = decode_spans(text, word_offsets(text), tags)
        assert "-" not in text[span.start : span.end]
    late = "Shares of Hewlett-Packard slide"  # the tag on the second half
    start = late.index("Packard")
    tags = [TAGS.index("B-organisation") if s == start else 0 for s, _ in word_offsets(late)]  # start > 0
    (span,) = decode_spans(late, word_offsets(late), tags)
    assert late[span.start : span.end] == "Hewlett-Packard"


def keyed_words(text: str, found: list[Span], **options: object) -> list[list[str]]:
    return [[text[s.start : s.end] for s in e.spans] for e in link(text, [], found, ALIASES, **options)]  # type: ignore[arg-type]


def test_a_name_the_tagger_reads_as_several_is_one_name_running_on_over_company_words() -> None:
    """Hand-labelled headlines (``bench/labels``): the tagger opens a new mention on each word of
    "Elon Musk" or "Halper Sadeh LLP", and stops before "Solutions" in "NuCera Solutions"."""
    text = "Elon Musk hires Halper Sadeh LLP; Chase Corporation to buy NuCera Solutions"
    found = spans_of(text, "Elon", "Musk", "Halper", "Sadeh", "LLP", "Chase Corporation", "NuCera")
    assert keyed_words(text, found) == [
        ["Elon Musk"],
        ["Halper Sadeh LLP"],
        ["Chase Corporation"],
        ["NuCera Solutions"],
    ]
    apple = "Apple iPhone sales"  # an organisation beside a product stays two
    assert keyed_words(apple, [Span(0, 5, "organisation"), Span(6, 12, "product")]) == [["Apple"], ["iPhone"]]


def test_titles_a_leading_the_and_possessives_are_not_part_of_a_name() -> None:
    text = "PepsiCo CFO Hugh Johnston and Rep. Cheney read Knight-Swift Holdings Inc.'s report on the Fed"
    found = [Span(0, 25, "person"), *spans_of(text, "Rep. Cheney", "Knight-Swift Holdings Inc.'s", "the Fed")]
    assert keyed_words(text, found) == [
        ["PepsiCo"],
        ["Hugh Johnston"],
        ["Cheney"],
        ["Knight-Swift Holdings Inc"],
        ["Fed"],
    ]
    assert keyed_words("U.S. stocks fall", [Span(0, 4)]) == [["U.S."]]  # an abbreviation keeps its stop
    court = "Three Arrows ordered to liquidate by British Virgin Islands court"
    assert keyed_words(court, spans_of(court, "British Virgin Islands court")) == [["British Virgin Islands"]]


def test_people_of_a_place_and_the_currency_a_price_is_quoted_in_are_not_names() -> None:
    text = "$BTC-USD slides; $HIVE:CA up as Dutch central bank fines Binance"
    found = sorted(
        [*spans_of(text, "USD", "CA", "Dutch", "Binance"), *cashtag_spans(text)], key=lambda s: s.start
    )
    assert keyed_words(text, found) == [["$BTC"], ["$HIVE"], ["Binance"]]


def test_a_short_word_in_capitals_is_an_acronym_unless_the_whole_text_is_in_capitals() -> None:
    ordinary = frozenset({"us", "it"})
    text = "US lawmakers target stablecoins"
    assert keyed_words(text, [Span(0, 2, "place")], ordinary=ordinary) == [["US"]]
    shouting = "LET US KNOW WHAT YOU THINK"
    assert keyed_words(shouting, [Span(4, 6, "place")], ordinary=ordinary, capitals_text=True) == []


def test_a_concept_and_the_words_after_it_are_not_part_of_a_name() -> None:
    text = "Crypto exchange Binance fined"  # the tagger reads "Crypto exchange" and "Binance"
    assert keyed_words(text, spans_of(text, "Crypto exchange", "Binance")) == [["Binance"]]
    title = "Crypto Lender Celsius Files for Bankruptcy"  # in a headline, read as one name
    ordinary = frozenset({"lender", "files"})
    assert keyed_words(title, spans_of(title, "Crypto Lender Celsius"), ordinary=ordinary) == [["Celsius"]]
    assert keyed_words("NFT Marketplace volume", [Span(0, 15)], ordinary=frozenset({"marketplace"})) == []


def test_words_for_what_a_thing_is_do_not_name_it() -> None:
    """Title Case headlines: "Exchange OKX" (the tagger's span) is OKX, the "Nation's Central Bank"'s
    "Bank" names nothing; "Bank of America" is a name."""
    text = "Crypto Exchange OKX Gets a License as the Nation's Central Bank Says So"
    assert keyed_words(text, spans_of(text, "Exchange OKX", "Bank")) == [["OKX"]]
    bank = "Bank of America Falls"
    assert keyed_words(bank, spans_of(bank, "Bank of America")) == [["Bank of America"]]


def test_in_running_text_a_tagged_word_grows_over_the_capitalized_words_beside_it() -> None:
    """Hand-labelled headlines: the tagger tags one word of "Digital Currency Group", "Three Arrows
    Capital" or "Bob Martin"; mid-sentence, the capitals beside it say they are one name."""
    text = "Digital Currency Group filed a claim against Three Arrows Capital, replaced by Bob Martin"
    found = spans_of(text, "Digital", "Group", "Arrows", "Martin")
    assert keyed_words(text, found) == [["Digital Currency Group"], ["Three Arrows Capital"], ["Bob Martin"]]
    title = "Claim Against Three Arrows Capital Grows"  # in a headline a capital says nothing
    assert keyed_words(title, spans_of(title, "Arrows")) == [["Arrows Capital"]]  # but a company word
    said = "as the chief of @ Dana said, CEO Tim Cook I hear spoke"  # not into a handle, a title or "I"
    assert keyed_words(said, spans_of(said, "Cook")) == [["Tim Cook"]]
    assert keyed_words(said, spans_of(said, "Dana")) == []


def test_a_headline_in_title_case_keeps_its_links_as_written() -> None:
    assert title_case("fed hikes https://t.co/abXy now") == "Fed Hikes https://t.co/abXy Now"


def test_a_watched_phrase_with_the_names_what_follows_the() -> None:
    text = "Powell of the Fed speaks; The Fed waits"
    assert [text[a:b] for a, b in mention_spans(text, ["the Fed"])] == ["Fed", "Fed"]


def test_a_name_is_keyed_without_the_company_words_a_text_may_leave_out() -> None:
    """One key per entity across the feed without a names file: every headline's "Celsius Network" and
    "Celsius" count under ``name:Celsius``, as "Apple Inc." is Apple."""
    first = "Celsius Network hires restructuring lawyers"
    (network,) = link(first, [], spans_of(first, "Celsius Network"), ALIASES)
    (alone,) = link("Celsius halts withdrawals", [], [Span(0, 7)], ALIASES)
    assert network.key == alone.key == "name:Celsius" and network.name == "Celsius Network"
    galaxy = "Galaxy Digital posts a loss"  # what is left is an ordinary word: the name stays whole
    assert [e.key for e in link(galaxy, [], [Span(0, 14)], ALIASES, ordinary=frozenset({"galaxy"}))] == [
        "name:Galaxy Digital"
    ]
    listed = "Bitcoin Capital raises a fund"  # what is left names a listed asset: whole too
    assert [e.key for e in link(listed, [], [Span(0, 15)], ALIASES)] == ["name:Bitcoin Capital"]
