"""Classifying files row by row (CSV or JSONL) for ``tapewatch classify``, and printing results."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from model_service.engine import Classification, InferenceEngine

CHUNK = 256


def label_fields(result: Classification) -> dict[str, Any]:
    return {
        "topic": result.topic,
        "topic_confidence": round(result.topic_confidence, 4),
        "sentiment": result.sentiment,
        "sentiment_score": round(result.sentiment_score, 4),
        "confidence": round(result.probs[result.sentiment], 4),
        "explanation": " ".join(f"{t}:{w:.2f}" for t, w in result.explanation) if result.explanation else "",
    }


def print_table(texts: list[str], results: list[Classification]) -> None:
    for text, result in zip(texts, results, strict=True):
        fields = label_fields(result)
        line = (
            f"{fields['sentiment']:<8} {fields['sentiment_score']:+.2f} (conf {fields['confidence']:.2f})  "
            f"{fields['topic']} ({fields['topic_confidence']:.2f})  {text[:70]}"
        )
        print(line + (f"\n         why: {fields['explanation']}" if fields["explanation"] else ""))
    print(f"model {results[0].model_version}" if results else "")


def _rows(path: Path) -> Iterator[dict[str, Any]]:
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
    engine: InferenceEngine, path: Path, text_column: str, output: Path | None, explain: bool
) -> str:
    """Label every row; write them to ``output`` (CSV or JSONL by suffix) or stdout as CSV."""
    total = sum(1 for _ in _rows(path))
    as_jsonl = output is not None and output.suffix.lower() in (".jsonl", ".ndjson")
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    writer: csv.DictWriter[str] | None = None
    counts: dict[str, int] = {}
    try:
        with tqdm(total=total, unit="row", desc=path.name, file=sys.stderr) as bar:
            for chunk in _chunks(_rows(path), CHUNK):
                if text_column not in chunk[0]:
                    raise ValueError(f"{path}: no column {text_column!r}; columns: {', '.join(chunk[0])}")
                texts = [str(row.get(text_column) or "") for row in chunk]
                for row, result in zip(chunk, engine.classify(texts, explain=explain), strict=True):
                    out = {**row, **label_fields(result)}
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
    return f"classified {total} rows ({spread}) with {engine.version}" + (
        f"; wrote {output}" if output else ""
    )
