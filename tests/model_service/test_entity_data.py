"""Entity examples and where an entity is mentioned: pure, on small hand-made inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from model_service.data import DataError, Example
from model_service.entity_data import (
    EntityText,
    Mention,
    contrast_pairs,
    news_sentences,
    paragraph_split,
    read_finentity,
    single_cashtag_texts,
)
from model_service.entity_spans import entity_mask, mention_spans, token_positions
from model_service.labels import SENTIMENTS
from model_service.mention_data import read_labelled

NEG, NEU, POS = range(3)


def test_rows_of_one_paragraph_become_one_text_with_its_entities(tmp_path: Path) -> None:
    path = tmp_path / "finentity.csv"
    path.write_text(
        "text,entity,start,end,label\n"
        '"Siemens up, Bayer down",Siemens,0,7,positive\n'
        '"Siemens up, Bayer down",Bayer,12,17,negative\n'
        "Oil steady,Oil,0,3,neutral\n"
    )
    first, second = read_finentity(path, SENTIMENTS)
    assert first.mentions == (Mention("Siemens", POS), Mention("Bayer", NEG))
    assert not first.agrees and first.document_example() is None
    assert second.document_example() == Example("Oil steady", NEU)


def test_an_unknown_label_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "finentity.csv"
    path.write_text("text,entity,start,end,label\nx,x,0,1,bullish\n")
    with pytest.raises(DataError, match="line 2: unknown label 'bullish'"):
        read_finentity(path, SENTIMENTS)


def test_the_dev_split_never_divides_a_paragraph_and_takes_its_share_of_disagreements() -> None:
    agreeing = [EntityText(f"p{i}", (Mention("A", POS), Mention("B", POS))) for i in range(80)]
    disagreeing = [EntityText(f"q{i}", (Mention("A", POS), Mention("B", NEG))) for i in range(20)]
    train, dev = paragraph_split(agreeing + disagreeing, 0.25, seed=13)
    assert {p.text for p in train}.isdisjoint(p.text for p in dev)
    assert len(dev) == 25 and sum(not p.agrees for p in dev) == 5
    _, again_dev = paragraph_split(list(reversed(agreeing + disagreeing)), 0.25, seed=13)
    assert {p.text for p in again_dev} == {p.text for p in dev}  # order of the file does not move it


def test_only_tweets_naming_one_cashtag_become_entity_examples() -> None:
    tweets = [Example("$TSLA falls, $tsla again", NEG), Example("$CCL $RCL cut", NEG), Example("no tag", POS)]
    (only,) = single_cashtag_texts(tweets)
    assert only.mentions == (Mention("$TSLA", NEG),)


def test_a_sentence_takes_the_label_of_the_entities_it_names_when_they_agree() -> None:
    paragraph = EntityText(
        "Siemens rose 6% after a boom in orders. Nokia fell 3% as Ericsson dropped. "
        "Analysts were unmoved. Siemens and Nokia both trade in Europe.",
        (Mention("Siemens", POS), Mention("Nokia", NEG), Mention("Ericsson", NEG)),
    )
    assert news_sentences([paragraph]) == [
        Example("Siemens rose 6% after a boom in orders.", POS),
        Example("Nokia fell 3% as Ericsson dropped.", NEG),
    ]  # no entity named: no label; entities that disagree: no label


def test_contrast_pairs_join_two_disagreeing_texts_and_keep_each_entitys_label() -> None:
    singles = [
        EntityText(f"${tag} {word} today", (Mention(f"${tag}", label),))
        for tag, word, label in [("BTC", "slides", NEG), ("SHIB", "surges", POS), ("ETH", "is flat", NEU)]
    ] + [EntityText("$AAPL and $MSFT cut", (Mention("$AAPL", NEG), Mention("$MSFT", NEG)))]
    pairs = contrast_pairs(singles, seed=5)
    assert len(pairs) == 3 and pairs == contrast_pairs(singles, seed=5)  # one per one-entity text
    for pair in pairs:
        first, second = pair.mentions
        assert first.label != second.label and first.entity.lstrip("$") != second.entity.lstrip("$")
        for mention in pair.mentions:
            (span,) = mention_spans(pair.text, [mention.entity])
            source = next(
                t for t in singles if t.mentions[0].entity.lstrip("$") == mention.entity.lstrip("$")
            )
            word = source.text.split()[1]
            assert word in pair.text and mention.label == source.mentions[0].label, pair
            assert pair.text[span[0] : span[1]] == mention.entity
    bare = [m.entity for p in contrast_pairs(singles * 20, seed=1) for m in p.mentions]
    assert any(e.startswith("$") for e in bare) and any(not e.startswith("$") for e in bare)


def test_mentions_are_whole_words_in_any_case() -> None:
    text = "Bitcoin and BTC slide; bitcoiners cheer $BTC while SHIB surges"
    assert [text[a:b] for a, b in mention_spans(text, ["$BTC", "Bitcoin", "BTC"])] == [
        "Bitcoin",
        "BTC",
        "$BTC",
    ]
    assert mention_spans(text, ["XRP", " "]) == []


def test_tokens_overlapping_a_span_are_the_entitys_and_special_tokens_never_are() -> None:
    offsets = [(0, 0), (0, 3), (3, 7), (8, 12), (0, 0)]
    assert token_positions(offsets, [(0, 7)]) == [1, 2]
    assert token_positions(offsets, [(5, 9)]) == [2, 3]
    mask = entity_mask([[[1, 2], [3]], [], [[]]], width=5)
    assert mask.shape == (3, 2, 5) and mask.dtype == np.float32
    assert mask[0, 0].tolist() == [0, 1, 1, 0, 0] and mask[0, 1].tolist() == [0, 0, 0, 1, 0]
    assert not mask[1:].any()
    assert entity_mask([[], []], width=3).shape == (2, 1, 3)  # one column even when none is asked for


def test_hand_labels_name_their_rows_by_digest_and_their_mentions_in_order(tmp_path: Path) -> None:
    raw = ["Tesla sells bitcoin; Tesla shares fall", "Nothing here"]
    digest = hashlib.sha256(raw[0].encode()).hexdigest()[:12]
    labels = tmp_path / "labels.tsv"
    labels.write_text(f"# comment\n0\t{digest}\tTesla | bitcoin=negative | Tesla\n", encoding="utf-8")
    (text,) = read_labelled(labels, raw)
    assert [text.text[s.start : s.end] for s in text.spans] == ["Tesla", "bitcoin", "Tesla"]
    assert text.sentiments == (None, "negative", None)
    assert text.spans[2].start == raw[0].rindex("Tesla")  # the second Tesla, after the first
    labels.write_text(f"1\t{digest}\tNothing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not the text"):
        read_labelled(labels, raw)  # the row changed: these labels are not for it
    labels.write_text(f"0\t{digest}\tTes\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is not in"):
        read_labelled(labels, raw)  # part of a word is not a mention
    labels.write_text(f"0\t{digest}\tTesla=bearish\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not one of"):
        read_labelled(labels, raw)
