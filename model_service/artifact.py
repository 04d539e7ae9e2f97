"""The shipped model artifact: a PEFT LoRA adapter (with the heads) on top of the packaged base.

A directory anyone with PEFT can load: ``adapter_config.json`` and ``adapter_model.safetensors``
(PEFT's own files: the LoRA matrices, the trained LayerNorms and biases, the four heads), plus
``tapewatch.json`` (labels, how texts were read, version name, dev metrics, how it was trained).
Loading merges the adapter into the base weights, so inference runs a plain encoder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from peft import LoraConfig, PeftModel, get_peft_model, load_peft_weights, set_peft_model_state_dict
from transformers import logging as hf_logging

from model_service.model import TopicSentimentModel, load_encoder
from model_service.tagger import TAGGER_FILE, TaggerWeights

ARTIFACT_FORMAT = "tapewatch-peft/3"
ADAPTER_FILE = "adapter_model.safetensors"
ADAPTER_CONFIG_FILE = "adapter_config.json"
CONFIG_FILE = "tapewatch.json"
HEADS = ("topic_head", "sentiment_head", "entity_head", "embedding_head")


def packaged_artifact_dir() -> Path:
    """The artifact committed with the package."""
    return Path(__file__).parent / "artifacts" / "minilm-lora"


@dataclass
class ArtifactConfig:
    topics: list[str]
    sentiments: list[str]
    base_model: str
    max_length: int
    strip_urls: bool = False  # the model was trained on model_text() (URLs removed)
    name: str = "tapewatch-minilm-lora"
    format: str = ARTIFACT_FORMAT
    dev_metrics: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)


class ArtifactError(RuntimeError):
    """The artifact is missing, of another format, or does not fit the base encoder."""


def lora_config(
    rank: int, alpha: float, targets: tuple[str, ...], dropout: float, train_biases: bool
) -> LoraConfig:
    """The adapter's recipe: LoRA on the encoder's linear layers; LayerNorms and heads trained whole."""
    return LoraConfig(
        r=rank,
        lora_alpha=int(alpha),
        lora_dropout=dropout,
        target_modules=list(targets),
        bias="lora_only" if train_biases else "none",
        modules_to_save=[*HEADS, "LayerNorm"],
    )


def build_model(
    base_dir: Path, config: ArtifactConfig, attn_implementation: str | None = None
) -> TopicSentimentModel:
    """The base encoder with fresh heads: what an adapter is applied to."""
    hf_logging.set_verbosity_error()  # the base checkpoint's unused pooler is expected
    encoder = load_encoder(base_dir, attn_implementation)
    return TopicSentimentModel(encoder, len(config.topics), len(config.sentiments))


def trainable_model(base_dir: Path, config: ArtifactConfig, adapter: LoraConfig) -> PeftModel:
    """The model to train: base frozen, a fresh adapter, heads, LayerNorms (and biases) trainable."""
    return get_peft_model(build_model(base_dir, config), adapter)


CARD = """---
library_name: peft
license: other
base_model: sentence-transformers/all-MiniLM-L6-v2
tags: [lora, finance, sentiment, entity-sentiment, token-classification]
---
# {name}

A LoRA adapter with four heads (topic, sentiment, sentiment toward each entity, and a sentence embedding
distilled from the base) for all-MiniLM-L6-v2,
trained by `tapewatch train`. Load it with PEFT onto `model_service.model.TopicSentimentModel`; see
tapewatch's `docs/model.md`.

Trained on the Twitter Financial News datasets (MIT License) and on FinEntity: Tang, Yang, Wang,
Zhang, Liu, "FinEntity: Entity-level Sentiment Classification for Financial Texts", EMNLP 2023, data
under the Open Data Commons Attribution License (ODC-BY 1.0, https://opendatacommons.org/licenses/by/1-0/).
Keep this attribution wherever the adapter is distributed.

`mention_tagger.safetensors` (when present): a head that finds entity mentions in the same encoder pass
(`model_service/tagger.py`), trained on the Broad Twitter Corpus (Derczynski, Bontcheva, Roberts,
COLING 2016), WNUT-17 (Derczynski, Nichols, van Erp, Limsopatham, W-NUT 2017) and wikigold
(Balasuriya, Ringland, Nothman, Murphy, Curran, People's Web 2009), all under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/), and on FinEntity's entity spans. Keep these
attributions with it.

Dev metrics: {metrics}
"""


def save_artifact(model: PeftModel, config: ArtifactConfig, out_dir: Path) -> str:
    """Write the artifact; returns its version (name plus a hash of the adapter's weights).

    PEFT's blank model card is replaced by one that carries the training data's attribution.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    write_config(out_dir, config)
    return artifact_version(out_dir, config)


def artifact_version(artifact_dir: Path, config: ArtifactConfig) -> str:
    """The name and a hash of the weights: the adapter's, and the mention tagger's where there is one."""
    digest = hashlib.sha256((artifact_dir / ADAPTER_FILE).read_bytes())
    tagger = artifact_dir / TAGGER_FILE
    if tagger.is_file():
        digest.update(tagger.read_bytes())
    return f"{config.name}@{digest.hexdigest()[:10]}"


def load_tagger(artifact_dir: Path) -> TaggerWeights | None:
    """The artifact's mention tagger; None for an artifact trained before there was one."""
    path = artifact_dir / TAGGER_FILE
    return TaggerWeights.load(path) if path.is_file() else None


def save_tagger(
    artifact_dir: Path, weights: TaggerWeights, metrics: dict[str, float], training: dict[str, Any]
) -> str:
    """Add (or replace) the artifact's mention tagger, with its dev metrics; returns the new version."""
    weights.save(artifact_dir / TAGGER_FILE)
    config = read_config(artifact_dir)
    config.dev_metrics = {
        k: v for k, v in config.dev_metrics.items() if not k.startswith("mention_")
    } | metrics
    config.training["tagger"] = training
    write_config(artifact_dir, config)
    return artifact_version(artifact_dir, config)


def write_config(out_dir: Path, config: ArtifactConfig) -> None:
    """``tapewatch.json`` and the model card, which carries the training data's attribution."""
    (out_dir / CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2) + "\n")
    metrics = ", ".join(f"{key} {value:.4f}" for key, value in config.dev_metrics.items())
    (out_dir / "README.md").write_text(CARD.format(name=config.name, metrics=metrics or "none"))


def read_config(artifact_dir: Path) -> ArtifactConfig:
    needed = (CONFIG_FILE, ADAPTER_CONFIG_FILE, ADAPTER_FILE)
    if not all((artifact_dir / name).is_file() for name in needed):
        raise ArtifactError(f"{artifact_dir} is not a tapewatch model artifact (needs {', '.join(needed)})")
    path = artifact_dir / CONFIG_FILE
    data = json.loads(path.read_text())
    if data.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{path}: format {data.get('format')!r}, this version reads {ARTIFACT_FORMAT!r}")
    return ArtifactConfig(**data)


def load_model(
    artifact_dir: Path, base_dir: Path, attn_implementation: str | None = None
) -> tuple[TopicSentimentModel, ArtifactConfig, str]:
    """The adapter merged into the base: a plain encoder with heads, in eval mode."""
    config = read_config(artifact_dir)
    adapter = LoraConfig.from_pretrained(str(artifact_dir))
    peft_logger = logging.getLogger("peft")
    level = peft_logger.level
    peft_logger.setLevel(logging.ERROR)
    try:
        model = get_peft_model(build_model(base_dir, config, attn_implementation), adapter)
        loaded = set_peft_model_state_dict(model, load_peft_weights(str(artifact_dir), device="cpu"))
    except RuntimeError as exc:
        raise ArtifactError(f"{artifact_dir} does not fit the base encoder at {base_dir}: {exc}") from None
    finally:
        peft_logger.setLevel(level)
    unexpected: list[str] = loaded.unexpected_keys  # type: ignore[attr-defined]  # torch's load result
    if unexpected:
        raise ArtifactError(
            f"{artifact_dir} does not fit the base encoder at {base_dir}: unexpected {sorted(unexpected)[:3]}"
        )
    merged: TopicSentimentModel = model.merge_and_unload()
    merged.requires_grad_(False)
    return merged.eval(), config, artifact_version(artifact_dir, config)
