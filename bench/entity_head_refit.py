"""Experiment: the entity head refit on the frozen encoder, with FinEntity's sentences.

The entity head is one linear layer over the mean of an entity's token vectors. The shipped head
reads distress news as neutral ("Celsius Network Hires Restructuring Lawyers After Account Freeze"):
it learned from single-cashtag tweets (whose post label is mostly about prices) and from FinEntity's
whole paragraphs, where a distress sentence sits among neutral ones. FinEntity's paragraphs split
into sentences, each entity with its own label where the sentence names it, are closer to a headline.
Refitting the head alone keeps every other head, the encoder and the tagger as they are, so topics,
document sentiment and mentions cannot move; it takes minutes, not a training run.

``python -m bench.entity_head_refit [--limit N] [--write]``: token vectors through the shipped
adapter (PyTorch fp32), variants fit from the shipped head's weights with an L2 pull toward them,
each scored on FinEntity's dev paragraphs and sentences, the single-cashtag dev tweets and the
hand-labelled distress headlines (``bench/labels/distress_entities.tsv``). ``--write`` puts the chosen
variant's head into the packaged adapter (a new artifact version).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import AutoTokenizer

from bench.distress_sentiment import LABELS as DISTRESS_LABELS
from bench.mention_tagger import labelled_texts
from model_service.artifact import load_model, packaged_artifact_dir, read_config
from model_service.data import read_labeled_csv, stratified_split
from model_service.entity_data import (
    EntityText,
    Mention,
    contrast_pairs,
    paragraph_split,
    read_finentity,
    single_cashtag_texts,
)
from model_service.labels import SENTIMENTS
from model_service.model import TopicSentimentModel, packaged_base_dir, span_pool
from model_service.settings import ModelSettings
from model_service.training import IGNORE, TrainConfig, collate
from model_service.training import Encoder as TrainingEncoder
from stream.prepare.preparer import DocumentPreparer
from stream.settings import StreamSettings

BATCH = 32
SENTENCE_END = (". ", "; ", "! ", "? ")


@dataclass
class Features:
    x: np.ndarray  # (entities, hidden)
    y: np.ndarray  # (entities,)


def sentence_entities(paragraphs: Sequence[EntityText]) -> list[EntityText]:
    """Each sentence of a paragraph with the entities it names, each keeping its own label."""
    found = []
    for paragraph in paragraphs:
        text = paragraph.text.strip()
        for end in SENTENCE_END:
            text = text.replace(end, end[0] + "\n")
        for sentence in (s.strip() for s in text.split("\n")):
            named = tuple(m for m in paragraph.mentions if m.entity in sentence)
            if named and len(sentence) > 20:
                found.append(EntityText(sentence, named))
    return found


def distress_texts(data_dir: Path) -> list[EntityText]:
    preparer = DocumentPreparer.from_settings(StreamSettings(), b"bench: pseudonyms only tell authors apart")
    index = {name: i for i, name in enumerate(SENTIMENTS)}
    return [
        EntityText(
            t.text,
            tuple(
                Mention(t.text[s.start : s.end], index[g])
                for s, g in zip(t.spans, t.sentiments, strict=True)
                if g
            ),
        )
        for t in labelled_texts(DISTRESS_LABELS, data_dir, preparer)
    ]


@torch.inference_mode()
def features(
    model: TopicSentimentModel, encoder: TrainingEncoder, texts: Sequence[EntityText], pad_id: int, what: str
) -> Features:
    rows = encoder.entities(texts)
    xs, ys = [], []
    for start in tqdm(range(0, len(rows), BATCH), desc=f"token vectors: {what}", unit="batch"):
        batch = collate("entity", rows[start : start + BATCH], pad_id)
        hidden = model.encoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        assert batch.entity_mask is not None  # an entity batch has one
        pooled = span_pool(hidden, batch.entity_mask)
        keep = batch.labels != IGNORE
        xs.append(pooled[keep].numpy())
        ys.append(batch.labels[keep].numpy())
    return Features(np.concatenate(xs), np.concatenate(ys))


def fit(
    train: Features, weight: torch.Tensor, bias: torch.Tensor, pull: float, epochs: int = 300
) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear head from the shipped one, cross-entropy plus ``pull`` times the squared distance to it."""
    w, b = weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    optimizer = torch.optim.Adam([w, b], lr=1e-2)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ w.T + b, y) + pull * ((w - weight) ** 2).sum()
        loss.backward()
        optimizer.step()
    return w.detach(), b.detach()


def scores(feats: Features, w: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    predicted = (torch.from_numpy(feats.x) @ w.T + b).argmax(-1).numpy()
    accuracy = float((predicted == feats.y).mean())
    f1s = []
    for label in range(len(SENTIMENTS)):
        tp = ((predicted == label) & (feats.y == label)).sum()
        p, r = tp / max((predicted == label).sum(), 1), tp / max((feats.y == label).sum(), 1)
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    negative = SENTIMENTS.index("negative")
    recall = float(
        ((predicted == negative) & (feats.y == negative)).sum() / max((feats.y == negative).sum(), 1)
    )
    return {"accuracy": accuracy, "macro_f1": float(np.mean(f1s)), "negative_recall": recall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="training texts per source (a sample run)")
    parser.add_argument("--write", help="write this variant's head into the packaged adapter")
    args = parser.parse_args()
    settings = ModelSettings.load()
    data_dir = settings.training_data_dir
    defaults = TrainConfig(Path(), Path(), [], str, Path(), Path())  # the shipped recipe's splits
    artifact_dir = packaged_artifact_dir()
    model, config, version = load_model(artifact_dir, packaged_base_dir())
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(packaged_base_dir(), local_files_only=True)
    encoder = TrainingEncoder(tokenizer, config.max_length, config.strip_urls)
    pad_id = int(tokenizer.pad_token_id or 0)
    codes = {"0": "negative", "1": "positive", "2": "neutral"}
    sentiment = read_labeled_csv(data_dir / "sentiment_train.csv", list(SENTIMENTS), codes.__getitem__)
    tweets_train, tweets_dev = stratified_split(sentiment, defaults.dev_fraction, defaults.seed)
    news_train, news_dev = paragraph_split(
        read_finentity(data_dir / "news" / "finentity" / "train.csv", SENTIMENTS),
        defaults.news_dev_fraction,
        defaults.seed,
    )
    tweets = single_cashtag_texts(tweets_train)
    sources = {
        "tweets": tweets + contrast_pairs(tweets, defaults.seed),
        "paragraphs": news_train * defaults.news_repeats,
        "sentences": sentence_entities(news_train),
    }
    if args.limit:
        rng = random.Random(0)
        sources = {k: rng.sample(v, min(args.limit, len(v))) for k, v in sources.items()}
    train = {k: features(model, encoder, v, pad_id, k) for k, v in sources.items()}
    dev = {
        "news paragraphs": features(model, encoder, news_dev, pad_id, "news dev"),
        "news sentences": features(model, encoder, sentence_entities(news_dev), pad_id, "news dev sentences"),
        "cashtag tweets": features(model, encoder, single_cashtag_texts(tweets_dev), pad_id, "tweets dev"),
        "distress headlines": features(model, encoder, distress_texts(data_dir), pad_id, "distress"),
    }
    weight, bias = model.entity_head.weight.detach().clone(), model.entity_head.bias.detach().clone()

    def joined(*names: str) -> Features:
        return Features(
            np.concatenate([train[n].x for n in names]), np.concatenate([train[n].y for n in names])
        )

    variants = {"shipped head": (weight, bias)}
    for pull in (1e-3, 1e-4):
        variants[f"refit, shipped data, pull {pull:g}"] = fit(
            joined("tweets", "paragraphs"), weight, bias, pull
        )
        variants[f"refit + sentences, pull {pull:g}"] = fit(
            joined("tweets", "paragraphs", "sentences"), weight, bias, pull
        )
        sentences_twice = joined("tweets", "paragraphs", "sentences", "sentences")
        variants[f"refit + sentences x2, pull {pull:g}"] = fit(sentences_twice, weight, bias, pull)
    print(f"\n{version}; training entities: " + ", ".join(f"{k} {len(v.y):,}" for k, v in train.items()))
    print("| variant | " + " | ".join(f"{d}: acc / macro-F1 / neg. recall" for d in dev) + " |")
    print("| --- |" + " ---: |" * len(dev))
    for name, (w, b) in variants.items():
        cells = [
            f"{s['accuracy']:.3f} / {s['macro_f1']:.3f} / {s['negative_recall']:.3f}"
            for s in (scores(f, w, b) for f in dev.values())
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("dev entities: " + ", ".join(f"{k} {len(v.y):,}" for k, v in dev.items()))
    if args.write:
        w, b = variants[args.write]
        write_head(artifact_dir, w, b)


def write_head(artifact_dir: Path, weight: torch.Tensor, bias: torch.Tensor) -> None:
    from safetensors.torch import load_file, save_file

    from model_service.artifact import ADAPTER_FILE, artifact_version

    path = artifact_dir / ADAPTER_FILE
    tensors = load_file(str(path))
    names = [k for k in tensors if "entity_head" in k]
    for name in names:
        tensors[name] = (weight if name.endswith("weight") else bias).to(tensors[name].dtype).contiguous()
    save_file(tensors, str(path), metadata={"format": "pt"})
    print(f"wrote {', '.join(names)}: {artifact_version(artifact_dir, read_config(artifact_dir))}")


if __name__ == "__main__":
    main()
