"""Which rule decides the sentiment toward an entity: the entity head alone, or the document head's
reading where the two disagree, and the distress words (``model_service.distress``)? The comparison
behind the table in ``docs/model.md`` (distress headlines), on the engine as a worker runs it
(``python -m bench.entity_sentiment_rules``).

Sets: the hand-labelled distress headlines (``bench/labels/distress_entities.tsv``), FinEntity's dev
paragraphs and the single-cashtag tweets of the sentiment dev split, as training holds them out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bench.distress_sentiment import LABELS
from bench.mention_tagger import labelled_texts
from model_service.benchmark import load_dev, load_news_dev
from model_service.distress import distressed
from model_service.engine import InferenceEngine, toward_entity
from model_service.entity_data import single_cashtag_texts
from model_service.entity_spans import EntityQuery
from model_service.settings import ModelSettings
from stream.prepare.entities import EntityExtractor
from stream.prepare.preparer import DocumentPreparer
from stream.settings import StreamSettings

Probs = dict[str, float]
Case = tuple[str, Probs, Probs, int, bool]  # gold, entity head's probs, document's, entities, distress


def _best(probs: Probs) -> str:
    return max(probs, key=probs.__getitem__)


def _product(entity: Probs, document: Probs) -> str:
    return _best({s: entity[s] * document[s] for s in entity})


RULES: dict[str, Callable[[Probs, Probs, int, bool], str]] = {
    "entity head alone": lambda e, d, n, x: _best(e),
    "neutral in a negative text: the text's": lambda e, d, n, x: (
        "negative" if _best(e) == "neutral" and _best(d) == "negative" else _best(e)
    ),
    "neutral: the text's": lambda e, d, n, x: _best(d) if _best(e) == "neutral" else _best(e),
    "the same, one entity only": lambda e, d, n, x: (
        "negative" if _best(e) == "neutral" and _best(d) == "negative" and n == 1 else _best(e)
    ),
    "product of the two": lambda e, d, n, x: _product(e, d),
    "neutral in a negative text: the text's; still neutral with distress words: negative": (
        lambda e, d, n, x: _best(toward_entity(e, d, x))
    ),
}


def _read(
    engine: InferenceEngine, texts: list[str], asked: list[list[EntityQuery]]
) -> list[tuple[Probs, list[tuple[str, Probs, list[tuple[int, int]], str]]]]:
    """Per text, the document head's probabilities and, in the engine's order, each entity's key, head
    probabilities before any rule, mentions and type."""
    read = engine.probabilities(texts, asked)
    names = engine.config.sentiments

    def probs(row: object) -> Probs:
        return dict(zip(names, map(float, row), strict=True))  # type: ignore[call-overload]

    return [
        (probs(document), [(f.entity.key, probs(f.probs), f.mentions, f.entity.type) for f in found])
        for document, found in zip(read.sentiment, read.entities, strict=True)
    ]


def _asked_cases(
    engine: InferenceEngine, texts: list[str], asked: list[list[EntityQuery]], gold: list[list[str]]
) -> list[Case]:
    cases = []
    read = _read(engine, texts, asked)
    for text, (document, found), queries, labels in zip(texts, read, asked, gold, strict=True):
        distress = distressed(text, [spans for _, _, spans, _ in found])
        by_key = {key: (probs, hit) for (key, probs, _, _), hit in zip(found, distress, strict=True)}
        for query, g in zip(queries, labels, strict=True):
            probs, hit = by_key[query.key]
            cases.append((g, probs, document, len(labels), hit))
    return cases


def run() -> dict[str, dict[str, tuple[float, float]]]:
    settings = ModelSettings.load()
    engine = InferenceEngine.load(settings)
    names = engine.config.sentiments
    data = settings.training_data_dir
    news = load_news_dev(data)
    tweets = single_cashtag_texts(load_dev(data)["sentiment"])
    sets: dict[str, list[Case]] = {}
    for name, rows in (("FinEntity dev paragraphs", news), ("cashtag tweets dev", tweets)):
        sets[name] = _asked_cases(
            engine,
            [r.text for r in rows],
            [[EntityQuery(m.entity, (m.entity,)) for m in r.mentions] for r in rows],
            [[names[m.label] for m in r.mentions] for r in rows],
        )
    stream = StreamSettings()
    preparer = DocumentPreparer.from_settings(stream, b"bench: pseudonyms only tell authors apart")
    extractor = EntityExtractor.from_settings(stream)
    labelled = labelled_texts(LABELS, data, preparer)
    texts = [t.text for t in labelled]
    distress: list[Case] = []
    for text, (document, found) in zip(
        labelled, _read(engine, texts, [extractor.asked(t) for t in texts]), strict=True
    ):
        companies = sum(kind != "place" for _, _, _, kind in found)
        hits = distressed(text.text, [spans for _, _, spans, _ in found])
        for span, gold in zip(text.spans, text.sentiments, strict=True):
            covering = (
                (e, hit)
                for (_, e, spans, _), hit in zip(found, hits, strict=True)
                if any(a < span.end and span.start < b for a, b in spans)
            )
            read = next(covering, None)
            if gold is not None and read is not None:
                distress.append((gold, read[0], document, companies, read[1]))
    sets = {"distress headlines": distress, **sets}
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for rule, decide in RULES.items():
        for name, cases in sets.items():
            right: Counter[bool] = Counter()
            negatives: Counter[bool] = Counter()
            for gold, entity, document, count, told in cases:
                decided = decide(entity, document, count, told)
                right[decided == gold] += 1
                if gold == "negative":
                    negatives[decided == "negative"] += 1
            table.setdefault(rule, {})[name] = (
                right[True] / max(1, len(cases)),
                negatives[True] / max(1, sum(negatives.values())),
            )
    return table


if __name__ == "__main__":
    for rule, row in run().items():
        print(f"| {rule} | " + " | ".join(f"{a:.3f} / {r:.2f}" for a, r in row.values()) + " |")
