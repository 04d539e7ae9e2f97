"""Who a text is about: the mention tagger's spans against gold, and the ``name:`` keys of a real feed.

Spans are read through the engine as a worker runs it (its backend, its batching), from the texts as
written and in Title Case (``mentions.title_case``: how headlines are written), on dev files nothing
trained on: BTC and WNUT-17 (tweets and comments; ``../shared/data/ner``) and FinEntity's dev
paragraphs (Reuters). Keys: every tweet of the real stocknet feed, cleaned as a worker cleans it, asked
about its tickers and watched entities as a worker asks (``EntityExtractor.queries``), and keyed by the
engine; the most frequent ``name:`` keys are listed for a person to judge.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from model_service.engine import InferenceEngine
from model_service.mention_data import LabelledText, MentionText, read_labelled, read_mention_corpus
from model_service.mentions import Span, span_f1, title_case
from model_service.settings import ModelSettings
from stream.prepare.documents import document_from_fields
from stream.prepare.entities import EntityExtractor
from stream.prepare.preparer import DocumentPreparer
from stream.settings import StreamSettings

BATCH = 256
TOP = 50
COST_TEXTS = 3000
LABELLED_HEADLINES = Path(__file__).parent / "labels" / "headline_mentions.tsv"
LABELLED_AT = "2022-07-15T12:00:00Z"  # when the labelled headlines were written, near enough


@dataclass
class MentionReport:
    backend: str
    version: str
    f1: dict[str, dict[str, float]]  # by dev set (and "_title"): precision, recall, f1
    name_keys: list[tuple[str, int]] = field(default_factory=list)  # the most frequent name: keys
    distinct_names: int = 0
    keyed_documents: int = 0
    tweets: int = 0
    keys_per_second: float = 0.0
    tagger_cost: dict[str, float] = field(default_factory=dict)  # texts/s with and without the tagger


def engine_spans(
    engine: InferenceEngine, texts: list[MentionText], extractor: EntityExtractor | None = None
) -> tuple[list[list[Span]], list[list[Span]]]:
    """For each text, the tagger's mentions, and the mentions of the entities the engine keys after
    linking (no handle, no lower-case name, no company suffix alone), as character offsets of the text;
    with ``extractor``, each text asked about its cashtags and watched names as a worker asks."""
    tagged: list[list[Span]] = []
    keyed: list[list[Span]] = []
    for start in range(0, len(texts), BATCH):
        chunk = [t.text for t in texts[start : start + BATCH]]
        asked = [extractor.asked(text) for text in chunk] if extractor is not None else None
        read = engine.probabilities(chunk, asked)
        tagged.extend(read.tagged)
        keyed.extend([Span(a, b) for e in row for a, b in e.mentions] for row in read.entities)
    return tagged, keyed


def without_handles(text: MentionText) -> list[Span]:
    """The gold spans less handles (BTC marks ``@`` and the account name after it as entities): a handle
    is personal data, never a key, so the engine drops it by design."""
    return [
        s
        for s in text.spans
        if text.text[s.start : s.end] != "@" and not text.text[: s.start].rstrip().endswith("@")
    ]


def labelled_texts(labels: Path, data_dir: Path, preparer: DocumentPreparer) -> list[LabelledText]:
    """Headlines we labelled by hand (``bench/labels``), cleaned as a worker cleans them."""

    def clean(title: str) -> str:
        fields = {
            "id": "labelled",
            "source": "news",
            "kind": "news",
            "published_at": LABELLED_AT,
            "title": title,
        }
        return preparer.clean(document_from_fields(fields).dumps()).text

    raw = pd.read_csv(data_dir / "topic_train.csv")["text"].tolist()
    return read_labelled(labels, raw, clean)


def labelled_headlines(data_dir: Path, preparer: DocumentPreparer) -> list[MentionText]:
    """The headlines labelled with who they are about."""
    return [MentionText(t.text, t.spans) for t in labelled_texts(LABELLED_HEADLINES, data_dir, preparer)]


def read_tweets(data_dir: Path) -> list[dict[str, object]]:
    with gzip.open(data_dir / "real" / "stocknet_tweets.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def tagger_cost(engine: InferenceEngine, texts: list[str]) -> dict[str, float]:
    """Texts/s of ``engine.classify`` with the tagger and linking, and with the tagger switched off (the
    pass, the document heads and the entities asked about only), alternating, best of three each."""
    tagger = engine.tagger
    best = {"with": 0.0, "without": 0.0}
    try:
        for _ in range(3):
            for label, weights in (("with", tagger), ("without", None)):
                engine.tagger = weights
                started = time.perf_counter()
                for start in range(0, len(texts), BATCH):
                    engine.classify(texts[start : start + BATCH])
                best[label] = max(best[label], len(texts) / (time.perf_counter() - started))
    finally:
        engine.tagger = tagger
    return best


def run(data_dir: Path | None = None, tweets: int | None = None) -> MentionReport:
    settings = ModelSettings.load()
    data_dir = data_dir or settings.training_data_dir
    engine = InferenceEngine.load(settings)
    corpus = read_mention_corpus(data_dir / "ner", data_dir / "news" / "finentity" / "train.csv")
    report = MentionReport(engine.backend.name, engine.version, {})
    stream = StreamSettings()
    preparer = DocumentPreparer.from_settings(stream, b"bench: pseudonyms only tell authors apart")
    extractor = EntityExtractor.from_settings(stream)
    sets = {**corpus.dev, "headlines": labelled_headlines(data_dir, preparer)}
    for name, texts in sets.items():
        for label, shown in ((name, texts), (f"{name}_title", [t.recased(title_case) for t in texts])):
            tagged, keyed = engine_spans(engine, shown, extractor)
            report.f1[label] = span_f1([t.spans for t in shown], tagged)
            report.f1[f"{label}_keyed"] = span_f1([without_handles(t) for t in shown], keyed)
    rows = read_tweets(data_dir)[:tweets]
    documents = [preparer.clean(document_from_fields(row).dumps()) for row in rows]
    names: Counter[str] = Counter()
    started = time.perf_counter()
    for start in tqdm(range(0, len(documents), BATCH), desc="keying real tweets", unit="batch"):
        chunk = documents[start : start + BATCH]
        results = engine.classify([d.text for d in chunk], entities=[extractor.queries(d) for d in chunk])
        for result in results:
            keys = list(result.entities or {})[: stream.max_entity_keys]
            names.update(k for k in keys if k.startswith("name:"))
            report.keyed_documents += any(k.startswith("name:") for k in keys)
    report.keys_per_second = len(documents) / (time.perf_counter() - started)
    report.tagger_cost = tagger_cost(engine, [d.text for d in documents[:COST_TEXTS]])
    report.tweets = len(documents)
    report.distinct_names = len(names)
    report.name_keys = names.most_common(TOP)
    return report


def markdown(report: MentionReport) -> str:
    lines = [
        f"Measured with `{report.version}` on `{report.backend}` (`bench/mention_tagger.py`). Exact-span "
        "F1, types ignored: a key needs the right words. Title Case: every word capitalized but short "
        "function words, as headlines write them. The capitalization rule the tagger replaced "
        "(`names_in`, removed with it) scored, on the same files: BTC 0.283 / Title Case 0.162, "
        "WNUT-17 0.413 / 0.160 (one-off script on the commit before).",
        "",
        "| dev set | precision | recall | F1 | Title Case: precision | recall | F1 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for suffix, what in (
        ("", "the tagger's mentions"),
        ("_keyed", "the keyed entities' mentions, gold handles left out"),
    ):
        for name in ("headlines", "btc", "wnut17", "finentity"):
            if f"{name}{suffix}" not in report.f1:
                continue
            shown = f"{name}: {what}"
            plain, title = report.f1[f"{name}{suffix}"], report.f1[f"{name}_title{suffix}"]
            cells = [f"{m[k]:.3f}" for m in (plain, title) for k in ("precision", "recall", "f1")]
            lines.append(f"| {shown} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Real feed: {report.tweets:,} stocknet tweets cleaned as a worker cleans them, keyed at "
        f"{report.keys_per_second:.0f} tweets/s; {report.keyed_documents:,} got a `name:` key, "
        f"{report.distinct_names:,} distinct `name:` keys. The {len(report.name_keys)} most frequent:",
        "",
        ", ".join(f"{key.removeprefix('name:')} ({count})" for key, count in report.name_keys),
        "",
        f"Cost of the tagger and linking in the engine ({COST_TEXTS:,} of those tweets, batches of {BATCH}, "
        f"best of three): {report.tagger_cost.get('with', 0):.0f} texts/s with, "
        f"{report.tagger_cost.get('without', 0):.0f} without "
        f"({report.tagger_cost.get('with', 0) / max(report.tagger_cost.get('without', 1), 1e-9):.2f}).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
