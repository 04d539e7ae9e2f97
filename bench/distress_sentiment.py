"""Entity sentiment on distress news: is a company that halts withdrawals, is fined, sued or goes
bankrupt read negative for it?

Real headlines labelled by hand (``bench/labels/distress_entities.tsv``: 73 headlines of 2022 from the
Twitter Financial News topic set, which the sentiment and entity heads never train on), each entity
with the sentiment the headline holds toward it, scored through the engine as a worker asks (cashtags,
watched names). An entity counts as read when a keyed entity's mentions cover its words; accuracy is
over those read. Beside them, the four headlines the entities issue quotes, each read neutral or
positive for Celsius before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.mention_tagger import labelled_texts
from model_service.engine import InferenceEngine
from model_service.mention_data import LabelledText
from model_service.settings import ModelSettings
from stream.prepare.entities import EntityExtractor
from stream.prepare.preparer import DocumentPreparer
from stream.settings import StreamSettings

LABELS = Path(__file__).parent / "labels" / "distress_entities.tsv"
ISSUE_HEADLINES = [  # quoted in the entities issue, all negative for Celsius
    "Shortly Before Halting Withdrawals: Celsius Transferred $320M Worth of Crypto to FTX",
    "Celsius Network Hires Restructuring Lawyers After Account Freeze",
    "Nexo offers to buy out Celsius' loans amid withdrawal suspension",
    "Celsius Tops Up More Collateral to Avoid Loan Liquidation",
]


@dataclass
class DistressReport:
    version: str
    entities: int = 0
    read: int = 0
    right: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (gold, read) -> entities
    issue: list[tuple[str, str]] = field(default_factory=list)  # headline, how Celsius was read

    @property
    def accuracy(self) -> float:
        return self.right / self.read if self.read else 0.0

    def recall(self, sentiment: str) -> float:
        gold = sum(n for (g, _), n in self.confusion.items() if g == sentiment)
        return self.confusion[(sentiment, sentiment)] / gold if gold else 0.0


def read_entities(engine: InferenceEngine, extractor: EntityExtractor, texts: list[str]) -> list[dict]:
    """Per text: each keyed entity's mentions and sentiment, as a worker would store them."""
    results = engine.classify(texts, entities=[extractor.asked(t) for t in texts])
    return [
        {key: ([tuple(m) for m in e.mentions], e.sentiment) for key, e in (r.entities or {}).items()}
        for r in results
    ]


def sentiment_over(found: dict, start: int, end: int) -> str | None:
    return next(
        (s for mentions, s in found.values() if any(a < end and start < b for a, b in mentions)), None
    )


def run(data_dir: Path | None = None) -> DistressReport:
    settings = ModelSettings.load()
    engine = InferenceEngine.load(settings)
    stream = StreamSettings()
    preparer = DocumentPreparer.from_settings(stream, b"bench: pseudonyms only tell authors apart")
    extractor = EntityExtractor.from_settings(stream)
    labelled: list[LabelledText] = labelled_texts(LABELS, data_dir or settings.training_data_dir, preparer)
    report = DistressReport(engine.version)
    for text, found in zip(
        labelled, read_entities(engine, extractor, [t.text for t in labelled]), strict=True
    ):
        for span, gold in zip(text.spans, text.sentiments, strict=True):
            if gold is None:
                continue
            report.entities += 1
            read = sentiment_over(found, span.start, span.end)
            if read is not None:
                report.read += 1
                report.right += read == gold
                report.confusion[(gold, read)] += 1
    for headline, found in zip(
        ISSUE_HEADLINES, read_entities(engine, extractor, ISSUE_HEADLINES), strict=True
    ):
        start = headline.index("Celsius")
        report.issue.append((headline, sentiment_over(found, start, start + len("Celsius")) or "not keyed"))
    return report


def markdown(report: DistressReport) -> str:
    lines = [
        f"Measured with `{report.version}` (`bench/distress_sentiment.py`): {report.entities} entities of "
        f"{LABELS.name} (hand-labelled distress headlines), {report.read} of them keyed; the entity "
        f"sentiment of those read is right for **{report.accuracy:.3f}**; negative ones read negative: "
        f"**{report.recall('negative'):.3f}**.",
        "",
        "| labelled | read negative | neutral | positive |",
        "| --- | ---: | ---: | ---: |",
    ]
    for gold in ("negative", "neutral", "positive"):
        cells = [str(report.confusion[(gold, read)]) for read in ("negative", "neutral", "positive")]
        lines.append(f"| {gold} | " + " | ".join(cells) + " |")
    lines += ["", "The entities issue's Celsius headlines (all negative for Celsius):", ""]
    lines += [f"- {read}: {headline}" for headline, read in report.issue]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
