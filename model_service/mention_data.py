"""Texts with gold entity mentions for the tagger: CoNLL files (BTC, WNUT-17, wikigold) and FinEntity.

Each corpus names its types its own way; they are mapped onto ``mentions.TYPES``. A CoNLL text is its
tokens joined by single spaces, so every mention is a character span of that text.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from model_service.entity_data import NEWS_DEV_FRACTION, paragraph_split, read_finentity
from model_service.labels import SENTIMENTS
from model_service.mentions import Span, title_case, upper_case

TYPE_NAMES = {
    "PER": "person",
    "person": "person",
    "ORG": "organisation",
    "corporation": "organisation",
    "group": "organisation",
    "LOC": "place",
    "location": "place",
    "product": "product",
    "MISC": "other",
    "creative-work": "other",
}


@dataclass(frozen=True)
class MentionText:
    text: str
    spans: tuple[Span, ...]

    def recased(self, change: Callable[[str], str]) -> MentionText:
        return MentionText(change(self.text), self.spans)


def read_conll(path: Path) -> list[MentionText]:
    """Texts of a CoNLL file (token, whitespace, tag; a blank line between texts), IOB1 or IOB2."""
    texts: list[MentionText] = []
    tokens: list[tuple[str, str]] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] != "-DOCSTART-":
            tokens.append((parts[0], parts[-1]))
            continue
        if tokens:
            texts.append(_from_tokens(tokens))
            tokens = []
    return texts


def _from_tokens(tokens: Sequence[tuple[str, str]]) -> MentionText:
    text, spans = "", []
    open_span: list = []  # [start, end, kind] of the mention being read
    for token, tag in tokens:
        start = len(text) + (1 if text else 0)
        text = f"{text} {token}" if text else token
        prefix, _, name = tag.partition("-")
        kind = TYPE_NAMES.get(name)
        if kind is None:
            open_span = []
            continue
        continues = open_span and open_span[2] == kind and prefix == "I"
        if continues:
            open_span[1] = len(text)
        else:
            open_span = [start, len(text), kind]
            spans.append(open_span)
    return MentionText(text, tuple(Span(s, e, k) for s, e, k in spans))


def read_finentity_mentions(path: Path) -> list[MentionText]:
    """FinEntity paragraphs with their entities' spans (companies and organisations, as Reuters names
    them); entities its annotators left out are missing, so it teaches recall more than precision."""
    by_text: dict[str, set[Span]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text, start, end = row["text"], int(row["start"]), int(row["end"])
            spans = by_text.setdefault(text, set())
            if text[start:end].strip() == row["entity"].strip():
                spans.add(Span(start, end, "organisation"))
    return [MentionText(text, tuple(sorted(spans, key=lambda s: s.start))) for text, spans in by_text.items()]


def with_headline_copies(texts: Sequence[MentionText]) -> list[MentionText]:
    """Each text as written, in Title Case and in capitals: headlines write names no differently from
    other words, and the tagger has to learn that a capital then says little."""
    return [copy for t in texts for copy in (t, t.recased(title_case), t.recased(upper_case))]


@dataclass(frozen=True)
class MentionCorpus:
    train: list[MentionText]
    dev: dict[str, list[MentionText]]  # by name: btc, wnut17 (their own dev files)


def read_mention_corpus(ner_dir: Path, finentity_csv: Path | None, seed: int = 13) -> MentionCorpus:
    """Training texts (BTC and WNUT-17 train, wikigold, FinEntity's training paragraphs) and the dev
    files of BTC and WNUT-17 and FinEntity's dev paragraphs (the entity-sentiment dev split), which
    nothing trains on."""
    train = read_conll(ner_dir / "btc" / "train.conll") + read_conll(ner_dir / "wnut17" / "train.conll")
    train += read_conll(ner_dir / "wikigold" / "wikigold.conll")
    dev = {
        "btc": read_conll(ner_dir / "btc" / "dev.conll"),
        "wnut17": read_conll(ner_dir / "wnut17" / "dev.conll"),
    }
    if finentity_csv is not None:
        _, dev_paragraphs = paragraph_split(
            read_finentity(finentity_csv, SENTIMENTS), NEWS_DEV_FRACTION, seed
        )
        held = {p.text for p in dev_paragraphs}
        news = read_finentity_mentions(finentity_csv)
        train += [t for t in news if t.text not in held]
        dev["finentity"] = [t for t in news if t.text in held]
    return MentionCorpus(train, dev)


@dataclass(frozen=True)
class LabelledText:
    """A hand-labelled text: its mentions, and the sentiment each is labelled with, where one is."""

    text: str
    spans: tuple[Span, ...]
    sentiments: tuple[str | None, ...]


def read_labelled(
    labels: Path, raw: Sequence[str], clean: Callable[[str], str] = lambda text: text
) -> list[LabelledText]:
    """Hand-labelled texts (``bench/labels``): each line names a row of ``raw`` (checked by the digest
    of its text), and its mentions by their words, in order, each with ``=sentiment`` where labelled.
    Each is found in the cleaned text after the one before, as a whole word; a label that cannot be
    found is an error."""
    texts = []
    for number, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        row, digest, listed = [*line.split("\t"), ""][:3]
        text = raw[int(row)]
        if hashlib.sha256(text.encode()).hexdigest()[:12] != digest:
            raise ValueError(f"{labels}:{number}: row {row} is not the text these labels were made for")
        text = clean(text)
        spans, sentiments, after = [], [], 0
        for item in (w.strip() for w in listed.split(" | ") if w.strip()):
            words, _, sentiment = item.partition("=")
            found = _find_whole(text, words, after)
            if found is None:
                raise ValueError(f"{labels}:{number}: {words!r} is not in {text!r} after {after}")
            if sentiment and sentiment not in SENTIMENTS:
                raise ValueError(f"{labels}:{number}: {sentiment!r} is not one of {', '.join(SENTIMENTS)}")
            spans.append(Span(found, found + len(words)))
            sentiments.append(sentiment or None)
            after = found + len(words)
        texts.append(LabelledText(text, tuple(spans), tuple(sentiments)))
    return texts


def _find_whole(text: str, words: str, after: int) -> int | None:
    start = text.find(words, after)
    while start >= 0:
        end = start + len(words)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return start
        start = text.find(words, start + 1)
    return None
