"""The inference engine: tokenize, sort by length, batch, run a backend, turn logits into labels.

Backends: PyTorch (fp32 on CUDA when present, else CPU; bf16 on request) and ONNX Runtime on CPU
(fused attention kernels, optionally int8). Every result carries the model version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from common.processes import available_cpus
from common.watched_file import WatchedFile
from model_service.artifact import ArtifactConfig, load_model, load_tagger, packaged_artifact_dir
from model_service.classification import Classification, EntitySentiment
from model_service.distress import distressed
from model_service.entity_spans import EntityQuery, mention_spans, token_positions
from model_service.known_names import KnownNames, packaged_ordinary_words
from model_service.labels import sentiment_score
from model_service.linking import AliasTable, LinkedEntity, link
from model_service.mentions import Span, cashtag_spans, casing_features, decode_spans, text_casing
from model_service.model import DocumentPass, EntityHead, Outputs, TopicSentimentModel, packaged_base_dir
from model_service.name_registry import NameRegistry, NamesError, read_names
from model_service.settings import ModelSettings
from model_service.tagger import TaggerWeights
from model_service.text import model_text, model_text_map
from model_service.user_topics import (
    TopicMatcher,
    TopicSource,
    read_topics,
    reference_headlines,
    unit,
)

log = logging.getLogger(__name__)


def toward_entity(
    entity: dict[str, float], document: dict[str, float], distress: bool = False
) -> dict[str, float]:
    """The sentiment toward an entity: the entity head's, but the document's where the head reads the
    entity neutral in a text that reads negative. The entity head learned from Reuters paragraphs and
    price tweets and reads distress headlines ("halts withdrawals", "files for bankruptcy") neutral for
    the company they name; the document head learned from headlines (``docs/model.md``, distress).

    Where the text tells of distress for the entity (``model_service.distress``) and both heads still
    read it neutral, it reads negative: the confidence in neutral becomes confidence in negative.
    """
    read = entity
    if _best(entity) == "neutral" and _best(document) == "negative":
        read = document
    if distress and _best(read) == "neutral":
        return {**read, "negative": read["neutral"], "neutral": read["negative"]}
    return read


def _best(probs: dict[str, float]) -> str:
    return max(probs, key=probs.__getitem__)


class FoundEntity(NamedTuple):
    """One entity of a text as the engine read it: linked, with its sentiment probabilities."""

    entity: LinkedEntity
    probs: np.ndarray  # (3,)
    mentioned: bool  # named in the text as the model reads it
    mentions: list[tuple[int, int]]  # character offsets in the text as given


class Probabilities(NamedTuple):
    topic: np.ndarray  # (texts, topics)
    sentiment: np.ndarray  # (texts, 3)
    entities: list[list[FoundEntity]]  # per text: those asked about, then those its tagger found
    embedding: np.ndarray  # (texts, hidden), unit length: where the text sits among texts about anything
    tagged: list[list[Span]]  # per text, the tagger's mentions before linking, in the text as given


class Backend(Protocol):
    name: str

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Outputs:
        """The document heads' outputs and the token vectors for a padded batch."""
        ...


class TorchBackend:
    """PyTorch eager, fp32; ``half`` runs bf16 (fp16 on a GPU without bf16), whose rounding makes a
    text's labels depend on its batch."""

    def __init__(self, model: TopicSentimentModel, device: torch.device, half: bool = False) -> None:
        self.device = device
        self.dtype = torch.float32
        if half:
            bf16 = device.type != "cuda" or torch.cuda.is_bf16_supported()
            self.dtype = torch.bfloat16 if bf16 else torch.float16
        self.model = DocumentPass(model).to(device=device, dtype=self.dtype).eval()
        self.name = f"torch-{device.type}-{str(self.dtype).removeprefix('torch.')}"

    @torch.inference_mode()
    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Outputs:
        ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
        mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
        return Outputs(*(t.float().cpu().numpy() for t in self.model(ids, mask)))


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


# Measured on 2 cores with real tweets, texts/s at 8/16/32 per pass: calls of 32 texts 447/381/247,
# calls of 256 560/555/468 (docs/benchmarks.md, "Pipeline throughput and latency").
CPU_FORWARD_BATCH = 8


def single_threaded_numpy() -> None:
    """NumPy's matrix products (the token heads, user topics) on one BLAS thread: they are small, and
    OpenBLAS's threads spin after each, taking the cores ONNX Runtime's threads need (with them spinning,
    the engine ran at 0.41 of its speed without the tagger; on one thread, 0.94)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


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
        tagger: TaggerWeights | None = None,
        aliases: AliasTable | None = None,
    ) -> None:
        self.model = model  # kept for explanations, which need gradients
        self.entity_head = EntityHead.of(model)
        self.tagger = tagger  # None: an artifact without one; only the entities asked about are read
        self.aliases = aliases if aliases is not None else AliasTable.packaged()
        self.known_names = KnownNames(self.aliases.rows)  # every listed name, found in one pass
        self.ordinary = packaged_ordinary_words()
        self.names: WatchedFile[NameRegistry] | None = None  # keys linked across the feed (``load``)
        self.tokenizer = tokenizer
        self.config = config
        self.version = version
        self.backend = backend
        self.max_length = max_length
        self.batch_size = batch_size
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.hidden_size = int(model.encoder.config.hidden_size)

    @classmethod
    def load(cls, settings: ModelSettings | None = None, beside_event_loop: bool = False) -> InferenceEngine:
        """The packaged (or configured) artifact on the best backend for this machine.

        ``beside_event_loop``: a worker or server shares the cores with its event loop, so ONNX Runtime's
        threads sleep between operators unless ``spin_wait`` says otherwise."""
        settings = settings or ModelSettings()
        single_threaded_numpy()
        spin = settings.spin_wait if settings.spin_wait is not None else not beside_event_loop
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
                threads=settings.threads or available_cpus(),
                spin=spin,
            )
        log.info("model %s on %s", version, backend.name)
        forward_batch = settings.forward_batch_size or (32 if device.type == "cuda" else CPU_FORWARD_BATCH)
        tagger = load_tagger(artifact_dir)
        engine = cls(model, tokenizer, config, version, backend, settings.max_length, forward_batch, tagger)
        if settings.names_path is not None:
            engine.names = WatchedFile(
                settings.names_path, read_names, (NamesError,), "names file", settings.names_check_s
            )
        return engine

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

    def probabilities(
        self,
        texts: Sequence[str],
        entities: Sequence[Sequence[EntityQuery]] | None = None,
        find_entities: bool = True,
    ) -> Probabilities:
        """Every head's probabilities in input order, from one encoder pass per text: the document's,
        and those of each entity asked about or found by the tagger in the same pass (none without
        ``find_entities``: an embedding needs no entities)."""
        mapped = [model_text_map(t) if self.config.strip_urls else (t, list(range(len(t)))) for t in texts]
        read = [text for text, _ in mapped]
        encoded = self.tokenizer(
            read, truncation=True, max_length=self.max_length, return_offsets_mapping=True
        )
        ids_of, offsets_of = encoded["input_ids"], encoded["offset_mapping"]
        asked = entities if entities is not None else [[] for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(ids_of[i]))
        topic = np.zeros((len(texts), len(self.config.topics)), dtype=np.float32)
        sentiment = np.zeros((len(texts), len(self.config.sentiments)), dtype=np.float32)
        embedding = np.zeros((len(texts), self.hidden_size), dtype=np.float32)
        found: list[list[FoundEntity]] = [[] for _ in texts]
        mentions: list[list[Span]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            members = order[start : start + self.batch_size]
            ids, mask = self._pad([ids_of[i] for i in members])
            out = self.backend.logits(ids, mask)
            topic[members] = softmax(out.topic)
            sentiment[members] = softmax(out.sentiment)
            embedding[members] = unit(out.embedding)
            if not find_entities:
                continue
            vectors = [out.hidden[row, : len(ids_of[i])] for row, i in enumerate(members)]
            tagged = self._tag([read[i] for i in members], [offsets_of[i] for i in members], vectors)
            for row, i in enumerate(members):
                found[i] = self._entities(
                    read[i], mapped[i][1], offsets_of[i], vectors[row], asked[i], tagged[row]
                )
                origin = mapped[i][1]
                mentions[i] = [Span(origin[s.start], origin[s.end - 1] + 1, s.type) for s in tagged[row]]
        return Probabilities(topic, sentiment, found, embedding, mentions)

    def _tag(
        self, read: Sequence[str], offsets: Sequence[Sequence[tuple[int, int]]], vectors: Sequence[np.ndarray]
    ) -> list[list[Span]]:
        """The tagger's mentions of each text of a batch, with one matrix product for all their tokens."""
        if self.tagger is None:
            return [[] for _ in read]
        features = [casing_features(text, spans) for text, spans in zip(read, offsets, strict=True)]
        tags = self.tagger.tags(np.concatenate(vectors), np.concatenate(features))
        found, start = [], 0
        for text, spans in zip(read, offsets, strict=True):
            found.append(decode_spans(text, spans, tags[start : start + len(spans)].tolist()))
            start += len(spans)
        return found

    def _entities(
        self,
        read: str,
        origin: list[int],
        offsets: Sequence[tuple[int, int]],
        vectors: np.ndarray,
        asked: Sequence[EntityQuery],
        tagged: list[Span],
    ) -> list[FoundEntity]:
        """The entities asked about and those tagged, linked (``model_service/linking.py``), each with
        the entity head's probabilities over its mentions' tokens."""
        requested = [self._asked(read, q) for q in asked]
        capitals = text_casing(read.split())[1] > 0.6
        cashtags = [
            c for c in cashtag_spans(read) if not any(t.start < c.end and c.start < t.end for t in tagged)
        ]
        found = sorted([*tagged, *cashtags], key=lambda s: s.start)
        listed = self.known_names.find(read, capitals)
        linked = link(read, requested, found, self.aliases, capitals, listed, self.ordinary)
        if self.names is not None:
            linked = self.names.current(time.monotonic()).apply(linked)
        tokens = [token_positions(offsets, [(s.start, s.end) for s in e.spans]) for e in linked]
        probs = softmax(self.entity_head.logits(vectors, tokens)) if linked else np.zeros((0, 3))
        return [
            FoundEntity(
                e, probs[j], bool(tokens[j]), [(origin[s.start], origin[s.end - 1] + 1) for s in e.spans]
            )
            for j, e in enumerate(linked)
        ]

    def _asked(self, read: str, query: EntityQuery) -> LinkedEntity:
        """An entity asked about, where ``read`` names it; a symbol the caller gave no name has its
        listed one (``$XOM``: Exxon Mobil), which also names it in the text."""
        known = self.aliases.by_symbol.get(query.key[1:]) if query.key.startswith("$") else None
        name = query.name or (known.name if known else query.display_name)
        surfaces = (*query.surfaces, known.name) if known is not None else query.surfaces
        kind = known.type if known is not None and query.type == "other" else query.type
        return LinkedEntity(
            query.key, name, kind, [Span(a, b, kind) for a, b in mention_spans(read, surfaces)]
        )

    def classify(
        self,
        texts: Sequence[str],
        explain: Sequence[bool] | bool = False,
        entities: Sequence[Sequence[EntityQuery]] | None = None,
        topics: TopicMatcher | None = None,
    ) -> list[Classification]:
        """Labels for each text and its entities (those in ``entities``, then those the tagger finds, each
        under one key); with ``topics``, the user topic each matches (from the same pass); explanations
        (top words, for the document and each entity) for the texts with ``explain`` set."""
        if not texts:
            return []
        topic, sentiment, found, embedding, _ = self.probabilities(texts, entities)
        user_topics = topics.topics(embedding, texts) if topics is not None else [None] * len(texts)
        wanted = [explain] * len(texts) if isinstance(explain, bool) else list(explain)
        explanations: dict[int, list[tuple[str, float]]] = {}
        entity_explanations: dict[int, list[list[tuple[str, float]]]] = {}
        if any(wanted):
            from model_service.explain import explain_entities, explain_sentiment

            indices = [i for i, flag in enumerate(wanted) if flag]
            chosen = self.model_texts([texts[i] for i in indices])
            explanations = dict(
                zip(
                    indices,
                    explain_sentiment(self.model, self.tokenizer, chosen, self.max_length),
                    strict=True,
                )
            )
            for i, text in zip(indices, chosen, strict=True):
                surfaces = [[text[s.start : s.end] for s in f.entity.spans] for f in found[i]]
                if surfaces:
                    entity_explanations[i] = explain_entities(
                        self.model, self.tokenizer, text, surfaces, self.max_length
                    )
        results = []
        for i in range(len(texts)):
            probs = self._probs(sentiment[i])
            best_topic = int(topic[i].argmax())
            notes = entity_explanations.get(i)
            read_entities = {}
            distress = distressed(texts[i], [item.mentions for item in found[i]]) if found[i] else []
            for j, item in enumerate(found[i]):
                entity_probs = (
                    toward_entity(self._probs(item.probs), probs, distress[j]) if item.mentioned else probs
                )
                read_entities[item.entity.key] = EntitySentiment(
                    sentiment=_best(entity_probs),
                    sentiment_score=sentiment_score(entity_probs),
                    probs=entity_probs,
                    mentioned=item.mentioned,
                    explanation=notes[j] if notes and item.mentioned else None,
                    name=item.entity.name,
                    type=item.entity.type,
                    mentions=item.mentions,
                )
            results.append(
                Classification(
                    topic=self.config.topics[best_topic],
                    topic_confidence=float(topic[i, best_topic]),
                    sentiment=_best(probs),
                    sentiment_score=sentiment_score(probs),
                    probs=probs,
                    model_version=self.version,
                    explanation=explanations.get(i),
                    entities=read_entities if entities is not None or self.tagger is not None else None,
                    user_topic=user_topics[i],
                )
            )
        return results

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit sentence embeddings (the embedding head's), one row per text: what user topics compare."""
        if not texts:
            return np.zeros((0, self.hidden_size), dtype=np.float32)
        return self.probabilities(texts, find_entities=False).embedding

    def topic_source(self, path: Path, check_s: float = 5.0) -> TopicSource:
        """The user topics of ``path`` for this engine, followed as the file changes."""
        return TopicSource(path, self.embed, check_s)

    def topic_matcher(self, path: Path) -> TopicMatcher:
        """The user topics of ``path`` as the file is now (for one-off runs: classify, replay, checks;
        a missing or empty file is the caller's error there)."""
        reference = reference_headlines()
        return TopicMatcher.build(read_topics(path), self.embed, self.embed(reference), reference)

    def _probs(self, row: np.ndarray) -> dict[str, float]:
        return {name: float(p) for name, p in zip(self.config.sentiments, row, strict=True)}

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
