"""The shipped model artifact: LoRA adapters, LayerNorms and heads, on top of the packaged base.

A directory with ``config.json`` (labels, adapter shape, version, dev metrics) and
``adapter.safetensors`` (a few MB). Loading merges the adapters into the base weights.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import logging as hf_logging

from model_service.lora import add_lora, merge_lora
from model_service.model import TopicSentimentModel, load_encoder

ARTIFACT_FORMAT = "tapewatch-adapter/1"
ADAPTER_FILE = "adapter.safetensors"
CONFIG_FILE = "config.json"


def packaged_artifact_dir() -> Path:
    """The artifact committed with the package."""
    return Path(__file__).parent / "artifacts" / "minilm-lora"


@dataclass
class ArtifactConfig:
    topics: list[str]
    sentiments: list[str]
    base_model: str
    lora_rank: int
    lora_alpha: float
    lora_targets: list[str]
    max_length: int
    strip_urls: bool = False  # the model was trained on model_text() (URLs removed)
    train_biases: bool = False
    name: str = "tapewatch-minilm-lora"
    format: str = ARTIFACT_FORMAT
    dev_metrics: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)


class ArtifactError(RuntimeError):
    """The artifact is missing, of another format, or does not fit the base encoder."""


def trainable_state(model: TopicSentimentModel) -> dict[str, torch.Tensor]:
    """What training changed: every parameter with requires_grad (adapters, LayerNorms, heads)."""
    return {name: p.detach().contiguous().clone() for name, p in model.named_parameters() if p.requires_grad}


def save_artifact(model: TopicSentimentModel, config: ArtifactConfig, out_dir: Path) -> str:
    """Write the artifact; returns its version (name plus a hash of the weights)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(trainable_state(model), str(out_dir / ADAPTER_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2) + "\n")
    return artifact_version(out_dir, config)


def artifact_version(artifact_dir: Path, config: ArtifactConfig) -> str:
    digest = hashlib.sha256((artifact_dir / ADAPTER_FILE).read_bytes()).hexdigest()[:10]
    return f"{config.name}@{digest}"


def read_config(artifact_dir: Path) -> ArtifactConfig:
    path = artifact_dir / CONFIG_FILE
    if not path.is_file() or not (artifact_dir / ADAPTER_FILE).is_file():
        raise ArtifactError(
            f"{artifact_dir} is not a tapewatch model artifact (needs {CONFIG_FILE} and {ADAPTER_FILE})"
        )
    data = json.loads(path.read_text())
    if data.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{path}: format {data.get('format')!r}, this version reads {ARTIFACT_FORMAT!r}")
    return ArtifactConfig(**data)


def build_model(
    base_dir: Path, config: ArtifactConfig, attn_implementation: str | None = None, lora_dropout: float = 0.0
) -> TopicSentimentModel:
    """The trainable model: base encoder (frozen) with fresh adapters; LayerNorms (and biases) trainable."""
    hf_logging.set_verbosity_error()  # the base checkpoint's unused pooler is expected
    encoder = load_encoder(base_dir, attn_implementation)
    model = TopicSentimentModel(encoder, len(config.topics), len(config.sentiments))
    for name, parameter in model.encoder.named_parameters():
        parameter.requires_grad_("LayerNorm" in name)
    add_lora(model.encoder, tuple(config.lora_targets), config.lora_rank, config.lora_alpha, lora_dropout)
    if config.train_biases:
        for name, parameter in model.encoder.named_parameters():
            if name.endswith(".bias"):
                parameter.requires_grad_(True)
    return model


def load_model(
    artifact_dir: Path, base_dir: Path, attn_implementation: str | None = None
) -> tuple[TopicSentimentModel, ArtifactConfig, str]:
    """The artifact merged into the base: a plain encoder with heads, in eval mode."""
    config = read_config(artifact_dir)
    model = build_model(base_dir, config, attn_implementation)
    state = load_file(str(artifact_dir / ADAPTER_FILE))
    expected = set(trainable_state(model))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state))[:3], sorted(set(state) - expected)[:3]
        raise ArtifactError(
            f"{artifact_dir} does not fit the base encoder at {base_dir}: "
            f"missing {missing}, unexpected {extra}"
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ArtifactError(f"{artifact_dir} does not fit the base encoder at {base_dir}: {exc}") from None
    merge_lora(model)
    model.requires_grad_(False)
    return model.eval(), config, artifact_version(artifact_dir, config)
