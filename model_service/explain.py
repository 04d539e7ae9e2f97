"""Per-document explanations: which words pushed the sentiment decision (gradient x input).

Gradients of the predicted sentiment logit with respect to the input embeddings, times the
embeddings, summed per word (word pieces merged) and normalized to weights that sum to one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from model_service.model import TopicSentimentModel

TOP_TOKENS = 8


def explain_sentiment(
    model: TopicSentimentModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_length: int,
    top_k: int = TOP_TOKENS,
) -> list[list[tuple[str, float]]]:
    """For each text, up to ``top_k`` (word, weight) pairs, strongest first."""
    device = next(model.parameters()).device
    encoded = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    ids = encoded["input_ids"].to(device)
    mask = encoded["attention_mask"].to(device)
    with torch.enable_grad():
        embeddings = model.encoder.get_input_embeddings()(ids).detach().requires_grad_(True)
        _, logits = model(None, mask, inputs_embeds=embeddings)
        chosen = logits.gather(1, logits.argmax(-1, keepdim=True)).sum()
        (gradient,) = torch.autograd.grad(chosen, embeddings)
    saliency = (gradient * embeddings).sum(-1).abs().float().cpu()
    explanations = []
    for row, text in enumerate(texts):
        words: dict[int, list[float]] = {}
        for position, word in enumerate(encoded.word_ids(row)):
            if word is None:
                continue
            start, end = encoded["offset_mapping"][row, position].tolist()
            span = words.setdefault(word, [start, end, 0.0])
            span[1] = end
            span[2] += saliency[row, position].item()
        total = sum(weight for _, _, weight in words.values()) or 1.0
        ranked = sorted(words.values(), key=lambda span: -span[2])[:top_k]
        explanations.append([(text[int(s) : int(e)], round(w / total, 4)) for s, e, w in ranked])
    return explanations
