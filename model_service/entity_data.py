"""Entity-sentiment examples: FinEntity's Reuters paragraphs, and finance tweets that name one cashtag.

Pure: no model, no torch. FinEntity (ODC-BY 1.0; Tang et al., EMNLP 2023) labels the sentiment toward
each entity of a paragraph. Its dev split is carved **by paragraph**, so no paragraph's entities sit
on both sides, and it takes its share of the paragraphs whose entities disagree (the cases that copying
a document label gets wrong). Where every entity of a paragraph agrees, that label is the paragraph's
derived document label (not a human paragraph label).
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from model_service.data import DataError, Example
from model_service.evaluation import accuracy, macro_f1
from model_service.mentions import cashtag_symbols

NEWS_DEV_FRACTION = 0.25  # of FinEntity's paragraphs: the dev split training and `make bench` read


@dataclass(frozen=True)
class Mention:
    """An entity of a text, as the text writes it, and the label toward it.

    Where it is mentioned is found again in the text the model reads (``entity_spans``), the same
    way at training and inference, so stripped URLs and collapsed spaces never shift a span.
    """

    entity: str
    label: int


@dataclass(frozen=True)
class EntityText:
    text: str
    mentions: tuple[Mention, ...]

    @property
    def agrees(self) -> bool:
        return len({m.label for m in self.mentions}) == 1

    def document_example(self) -> Example | None:
        """The derived document label, where every entity agrees."""
        return Example(self.text, self.mentions[0].label) if self.agrees else None


def read_finentity(path: Path, labels: Sequence[str]) -> list[EntityText]:
    """FinEntity's rows (text, entity, label; offsets unused) grouped into paragraphs, in file order."""
    index = {name: i for i, name in enumerate(labels)}
    paragraphs: dict[str, dict[str, Mention]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "entity", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        for row in reader:
            text, entity = row["text"], row["entity"]
            try:
                label = index[row["label"].strip()]
            except KeyError:
                raise DataError(f"{path} line {reader.line_num}: unknown label {row['label']!r}") from None
            paragraphs.setdefault(text, {}).setdefault(entity, Mention(entity, label))
    if not paragraphs:
        raise DataError(f"{path}: no labeled rows")
    return [EntityText(text, tuple(m.values())) for text, m in paragraphs.items()]


def paragraph_split(
    paragraphs: Sequence[EntityText], dev_fraction: float, seed: int
) -> tuple[list[EntityText], list[EntityText]]:
    """A fixed dev split by paragraph, taken in proportion from agreeing and disagreeing paragraphs.

    The order comes from a hash of each paragraph's text and the seed, so the split does not move
    when rows are added elsewhere in the file.
    """

    def rank(p: EntityText) -> str:
        return hashlib.sha256(f"{seed}|{p.text}".encode()).hexdigest()

    train: list[EntityText] = []
    dev: list[EntityText] = []
    for group in ([p for p in paragraphs if p.agrees], [p for p in paragraphs if not p.agrees]):
        ordered = sorted(group, key=rank)
        n_dev = round(len(ordered) * dev_fraction)
        dev += ordered[:n_dev]
        train += ordered[n_dev:]
    return train, dev


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9])")


def news_sentences(paragraphs: Sequence[EntityText]) -> list[Example]:
    """Every sentence of ``paragraphs`` that names entities which all agree, with their label.

    A sentence that reports a result moving ("X's operating profit rose to ...") carries the
    sentiment of the entity it names; whole paragraphs alone taught the document head to read such
    a sentence neutral. Sentences that name no entity have no label and are left out.
    """
    found = []
    for paragraph in paragraphs:
        for sentence in _SENTENCE_END.split(paragraph.text.strip()):
            labels = {m.label for m in paragraph.mentions if m.entity in sentence}
            if len(labels) == 1:
                found.append(Example(sentence, labels.pop()))
    return found


def single_cashtag_texts(examples: Sequence[Example]) -> list[EntityText]:
    """Tweets that name exactly one cashtag: the post's sentiment is the sentiment toward it."""
    found = []
    for example in examples:
        tags = set(cashtag_symbols(example.text))
        if len(tags) == 1:
            (tag,) = tags
            found.append(EntityText(example.text, (Mention(f"${tag}", example.label),)))
    return found


JOINERS = (". ", "; ", ", ", ", while ", " - ", " | ", " as ")


def contrast_pairs(texts: Sequence[EntityText], seed: int) -> list[EntityText]:
    """Two one-entity texts that disagree, joined into one: the sentiment toward each entity is its
    own text's, so the entity head learns to read its entity's words, not the whole text's mood.

    Every text is the first of one pair; half name their entity bare (``SHIB``, not ``$SHIB``), as
    headlines do. Without these, nearly every training entity agrees with its document, and a
    headline such as "Bitcoin and Ethereum Consolidate Losses, SHIB Surges" gave every coin the
    headline's label.
    """
    rng = random.Random(seed)
    single = [t for t in texts if len(t.mentions) == 1]
    pairs = []
    for first in single:
        others = [
            t
            for t in rng.sample(single, min(len(single), 20))
            if t.mentions[0].label != first.mentions[0].label
            and t.mentions[0].entity != first.mentions[0].entity
        ]
        if not others:
            continue
        parts = [_maybe_bare(first, rng), _maybe_bare(others[0], rng)]
        text = parts[0].text.rstrip(" .") + rng.choice(JOINERS) + parts[1].text
        pairs.append(EntityText(text, parts[0].mentions + parts[1].mentions))
    return pairs


def _maybe_bare(text: EntityText, rng: random.Random) -> EntityText:
    (mention,) = text.mentions
    if not mention.entity.startswith("$") or rng.random() < 0.5:
        return text
    bare = mention.entity[1:]
    pattern = re.compile(rf"(?<![\w$]){re.escape(mention.entity)}(?!\w)", re.I)
    return EntityText(pattern.sub(bare, text.text), (Mention(bare, mention.label),))


def news_metrics(
    dev: Sequence[EntityText], documents: Sequence[int], entities: Sequence[Sequence[int]], n_classes: int
) -> dict[str, float]:
    """Dev metrics from the document label and each entity's label predicted for every paragraph:
    sentiment of paragraphs whose entities agree, entity macro-F1 and accuracy (all, and where a
    paragraph's entities disagree), and the same for copying the document's label to its entities."""
    agreeing = [i for i, p in enumerate(dev) if p.agrees]
    gold, head, copied, disagree = [], [], [], []
    for paragraph, document, labels in zip(dev, documents, entities, strict=True):
        for mention, label in zip(paragraph.mentions, labels, strict=True):
            gold.append(mention.label)
            head.append(label)
            copied.append(document)
            disagree.append(not paragraph.agrees)
    split = [i for i, flag in enumerate(disagree) if flag]

    def among(values: list[int], rows: list[int]) -> list[int]:
        return [values[i] for i in rows]

    gold_documents = [dev[i].mentions[0].label for i in agreeing]
    return {
        "news_sentiment_accuracy": accuracy(gold_documents, among(list(documents), agreeing)),
        "news_sentiment_macro_f1": macro_f1(gold_documents, among(list(documents), agreeing), n_classes),
        "entity_macro_f1": macro_f1(gold, head, n_classes),
        "entity_accuracy": accuracy(gold, head),
        "entity_disagree_accuracy": accuracy(among(gold, split), among(head, split)),
        "copied_entity_macro_f1": macro_f1(gold, copied, n_classes),
        "copied_entity_disagree_accuracy": accuracy(among(gold, split), among(copied, split)),
    }
