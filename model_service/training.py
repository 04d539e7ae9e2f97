"""Multi-task fine-tuning: LoRA adapters + heads on the two labeled CSVs, best epoch by dev accuracy."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F
from tqdm import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from model_service.artifact import ArtifactConfig, build_model, save_artifact, trainable_state
from model_service.data import Example, read_labeled_csv, stratified_split
from model_service.evaluation import accuracy, macro_f1
from model_service.labels import SENTIMENTS
from model_service.model import TopicSentimentModel
from model_service.text import model_text

TASKS = ("topic", "sentiment")


@dataclass
class TrainConfig:
    sentiment_csv: Path
    topic_csv: Path
    topic_labels: list[str]
    sentiment_code: Callable[[str], str]
    base_dir: Path
    out_dir: Path
    base_model: str = "all-MiniLM-L6-v2"
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-3
    lora_rank: int = 32
    lora_alpha: float = 64.0
    lora_targets: tuple[str, ...] = ("query", "key", "value", "dense")
    lora_dropout: float = 0.1
    train_biases: bool = True
    strip_urls: bool = True
    max_length: int = 64
    dev_fraction: float = 0.1
    seed: int = 13
    limit: int | None = None  # examples per task, for smoke runs
    progress: bool = True


@dataclass
class TrainReport:
    version: str
    dev_metrics: dict[str, float]
    epochs: list[dict[str, float]] = field(default_factory=list)
    train_examples: dict[str, int] = field(default_factory=dict)
    dev_examples: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Batch:
    task: str
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


def collate(task: str, ids: Sequence[list[int]], labels: Sequence[int], pad_id: int) -> Batch:
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return Batch(task, input_ids, mask, torch.tensor(labels, dtype=torch.long))


def length_bucketed_batches(
    task: str, ids: list[list[int]], labels: list[int], batch_size: int, pad_id: int, rng: random.Random
) -> list[Batch]:
    """Shuffle, then sort within chunks of 50 batches by length: little padding, still random order."""
    order = list(range(len(ids)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(ids[i]))
        for b in range(0, len(part), batch_size):
            members = part[b : b + batch_size]
            batches.append(collate(task, [ids[i] for i in members], [labels[i] for i in members], pad_id))
    return batches


def tokenize(
    tokenizer: PreTrainedTokenizerBase, examples: Sequence[Example], max_length: int, strip_urls: bool
) -> list[list[int]]:
    texts = [model_text(e.text) if strip_urls else e.text for e in examples]
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


@torch.inference_mode()
def predict(model: TopicSentimentModel, task: str, ids: list[list[int]], pad_id: int) -> list[int]:
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    predicted = [0] * len(ids)
    for start in range(0, len(order), 64):
        members = order[start : start + 64]
        batch = collate(task, [ids[i] for i in members], [0] * len(members), pad_id)
        topic_logits, sentiment_logits = model(batch.input_ids, batch.attention_mask)
        logits = topic_logits if task == "topic" else sentiment_logits
        for i, label in zip(members, logits.argmax(-1).tolist(), strict=True):
            predicted[i] = label
    return predicted


def train(config: TrainConfig) -> TrainReport:
    """Fine-tune, evaluate on the dev split after every epoch, save the best epoch's artifact."""
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(config.base_dir, local_files_only=True)
    pad_id = int(tokenizer.pad_token_id or 0)
    labels = {"topic": list(config.topic_labels), "sentiment": list(SENTIMENTS)}
    raw = {
        "topic": read_labeled_csv(
            config.topic_csv, labels["topic"], lambda code: config.topic_labels[int(code)]
        ),
        "sentiment": read_labeled_csv(config.sentiment_csv, labels["sentiment"], config.sentiment_code),
    }
    splits = {task: stratified_split(raw[task], config.dev_fraction, config.seed) for task in TASKS}
    if config.limit:
        splits = {
            task: (tr[: config.limit], dev[: max(20, config.limit // 5)])
            for task, (tr, dev) in splits.items()
        }
    train_ids = {t: tokenize(tokenizer, splits[t][0], config.max_length, config.strip_urls) for t in TASKS}
    dev_ids = {t: tokenize(tokenizer, splits[t][1], config.max_length, config.strip_urls) for t in TASKS}

    artifact_config = ArtifactConfig(
        topics=labels["topic"],
        sentiments=labels["sentiment"],
        base_model=config.base_model,
        lora_rank=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_targets=list(config.lora_targets),
        max_length=128,
        strip_urls=config.strip_urls,
        train_biases=config.train_biases,
    )
    model = build_model(config.base_dir, artifact_config, lora_dropout=config.lora_dropout)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=0.01)
    steps_per_epoch = sum(-(-len(train_ids[t]) // config.batch_size) for t in TASKS)
    total = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.06 * total), total)

    report = TrainReport(
        version="",
        dev_metrics={},
        train_examples={t: len(train_ids[t]) for t in TASKS},
        dev_examples={t: len(dev_ids[t]) for t in TASKS},
    )
    best_score, best_state = -1.0, trainable_state(model)
    for epoch in range(1, config.epochs + 1):
        model.train()
        batches = [
            batch
            for task in TASKS
            for batch in length_bucketed_batches(
                task,
                train_ids[task],
                [e.label for e in splits[task][0]],
                config.batch_size,
                pad_id,
                rng,
            )
        ]
        rng.shuffle(batches)
        bar = tqdm(batches, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not config.progress)
        running = 0.0
        for step, batch in enumerate(bar, start=1):
            topic_logits, sentiment_logits = model(batch.input_ids, batch.attention_mask)
            logits = topic_logits if batch.task == "topic" else sentiment_logits
            loss = F.cross_entropy(logits, batch.labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            running += (loss.item() - running) / min(step, 50)
            bar.set_postfix(loss=f"{running:.3f}")
        metrics = evaluate_split(model, dev_ids, splits, labels, pad_id)
        metrics["epoch"] = epoch
        report.epochs.append(metrics)
        if config.progress:
            tqdm.write(format_metrics(f"epoch {epoch} dev", metrics))
        score = (metrics["topic_accuracy"] + metrics["sentiment_accuracy"]) / 2
        if score > best_score:
            best_score, best_state = score, copy.deepcopy(trainable_state(model))

    model.load_state_dict(best_state, strict=False)
    best = max(report.epochs, key=lambda m: m["topic_accuracy"] + m["sentiment_accuracy"])
    report.dev_metrics = {k: v for k, v in best.items() if k != "epoch"}
    report.seconds = time.monotonic() - started
    artifact_config.dev_metrics = report.dev_metrics
    artifact_config.training = {
        "epochs": config.epochs,
        "best_epoch": int(best["epoch"]),
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "max_length": config.max_length,
        "dev_fraction": config.dev_fraction,
        "seed": config.seed,
        "lora_dropout": config.lora_dropout,
        "train_examples": report.train_examples,
        "dev_examples": report.dev_examples,
        "seconds": round(report.seconds),
    }
    report.version = save_artifact(model, artifact_config, config.out_dir)
    return report


def evaluate_split(
    model: TopicSentimentModel,
    dev_ids: dict[str, list[list[int]]],
    splits: dict[str, tuple[list[Example], list[Example]]],
    labels: dict[str, list[str]],
    pad_id: int,
) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for task in TASKS:
        gold = [e.label for e in splits[task][1]]
        predicted = predict(model, task, dev_ids[task], pad_id)
        metrics[f"{task}_accuracy"] = accuracy(gold, predicted)
        metrics[f"{task}_macro_f1"] = macro_f1(gold, predicted, len(labels[task]))
    return metrics


def format_metrics(title: str, metrics: dict[str, float]) -> str:
    return (
        f"{title}: topic accuracy {metrics['topic_accuracy']:.4f} macro-F1 {metrics['topic_macro_f1']:.4f} | "
        f"sentiment accuracy {metrics['sentiment_accuracy']:.4f} macro-F1 {metrics['sentiment_macro_f1']:.4f}"
    )
