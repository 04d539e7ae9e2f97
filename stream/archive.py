"""The Parquet archive of scored documents, partitioned by day (``date=YYYY-MM-DD``).

Files are written to a temporary name and renamed into place, so a reader never sees half a
file. Writing is idempotent per document id: a document redelivered after a crash is not
archived twice.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from common.records import Document, EntityLabel, ScoredDocument
from model_service.labels import SENTIMENTS

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("kind", pa.string()),
        ("title", pa.string()),
        ("body", pa.string()),
        ("url", pa.string()),
        ("author", pa.string()),
        ("lang", pa.string()),
        ("tickers", pa.list_(pa.string())),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("topic", pa.string()),
        ("topic_confidence", pa.float32()),
        ("sentiment", pa.string()),
        ("sentiment_score", pa.float32()),
        ("prob_negative", pa.float32()),
        ("prob_neutral", pa.float32()),
        ("prob_positive", pa.float32()),
        ("model_version", pa.string()),
        ("scored_at", pa.timestamp("us", tz="UTC")),
        # its entity keys, decided when it was scored, with the sentiment toward each and where the text
        # names it; null: archived before keys were stored
        (
            "entities",
            pa.list_(
                pa.struct(
                    [
                        ("key", pa.string()),
                        ("sentiment", pa.string()),
                        ("score", pa.float32()),
                        ("mentioned", pa.bool_()),
                        ("name", pa.string()),
                        ("type", pa.string()),
                        ("mentions", pa.list_(pa.list_(pa.int32()))),
                    ]
                )
            ),
        ),
        ("user_topic", pa.string()),  # the topic of the user's topics file it matched; null: none
    ]
)


DOCUMENT_COLUMNS = SCHEMA.names[: SCHEMA.get_field_index("received_at") + 1]  # the Document's fields


def row(scored: ScoredDocument) -> dict[str, object]:
    """A scored document as one flat archive row."""
    doc = scored.document
    return {
        **{name: getattr(doc, name) for name in DOCUMENT_COLUMNS},
        "tickers": list(doc.tickers),
        "topic": scored.topic,
        "topic_confidence": scored.topic_confidence,
        "sentiment": scored.sentiment,
        "sentiment_score": scored.sentiment_score,
        **{f"prob_{s}": scored.probs.get(s, 0.0) for s in SENTIMENTS},
        "model_version": scored.model_version,
        "scored_at": scored.scored_at,
        "entities": None
        if scored.entities is None
        else [{"key": key, **label.asdict()} for key, label in scored.entities.items()],
        "user_topic": scored.user_topic,
    }


def from_row(values: dict[str, Any]) -> ScoredDocument:
    """An archive row back into the ScoredDocument it was written from (``row``'s inverse)."""
    return ScoredDocument(
        document=Document(**{name: values[name] for name in DOCUMENT_COLUMNS}),
        topic=values["topic"],
        topic_confidence=values["topic_confidence"],
        sentiment=values["sentiment"],
        sentiment_score=values["sentiment_score"],
        probs={s: values[f"prob_{s}"] for s in SENTIMENTS},
        model_version=values["model_version"],
        scored_at=values["scored_at"],
        entities=None
        if values.get("entities") is None
        else {e["key"]: entity_label(e) for e in values["entities"]},
        user_topic=values.get("user_topic"),  # absent in archives written before topics files
    )


def entity_label(values: dict[str, Any]) -> EntityLabel:
    """An archived entity back into its label (archives written before names and mentions lack them)."""
    return EntityLabel(
        values["sentiment"],
        values["score"],
        values["mentioned"],
        values.get("name") or "",
        values.get("type") or "",
        values.get("mentions"),
    )


def to_table(documents: Sequence[ScoredDocument]) -> pa.Table:
    return pa.Table.from_pylist([row(s) for s in documents], schema=SCHEMA)


def partition_dir(root: Path, day: date) -> Path:
    return root / f"date={day.isoformat()}"


class ParquetArchive:
    """Appends batches of scored documents as new files in their day's partition."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._ids: dict[date, set[str]] = {}

    def forget_known(self) -> None:
        """Other workers may have written since (partitions moved): read the ids again when needed."""
        self._ids.clear()

    def _known_ids(self, day: date) -> set[str]:
        """Ids already archived for ``day`` (read once from the partition's files)."""
        if day not in self._ids:
            folder = partition_dir(self.root, day)
            files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
            self._ids[day] = {
                i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()
            }
        return self._ids[day]

    def write(self, documents: Iterable[ScoredDocument]) -> int:
        """Write the documents not yet archived; returns how many were new."""
        by_day: dict[date, dict[str, ScoredDocument]] = {}
        for scored in documents:
            day = scored.document.published_at.astimezone(UTC).date()
            if scored.document.id not in self._known_ids(day):
                by_day.setdefault(day, {})[scored.document.id] = scored
        written = 0
        for day, batch in sorted(by_day.items()):
            self._write_file(day, list(batch.values()))
            self._ids[day].update(batch)
            written += len(batch)
        return written

    def _write_file(self, day: date, batch: Sequence[ScoredDocument]) -> None:
        folder = partition_dir(self.root, day)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = folder / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        temporary = folder / f".{final.name}.tmp"
        pq.write_table(to_table(batch), temporary, compression="zstd")
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
