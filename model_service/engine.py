"""The inference engine: tokenize, sort by length, batch, run a backend, turn logits into labels.

Backends: PyTorch (fp32 on CUDA when present, else CPU; bf16 on request) and ONNX Runtime on CPU
(fused attention kernels, optionally int8). Every result carries the model version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from model_service.artifact import ArtifactConfig, load_model, packaged_artifact_dir
from model_service.labels import sentiment_score
from model_service.model import TopicSentimentModel, packaged_base_dir
from model_service.settings import ModelSettings
from model_service.text import model_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Classification:
    """One document's labels: what the stream turns into a ScoredDocument."""

    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_score: float
    probs: dict[str, float]  # sentiment probabilities
    model_version: str
    explanation: list[tuple[str, float]] | None = None

    def labels(self) -> dict[str, Any]:
        """Every field but the explanation, for records and API answers that carry the labels."""
        return {k: v for k, v in asdict(self).items() if k != "explanation"}


class Backend(Protocol):
    name: str

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class TorchBackend:
    """PyTorch eager, fp32; ``half`` runs bf16 (fp16 on a GPU without bf16), whose rounding makes a
    text's labels depend on its batch."""

    def __init__(self, model: TopicSentimentModel, device: torch.device, half: bool = False) -> None:
        self.device = device
        self.dtype = torch.float32
        if half:
            bf16 = device.type != "cuda" or torch.cuda.is_bf16_supported()
            self.dtype = torch.bfloat16 if bf16 else torch.float16
        self.model = model.to(device=device, dtype=self.dtype).eval()
        self.name = f"torch-{device.type}-{str(self.dtype).removeprefix('torch.')}"

    @torch.inference_mode()
    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
        mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
        topic, sentiment = self.model(ids, mask)
        return topic.float().cpu().numpy(), sentiment.float().cpu().numpy()


def resolve_device(setting: str) -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("TAPEWATCH_MODEL_DEVICE=cuda but no CUDA device is available")
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


# Backends whose labels for a text depend on the texts batched with it: never the default.
BATCH_DEPENDENT = ("torch-bf16", "onnx-int8-per-batch")


def resolve_backend(setting: str, device: torch.device) -> str:
    """``auto``: PyTorch fp32 on CUDA, ONNX Runtime int8 with a scale per token on CPU: the fastest
    measured paths that label a text the same in any batch."""
    if setting != "auto":
        return setting
    return "torch" if device.type == "cuda" else "onnx-int8"


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class InferenceEngine:
    """Labels texts in length-sorted batches with one backend; thread-compatible, not thread-safe."""

    def __init__(
        self,
        model: TopicSentimentModel,
        tokenizer: PreTrainedTokenizerBase,
        config: ArtifactConfig,
        version: str,
        backend: Backend,
        max_length: int = 128,
        batch_size: int = 32,
    ) -> None:
        self.model = model  # kept for explanations, which need gradients
        self.tokenizer = tokenizer
        self.config = config
        self.version = version
        self.backend = backend
        self.max_length = max_length
        self.batch_size = batch_size
        self.pad_id = int(tokenizer.pad_token_id or 0)

    @classmethod
    def load(cls, settings: ModelSettings | None = None) -> InferenceEngine:
        """The packaged (or configured) artifact on the best backend for this machine."""
        settings = settings or ModelSettings()
        if settings.threads:
            torch.set_num_threads(settings.threads)
        base_dir = settings.base_dir or packaged_base_dir()
        artifact_dir = settings.artifact_dir or packaged_artifact_dir()
        device = resolve_device(settings.device)
        backend_name = resolve_backend(settings.backend, device)
        tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
        model, config, version = load_model(artifact_dir, base_dir)
        if backend_name.startswith("torch"):
            backend: Backend = TorchBackend(model, device, half=backend_name == "torch-bf16")
        else:
            from model_service.onnx_backend import OnnxBackend

            backend = OnnxBackend.for_artifact(
                artifact_dir,
                base_dir,
                version,
                settings.cache_dir,
                backend=backend_name,
                threads=settings.threads or os.cpu_count() or 1,
            )
        log.info("model %s on %s", version, backend.name)
        return cls(model, tokenizer, config, version, backend, settings.max_length, settings.max_batch_size)

    def model_texts(self, texts: Sequence[str]) -> list[str]:
        """The texts as the model was trained to read them."""
        return [model_text(t) for t in texts] if self.config.strip_urls else list(texts)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(self.model_texts(texts), truncation=True, max_length=self.max_length)[
            "input_ids"
        ]

    def _pad(self, rows: Sequence[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Topic and sentiment probabilities, ``(n, topics)`` and ``(n, 3)``, in input order."""
        encoded = self.encode(texts)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        topic = np.zeros((len(texts), len(self.config.topics)), dtype=np.float32)
        sentiment = np.zeros((len(texts), len(self.config.sentiments)), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            members = order[start : start + self.batch_size]
            topic_logits, sentiment_logits = self.backend.logits(*self._pad([encoded[i] for i in members]))
            topic[members] = softmax(topic_logits)
            sentiment[members] = softmax(sentiment_logits)
        return topic, sentiment

    def classify(self, texts: Sequence[str], explain: Sequence[bool] | bool = False) -> list[Classification]:
        """Labels for each text; explanations (top tokens) for those with ``explain`` set."""
        if not texts:
            return []
        topic, sentiment = self.probabilities(texts)
        wanted = [explain] * len(texts) if isinstance(explain, bool) else list(explain)
        explanations: dict[int, list[tuple[str, float]]] = {}
        if any(wanted):
            from model_service.explain import explain_sentiment

            indices = [i for i, flag in enumerate(wanted) if flag]
            chosen = self.model_texts([texts[i] for i in indices])
            found = explain_sentiment(self.model, self.tokenizer, chosen, self.max_length)
            explanations = dict(zip(indices, found, strict=True))
        results = []
        for i in range(len(texts)):
            probs = {name: float(p) for name, p in zip(self.config.sentiments, sentiment[i], strict=True)}
            best_topic = int(topic[i].argmax())
            results.append(
                Classification(
                    topic=self.config.topics[best_topic],
                    topic_confidence=float(topic[i, best_topic]),
                    sentiment=max(probs, key=probs.__getitem__),
                    sentiment_score=sentiment_score(probs),
                    probs=probs,
                    model_version=self.version,
                    explanation=explanations.get(i),
                )
            )
        return results

    def describe(self) -> dict[str, object]:
        """What /v1/model reports."""
        return {
            "version": self.version,
            "backend": self.backend.name,
            "base_model": self.config.base_model,
            "topics": self.config.topics,
            "sentiments": self.config.sentiments,
            "max_length": self.max_length,
            "dev_metrics": self.config.dev_metrics,
        }
