"""Low-rank adapters (LoRA) on the encoder's linear layers: what training changes, and all we ship.

Only the adapters (plus LayerNorms and heads) are trained and saved; at load time they are merged
into the packaged base weights, so inference runs a plain encoder with no extra cost.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """``base(x) + (x @ A^T @ B^T) * alpha / r`` with the base frozen."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged(self) -> nn.Linear:
        """The base layer with the adapter folded into its weight."""
        with torch.no_grad():
            self.base.weight += (self.lora_b @ self.lora_a) * self.scale
        return self.base


def add_lora(
    module: nn.Module, targets: tuple[str, ...], rank: int, alpha: float, dropout: float = 0.0
) -> int:
    """Wrap every ``nn.Linear`` whose attribute name is in ``targets``; returns how many were wrapped."""
    wrapped = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if name in targets and isinstance(child, nn.Linear):
                setattr(parent, name, LoRALinear(child, rank, alpha, dropout))
                wrapped += 1
    return wrapped


def merge_lora(module: nn.Module) -> None:
    """Replace every LoRALinear by its merged plain Linear (for inference and export)."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, name, child.merged())
