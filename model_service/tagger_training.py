"""Training the mention tagger on the trained model's frozen encoder.

The encoder is uncased, so a text, its Title Case copy and its capitals copy give the same token
vectors: each is encoded once and the copies differ only in their casing features. Training a head on
frozen vectors takes minutes on a CPU and leaves every other head exactly as it was. The epoch is
chosen on a tenth of the training texts; the BTC, WNUT-17 and FinEntity dev texts only report.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm
from transformers import PreTrainedTokenizerBase

from model_service.mention_data import MentionText, read_mention_corpus, with_headline_copies
from model_service.mentions import Span, casing_features, decode_spans, span_f1, title_case, token_tags
from model_service.model import TopicSentimentModel
from model_service.tagger import MentionTagger, TaggerWeights, tags_at
from model_service.text import model_text_map

IGNORE = -100
CUTS = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # the cuts on P(O) tried: 0.30 to 0.90


@dataclass
class TaggerConfig:
    ner_dir: Path
    finentity_csv: Path | None = None
    epochs: int = 6
    learning_rate: float = 1e-3
    batch_tokens: int = 512
    width: int = 256
    select_fraction: float = 0.1
    max_length: int = 128
    seed: int = 13
    limit: int | None = None  # training texts, for smoke runs
    progress: bool = True


@dataclass
class TaggerReport:
    dev_metrics: dict[str, float]
    epochs: list[dict[str, float]] = field(default_factory=list)
    train_texts: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class TaggedText:
    """A text as the model reads it, its tokens' offsets, and its gold mentions in those characters."""

    read: str
    ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    spans: tuple[Span, ...]


def read_spans(spans: Sequence[Span], origin: Sequence[int]) -> tuple[Span, ...]:
    """Gold spans moved from the text as given to the text the model reads (``model_text_map``)."""
    moved = []
    for span in spans:
        inside = [i for i, o in enumerate(origin) if span.start <= o < span.end]
        if inside:
            moved.append(Span(inside[0], inside[-1] + 1, span.type))
    return tuple(moved)


def tokenized(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[MentionText], max_length: int
) -> list[TaggedText]:
    rows = []
    for text in texts:
        read, origin = model_text_map(text.text)
        encoded = tokenizer(read, truncation=True, max_length=max_length, return_offsets_mapping=True)
        rows.append(
            TaggedText(
                read,
                tuple(encoded["input_ids"]),
                tuple(tuple(o) for o in encoded["offset_mapping"]),
                read_spans(text.spans, origin),
            )
        )
    return rows


@torch.inference_mode()
def token_vectors(
    model: TopicSentimentModel, rows: Sequence[TaggedText], pad_id: int, progress: bool
) -> dict[tuple[int, ...], np.ndarray]:
    """The encoder's last hidden state of every distinct token sequence, float16 ``(tokens, hidden)``."""
    model.eval()
    unique = sorted({row.ids for row in rows}, key=len)
    found: dict[tuple[int, ...], np.ndarray] = {}
    for start in tqdm(range(0, len(unique), 64), desc="token vectors", unit="batch", disable=not progress):
        chunk = unique[start : start + 64]
        width = len(chunk[-1])
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for i, row in enumerate(chunk):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
        for i, row in enumerate(chunk):
            found[row] = hidden[i, : len(row)].astype(np.float16)
    return found


@dataclass
class TokenTable:
    """Every training token: its vector (by row of ``vectors``), casing features and gold tag."""

    vectors: np.ndarray  # (distinct tokens, hidden) float16
    index: np.ndarray  # (tokens,) row of ``vectors``
    features: np.ndarray  # (tokens, features)
    tags: np.ndarray  # (tokens,)


def token_table(rows: Sequence[TaggedText], vectors: dict[tuple[int, ...], np.ndarray]) -> TokenTable:
    blocks, starts, total = [], {}, 0
    for ids, block in vectors.items():
        starts[ids] = total
        blocks.append(block)
        total += len(block)
    index, features, tags = [], [], []
    for row in rows:
        index.append(np.arange(starts[row.ids], starts[row.ids] + len(row.ids)))
        features.append(casing_features(row.read, row.offsets))
        gold = token_tags(row.offsets, row.spans)
        tags.append(
            [IGNORE if end <= start else tag for (start, end), tag in zip(row.offsets, gold, strict=True)]
        )
    return TokenTable(
        np.concatenate(blocks),
        np.concatenate(index),
        np.concatenate(features),
        np.concatenate([np.asarray(t, dtype=np.int64) for t in tags]),
    )


def predicted_spans(
    weights: TaggerWeights, rows: Sequence[TaggedText], vectors: dict[tuple[int, ...], np.ndarray]
) -> list[list[Span]]:
    return [weights.spans(row.read, row.offsets, vectors[row.ids].astype(np.float32)) for row in rows]


def dev_f1(
    weights: TaggerWeights, dev: dict[str, list[TaggedText]], vectors: dict[tuple[int, ...], np.ndarray]
) -> dict[str, float]:
    return {
        f"mention_f1_{name}": span_f1([r.spans for r in rows], predicted_spans(weights, rows, vectors))["f1"]
        for name, rows in dev.items()
    }


def best_cut(
    weights: TaggerWeights, groups: Sequence[Sequence[TaggedText]], vectors: dict[tuple[int, ...], np.ndarray]
) -> tuple[float, float]:
    """The cut on the probability of O (``TaggerWeights.outside_below``) with the best mean span F1
    over ``groups`` (one per corpus and casing, so that no one world decides it), and that mean."""
    scored = []
    for rows in groups:
        logits = [
            weights.logits(vectors[r.ids].astype(np.float32), casing_features(r.read, r.offsets))
            for r in rows
        ]
        scored.append((rows, logits))
    means = {}
    for cut in CUTS:
        f1 = []
        for rows, logits in scored:
            found = [
                decode_spans(r.read, r.offsets, tags_at(x, cut).tolist())
                for r, x in zip(rows, logits, strict=True)
            ]
            f1.append(span_f1([r.spans for r in rows], found)["f1"])
        means[cut] = float(np.mean(f1))
    cut = max(means, key=lambda c: means[c])
    return cut, means[cut]


def _selected(text: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def train_tagger(
    model: TopicSentimentModel, tokenizer: PreTrainedTokenizerBase, config: TaggerConfig
) -> tuple[TaggerWeights, TaggerReport]:
    """A tagger for ``model``'s frozen encoder: trained on the corpus and its headline copies; the epoch
    with the best span F1 on the selection tenth (as written and in Title Case). The cut on O is chosen
    on half of each dev file (``_tune``): the selection tenth shares its names with the training texts,
    so it rewards saying O where a new name is unsure; the dev files' other halves (``_check``) and the
    whole files report."""
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    pad_id = int(tokenizer.pad_token_id or 0)
    corpus = read_mention_corpus(config.ner_dir, config.finentity_csv, config.seed)
    texts = corpus.train[: config.limit] if config.limit else corpus.train
    selection = [t for t in texts if _selected(t.text, config.select_fraction, config.seed)]
    learn = [t for t in texts if not _selected(t.text, config.select_fraction, config.seed)]
    train_rows = tokenized(tokenizer, with_headline_copies(learn), config.max_length)
    dev_texts = {"select": selection, **corpus.dev}
    for name, rows in corpus.dev.items():
        dev_texts[f"{name}_tune"] = [t for t in rows if _selected(t.text, 0.5, config.seed)]
        dev_texts[f"{name}_check"] = [t for t in rows if not _selected(t.text, 0.5, config.seed)]
    dev_texts |= {f"{name}_title": [t.recased(title_case) for t in rows] for name, rows in dev_texts.items()}
    if config.limit:
        dev_texts = {name: rows[: config.limit] for name, rows in dev_texts.items()}
    dev_rows = {name: tokenized(tokenizer, rows, config.max_length) for name, rows in dev_texts.items()}
    every = train_rows + [row for rows in dev_rows.values() for row in rows]
    vectors = token_vectors(model, every, pad_id, config.progress)
    table = token_table(train_rows, vectors)
    hidden = int(model.encoder.config.hidden_size)
    tagger = MentionTagger(hidden, config.width)
    optimizer = torch.optim.AdamW(tagger.parameters(), lr=config.learning_rate, weight_decay=0.01)
    steps_per_epoch = -(-len(table.tags) // config.batch_tokens)
    schedule = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1.0, end_factor=0.02, total_iters=steps_per_epoch * config.epochs
    )
    report = TaggerReport(dev_metrics={}, train_texts=len(train_rows))
    best_score, best = -1.0, TaggerWeights.of(tagger)
    order = np.arange(len(table.tags))
    for epoch in range(1, config.epochs + 1):
        tagger.train()
        rng.shuffle(order)  # type: ignore[arg-type]
        steps = range(0, len(order), config.batch_tokens)
        for start in tqdm(steps, desc=f"tagger epoch {epoch}/{config.epochs}", disable=not config.progress):
            chosen = order[start : start + config.batch_tokens]
            vectors_in = torch.from_numpy(table.vectors[table.index[chosen]].astype(np.float32))
            logits = tagger(vectors_in, torch.from_numpy(table.features[chosen]))
            loss = F.cross_entropy(logits, torch.from_numpy(table.tags[chosen]), ignore_index=IGNORE)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        tagger.eval()
        weights = TaggerWeights.of(tagger)
        metrics = dev_f1(
            weights, {n: r for n, r in dev_rows.items() if n in ("select", "select_title")}, vectors
        )
        metrics["epoch"] = epoch
        report.epochs.append(metrics)
        if config.progress:
            tqdm.write(f"tagger epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        score = (metrics["mention_f1_select"] + metrics["mention_f1_select_title"]) / 2
        if score > best_score:
            best_score, best = score, weights
    tune = [rows for name, rows in dev_rows.items() if "_tune" in name]
    cut, _ = best_cut(best, tune, vectors)
    best = replace(best, outside_below=cut)
    reported = {n: r for n, r in dev_rows.items() if "select" not in n and "_tune" not in n}
    report.dev_metrics = dev_f1(best, reported, vectors)
    report.seconds = time.monotonic() - started
    return best, report


def add_tagger(artifact_dir: Path, base_dir: Path, config: TaggerConfig) -> tuple[str, TaggerReport]:
    """Train a tagger on the artifact's frozen encoder and save it beside the adapter; returns the
    artifact's new version and the report."""
    from transformers import AutoTokenizer

    from model_service.artifact import load_model, save_tagger

    model, artifact, _ = load_model(artifact_dir, base_dir)
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    weights, report = train_tagger(model, tokenizer, replace(config, max_length=artifact.max_length))
    training = {
        "epochs": config.epochs,
        "best_epoch": int(
            max(report.epochs, key=lambda m: m["mention_f1_select"] + m["mention_f1_select_title"])["epoch"]
        ),
        "outside_below": weights.outside_below,
        "learning_rate": config.learning_rate,
        "batch_tokens": config.batch_tokens,
        "width": config.width,
        "seed": config.seed,
        "train_texts": report.train_texts,
        "seconds": round(report.seconds),
        "data": "BTC, WNUT-17 and wikigold (CC BY 4.0), FinEntity training paragraphs (ODC-BY); each "
        "also in Title Case and in capitals",
    }
    return save_tagger(artifact_dir, weights, report.dev_metrics, training), report


def format_tagger_metrics(metrics: dict[str, float]) -> str:
    names = sorted({k.removeprefix("mention_f1_").removesuffix("_title") for k in metrics})
    return "mention span F1 (as written / Title Case): " + ", ".join(
        f"{name} {metrics[f'mention_f1_{name}']:.4f} / {metrics.get(f'mention_f1_{name}_title', 0.0):.4f}"
        for name in names
    )
