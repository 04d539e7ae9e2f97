"""Sentiment toward each entity, on the committed adapter and the real packaged encoder."""

from __future__ import annotations

import pytest
import torch
from peft import PeftModel

from model_service.artifact import build_model, load_model, packaged_artifact_dir, read_config
from model_service.engine import InferenceEngine
from model_service.entity_spans import EntityQuery
from model_service.model import packaged_base_dir

pytestmark = pytest.mark.integration

# A real headline with its clauses swapped; the original order is a known miss (docs/model.md).
HEADLINE = "SHIB Surges as Bitcoin and Ethereum Consolidate Losses"
COINS = [EntityQuery("$SHIB", ("$SHIB", "SHIB")), EntityQuery("$BTC", ("$BTC", "BTC", "Bitcoin"))]


def test_the_adapter_is_peft_s_own_format_and_loads_with_peft_alone() -> None:
    folder = packaged_artifact_dir()
    config = read_config(folder)
    plain = build_model(packaged_base_dir(), config)
    with_peft = PeftModel.from_pretrained(plain, str(folder)).merge_and_unload().eval()
    ours, _, _ = load_model(folder, packaged_base_dir())
    ids = torch.tensor([[101, 7592, 2088, 2003, 2091, 102]])
    mask = torch.ones_like(ids)
    spans = torch.zeros((1, 1, 6))
    spans[0, 0, 1] = 1
    with torch.inference_mode():
        for got, want in zip(with_peft(ids, mask, spans), ours(ids, mask, spans), strict=True):
            assert torch.allclose(got, want, atol=1e-5)


def test_one_pass_reads_each_entity_of_a_headline_its_own_way(default_engine: InferenceEngine) -> None:
    calls = []
    backend = default_engine.backend
    original = backend.logits

    def counted(*args):  # type: ignore[no-untyped-def]
        calls.append(args[0].shape[0])
        return original(*args)

    backend.logits = counted  # type: ignore[method-assign]
    try:
        absent = EntityQuery("$DOGE", ("Dogecoin",))
        (result,) = default_engine.classify([HEADLINE], entities=[[*COINS, absent]])
    finally:
        backend.logits = original  # type: ignore[method-assign]
    assert calls == [1], "one encoder pass for the text, whatever the number of entities"
    assert result.entities is not None
    assert list(result.entities)[:3] == ["$SHIB", "$BTC", "$DOGE"], "asked first, in order; then found ones"
    shib, btc = result.entities["$SHIB"], result.entities["$BTC"]
    assert shib.mentioned and shib.sentiment == "positive" and shib.sentiment_score > 0
    assert btc.mentioned and btc.sentiment == "negative" and btc.sentiment_score < 0
    doge = result.entities["$DOGE"]
    assert not doge.mentioned and (doge.sentiment, doge.probs) == (result.sentiment, result.probs)


def test_entity_labels_do_not_depend_on_the_batch_or_on_the_other_entities(
    default_engine: InferenceEngine,
) -> None:
    texts = [HEADLINE, "Oil slumps while gold rallies", "SHIB holders cheer as Bitcoin slides"]
    asked = [COINS, [EntityQuery("entity:Gold", ("gold",))], COINS]
    together = default_engine.classify(texts, entities=asked)
    shared_batch_size, default_engine.batch_size = default_engine.batch_size, 1  # a session fixture
    try:
        alone = [default_engine.classify([t], entities=[a])[0] for t, a in zip(texts, asked, strict=True)]
        only_btc = default_engine.classify([HEADLINE], entities=[[COINS[1]]])[0]
    finally:
        default_engine.batch_size = shared_batch_size
    for got, want in zip(together, alone, strict=True):
        assert got.entities is not None and want.entities is not None
        for key, label in got.entities.items():
            assert label.sentiment == want.entities[key].sentiment
            assert label.sentiment_score == pytest.approx(want.entities[key].sentiment_score, abs=1e-5)
    assert only_btc.entities is not None and together[0].entities is not None
    assert only_btc.entities["$BTC"].sentiment_score == pytest.approx(
        together[0].entities["$BTC"].sentiment_score, abs=1e-5
    )


def test_a_company_in_a_distress_headline_reads_negative(default_engine: InferenceEngine) -> None:
    """A real headline (``bench/labels/distress_entities.tsv``) the entity head alone reads neutral for
    Celsius Network: the document's negative reading stands for it."""
    (result,) = default_engine.classify(
        ["Celsius Network reveals $1.2bn shortfall in bankruptcy filing"],
        entities=[[EntityQuery("name:Celsius Network", ("Celsius Network",))]],
    )
    assert result.sentiment == "negative" and result.entities is not None
    assert result.entities["name:Celsius Network"].sentiment == "negative"


def test_the_lender_that_froze_withdrawals_reads_negative_where_both_heads_say_neutral(
    default_engine: InferenceEngine,
) -> None:
    """The entities issue's headlines: the document head reads them neutral (its training set labels
    such news neutral), so only the distress words (``model_service.distress``) make them bad news for
    Celsius; the rescuer of the third headline is not the one in trouble but is read so too (weak)."""
    texts = [
        "Celsius Network Hires Restructuring Lawyers After Account Freeze",
        "Shortly Before Halting Withdrawals: Celsius Transferred $320M Worth of Crypto to FTX",
    ]
    asked = [[EntityQuery("name:Celsius", ("Celsius",))]] * 2
    for result in default_engine.classify(texts, entities=asked):
        assert result.entities is not None
        assert result.entities["name:Celsius"].sentiment == "negative"


def test_an_entitys_explanation_names_the_words_behind_its_own_label(engine: InferenceEngine) -> None:
    (result,) = engine.classify([HEADLINE], explain=True, entities=[COINS])
    assert result.entities is not None
    shib = [word for word, _ in result.entities["$SHIB"].explanation or []]
    btc = [word for word, _ in result.entities["$BTC"].explanation or []]
    assert shib and btc and shib != btc
    # each entity's own mention weighs most in its explanation (the document's would be the same for both)
    assert "shib" in [w.lower() for w in shib[:2]], shib
    assert "bitcoin" in [w.lower() for w in btc[:2]], btc
