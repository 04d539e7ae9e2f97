"""Classifying files row by row (CSV or JSONL) for ``tapewatch classify``, and printing results."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from model_service.classification import Classification
from model_service.engine import InferenceEngine
from model_service.entity_spans import AskedEntities, EntityQuery, with_asked
from model_service.user_topics import TopicMatcher

CHUNK = 256
ENTITY_FIELDS = ("entity_sentiment", "entity_sentiment_score", "entity_mentioned", "entity_explanation")


def label_fields(result: Classification) -> dict[str, Any]:
    return {
        "topic": result.topic,
        "topic_confidence": round(result.topic_confidence, 4),
        "sentiment": result.sentiment,
        "sentiment_score": round(result.sentiment_score, 4),
        "confidence": round(result.probs[result.sentiment], 4),
        "explanation": " ".join(f"{t}:{w:.2f}" for t, w in result.explanation) if result.explanation else "",
    }


def entity_fields(result: Classification, key: str) -> dict[str, Any]:
    """The sentiment toward the row's entity (the document's where the text never names it)."""
    assert result.entities is not None
    found = result.entities[key]
    why = " ".join(f"{t}:{w:.2f}" for t, w in found.explanation) if found.explanation else ""
    return {
        "entity_sentiment": found.sentiment,
        "entity_sentiment_score": round(found.sentiment_score, 4),
        "entity_mentioned": found.mentioned,
        "entity_explanation": why,
    }


def entities_json(result: Classification) -> str:
    """The row's entities as a JSON list: key, name, type, mentions ([start, end] in the text as given)
    and sentiment of each."""
    return json.dumps(
        [
            {
                "key": key,
                "name": found.name,
                "type": found.type,
                "mentions": [list(span) for span in found.mentions],
                "sentiment": found.sentiment,
                "sentiment_score": round(found.sentiment_score, 4),
            }
            for key, found in (result.entities or {}).items()
        ]
    )


def print_table(texts: list[str], results: list[Classification]) -> None:
    for text, result in zip(texts, results, strict=True):
        fields = label_fields(result)
        line = (
            f"{fields['sentiment']:<8} {fields['sentiment_score']:+.2f} (conf {fields['confidence']:.2f})  "
            f"{fields['topic']} ({fields['topic_confidence']:.2f})  {text[:70]}"
        )
        if result.user_topic:
            line += f"\n         user topic: {result.user_topic}"
        for key, found in (result.entities or {}).items():
            named = (
                f"{found.name} ({key}, {found.type})"
                if found.name and found.name != key
                else f"{key} ({found.type})"
            )
            line += f"\n         {found.sentiment:<8} {found.sentiment_score:+.2f}  {named}"
        print(line + (f"\n         why: {fields['explanation']}" if fields["explanation"] else ""))
    print(f"model {results[0].model_version}" if results else "")


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a CSV or JSONL file (by suffix), as dictionaries."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
    else:
        with path.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle)


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def classify_file(
    engine: InferenceEngine,
    path: Path,
    text_column: str,
    output: Path | None,
    explain: bool,
    entity_column: str | None = None,
    topics: TopicMatcher | None = None,
    asked: AskedEntities | None = None,
) -> str:
    """Label every row; write them to ``output`` (CSV or JSONL by suffix) or stdout as CSV.

    Each row gets ``entities``: a JSON list of the entities the model read in it, each under one key.
    With ``entity_column``, also the sentiment toward the entity that column names; with ``topics``,
    ``user_topic`` (empty when none is close enough). ``asked``: what each text is asked about besides
    (the watchlist's entities and the cashtags it names, as a worker asks).
    """
    total = sum(1 for _ in read_rows(path))
    as_jsonl = output is not None and output.suffix.lower() in (".jsonl", ".ndjson")
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    writer: csv.DictWriter[str] | None = None
    counts: dict[str, int] = {}
    matched = 0
    try:
        with tqdm(total=total, unit="row", desc=path.name, file=sys.stderr) as bar:
            for chunk in _chunks(read_rows(path), CHUNK):
                for column in (text_column, entity_column):
                    if column is not None and column not in chunk[0]:
                        raise ValueError(f"{path}: no column {column!r}; columns: {', '.join(chunk[0])}")
                texts = [str(row.get(text_column) or "") for row in chunk]
                named = [""] * len(chunk)
                if entity_column is not None:
                    named = [str(row.get(entity_column) or "").strip() for row in chunk]
                entities = [
                    with_asked([EntityQuery(name, (name,))] if name else [], asked(text) if asked else [])
                    for name, text in zip(named, texts, strict=True)
                ]
                results = engine.classify(texts, explain=explain, entities=entities, topics=topics)
                for number, (row, result) in enumerate(zip(chunk, results, strict=True)):
                    out = {**row, **label_fields(result), "entities": entities_json(result)}
                    if entity_column is not None:
                        name = named[number]
                        out.update(entity_fields(result, name) if name else dict.fromkeys(ENTITY_FIELDS, ""))
                    if topics is not None:
                        out["user_topic"] = result.user_topic or ""
                        matched += result.user_topic is not None
                    counts[result.sentiment] = counts.get(result.sentiment, 0) + 1
                    if as_jsonl:
                        handle.write(json.dumps(out) + "\n")
                        continue
                    if writer is None:
                        writer = csv.DictWriter(handle, fieldnames=list(out))
                        writer.writeheader()
                    writer.writerow(out)
                bar.update(len(chunk))
    finally:
        if output:
            handle.close()
    spread = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    user = f"; {matched} with a user topic" if topics is not None else ""
    return f"classified {total} rows ({spread}{user}) with {engine.version}" + (
        f"; wrote {output}" if output else ""
    )
