"""Explanations: which words pushed a sentiment decision (gradient x input).

Gradients of the predicted logit (the document's, or one entity's) with respect to the input
embeddings, times the embeddings, summed per word (word pieces merged) and normalized to weights that
sum to one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from model_service.entity_spans import entity_mask, mention_tokens
from model_service.model import TopicSentimentModel

TOP_TOKENS = 8


def _saliency(
    model: TopicSentimentModel,
    ids: torch.Tensor,
    mask: torch.Tensor,
    pick: Any,
    spans: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(rows, tokens)`` |gradient x embedding| of the logit ``pick`` chooses from the model's output."""
    with torch.enable_grad():
        embeddings = model.encoder.get_input_embeddings()(ids).detach().requires_grad_(True)
        chosen = pick(model(None, mask, spans, inputs_embeds=embeddings))
        (gradient,) = torch.autograd.grad(chosen, embeddings)
    return (gradient * embeddings).sum(-1).abs().float().cpu()


def _top_words(
    encoded: Any, row: int, text: str, saliency: torch.Tensor, top_k: int
) -> list[tuple[str, float]]:
    words: dict[int, list[float]] = {}
    for position, word in enumerate(encoded.word_ids(row)):
        if word is None:
            continue
        start, end = encoded["offset_mapping"][row, position].tolist()
        span = words.setdefault(word, [start, end, 0.0])
        span[1] = end
        span[2] += saliency[position].item()
    total = sum(weight for _, _, weight in words.values()) or 1.0
    ranked = sorted(words.values(), key=lambda span: -span[2])[:top_k]
    return [(text[int(s) : int(e)], round(w / total, 4)) for s, e, w in ranked]


def _encode(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> Any:
    return tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )


def explain_sentiment(
    model: TopicSentimentModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_length: int,
    top_k: int = TOP_TOKENS,
) -> list[list[tuple[str, float]]]:
    """For each text, up to ``top_k`` (word, weight) pairs behind its sentiment, strongest first."""
    device = next(model.parameters()).device
    encoded = _encode(tokenizer, texts, max_length)
    ids, mask = encoded["input_ids"].to(device), encoded["attention_mask"].to(device)

    def predicted(logits: Any) -> torch.Tensor:
        return logits.sentiment.gather(1, logits.sentiment.argmax(-1, keepdim=True)).sum()

    saliency = _saliency(model, ids, mask, predicted)
    return [_top_words(encoded, row, text, saliency[row], top_k) for row, text in enumerate(texts)]


def explain_entities(
    model: TopicSentimentModel,
    tokenizer: PreTrainedTokenizerBase,
    text: str,
    surfaces: Sequence[Sequence[str]],
    max_length: int,
    top_k: int = TOP_TOKENS,
) -> list[list[tuple[str, float]]]:
    """For each entity of one text (given by the ways it is named), the words behind its label.

    One backward pass per entity: each entity's label has its own gradient.
    """
    device = next(model.parameters()).device
    encoded = _encode(tokenizer, [text], max_length)
    ids, mask = encoded["input_ids"].to(device), encoded["attention_mask"].to(device)
    offsets = [tuple(pair) for pair in encoded["offset_mapping"][0].tolist()]
    positions = [mention_tokens(text, offsets, names) for names in surfaces]
    spans = torch.from_numpy(entity_mask([positions], ids.shape[1])).to(device)
    explanations = []
    for j in range(len(positions)):

        def predicted(logits: Any, j: int = j) -> torch.Tensor:
            row = logits.entity[0, j]
            return row[row.argmax()]

        explanations.append(
            _top_words(encoded, 0, text, _saliency(model, ids, mask, predicted, spans)[0], top_k)
        )
    return explanations
