"""The mention tagger: a head on each token's encoder vector and its casing features, in the same pass.

It reads the token vectors the document's encoder pass already made, so finding who a text is about
costs a small matrix product per batch, not a second model. Trained after the rest of the model, on
its frozen encoder (``model_service/tagger_training.py``), and shipped beside the adapter as
``mention_tagger.safetensors``; inference runs it in NumPy on whichever backend made the vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model_service.mentions import FEATURES, OUTSIDE, TAGS, Span, casing_features, decode_spans

TAGGER_FILE = "mention_tagger.safetensors"
DEFAULT_OUTSIDE_BELOW = 0.5


class MentionTagger(nn.Module):
    """Token vector and casing features -> BIO tag logits: one hidden layer, ReLU."""

    def __init__(self, hidden: int, width: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(hidden + len(FEATURES), width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(width, len(TAGS)),
        )

    def forward(self, vectors: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([vectors, features], dim=-1))


@dataclass(frozen=True)
class TaggerWeights:
    """The tagger's weights as NumPy arrays: what inference multiplies by. A token is part of a mention
    when the chance that it is not (tag O) is under ``outside_below``: trained on few mentions, the
    tagger says O too readily, so the cut is chosen on held-out texts, not left at the argmax."""

    w1: np.ndarray  # (hidden + features, width)
    b1: np.ndarray
    w2: np.ndarray  # (width, tags)
    b2: np.ndarray
    outside_below: float = DEFAULT_OUTSIDE_BELOW

    @classmethod
    def of(cls, tagger: MentionTagger, outside_below: float = DEFAULT_OUTSIDE_BELOW) -> TaggerWeights:
        first, second = tagger.layers[1], tagger.layers[4]
        assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)
        return cls(
            first.weight.detach().T.numpy().copy(),
            first.bias.detach().numpy().copy(),
            second.weight.detach().T.numpy().copy(),
            second.bias.detach().numpy().copy(),
            outside_below,
        )

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        cut = np.asarray([self.outside_below], dtype=np.float32)
        save_file(
            {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2, "outside_below": cut}, str(path)
        )

    @classmethod
    def load(cls, path: Path) -> TaggerWeights:
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
        cut = float(tensors["outside_below"][0]) if "outside_below" in tensors else DEFAULT_OUTSIDE_BELOW
        return cls(tensors["w1"], tensors["b1"], tensors["w2"], tensors["b2"], cut)

    def logits(self, vectors: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``(tokens, tags)`` for ``(tokens, hidden)`` vectors and their ``(tokens, features)``."""
        inner = np.concatenate([vectors, features], axis=-1) @ self.w1 + self.b1
        return np.maximum(inner, 0.0) @ self.w2 + self.b2

    def tags(self, vectors: np.ndarray, features: np.ndarray) -> np.ndarray:
        """``(tokens,)`` tag indices: a token's likeliest mention tag when O is less likely than
        ``outside_below``, else O."""
        return tags_at(self.logits(vectors, features), self.outside_below)

    def spans(self, text: str, offsets: Sequence[tuple[int, int]], vectors: np.ndarray) -> list[Span]:
        """The mentions of one text, from its tokens' vectors (``(tokens, hidden)``, padding cut off)."""
        tags = self.tags(vectors[: len(offsets)], casing_features(text, offsets))
        return decode_spans(text, offsets, tags.tolist())


def tags_at(logits: np.ndarray, outside_below: float) -> np.ndarray:
    """Tag indices from ``(tokens, tags)`` logits with the cut on the probability of O."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    outside = shifted[:, OUTSIDE] / shifted.sum(axis=-1)
    shifted[:, OUTSIDE] = -1.0
    mention = shifted.argmax(axis=-1)
    return np.where(outside < outside_below, mention, OUTSIDE)
