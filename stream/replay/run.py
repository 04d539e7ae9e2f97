"""A replay: documents of a period through the live path's windows and detector, in one process.

Scored documents come from the archive, or are scored again with the current model (``--rescore``,
and always for raw documents from Kafka). The windows are ``stream.windows``, the detector is
``alerts.monitor``: the same code the ``aggregate`` agent runs, so a replay of an archived day gives
the trend points and alerts the live run gave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tqdm import tqdm

from alerts.monitor import SpikeMonitor
from alerts.settings import AlertSettings
from common.records import Alert, Document, ScoredDocument, TrendPoint
from model_service.engine import InferenceEngine
from model_service.user_topics import TopicMatcher
from stream.labels import scored_document
from stream.prepare.entities import EntityExtractor
from stream.prepare.preparer import DocumentPreparer
from stream.replay.windows import replay_windows
from stream.settings import StreamSettings


@dataclass
class ReplayResult:
    trend: list[TrendPoint]  # closed windows of both sizes, in event-time order per size
    alerts: list[Alert]


def rescore(
    documents: Sequence[Document],
    engine: InferenceEngine,
    entities: EntityExtractor | None,
    batch: int = 256,
    progress: bool = True,
    topics: TopicMatcher | None = None,
) -> list[ScoredDocument]:
    """Labels from the current model, in batches, with a progress bar; with ``entities`` (as a worker
    with entity sentiment on), the sentiment toward each entity key too; with ``topics``, the user
    topic of each."""
    scored: list[ScoredDocument] = []
    now = datetime.now(UTC)
    with tqdm(total=len(documents), unit="doc", desc="rescoring", disable=not progress) as bar:
        for start in range(0, len(documents), batch):
            chunk = documents[start : start + batch]
            asked = [entities.queries(d) for d in chunk] if entities is not None else None
            results = engine.classify([d.text for d in chunk], entities=asked, topics=topics)
            scored.extend(scored_document(d, r, now) for d, r in zip(chunk, results, strict=True))
            bar.update(len(chunk))
    return scored


def entity_reader(stream: StreamSettings) -> EntityExtractor | None:
    """The extractor a worker with these settings reads entity sentiment with; None when it is off."""
    return EntityExtractor.from_settings(stream) if stream.entity_sentiment else None


def firing(
    documents: Iterable[Document], engine: InferenceEngine, alerts: AlertSettings, stream: StreamSettings
) -> list[Alert]:
    """What the live chain fires on these documents: the worker's preparation (duplicates, pseudonyms,
    entities), the model, windows and detector, without the broker in between."""
    preparer = DocumentPreparer.from_settings(stream, b"replay: pseudonyms only tell authors apart")
    scored = rescore(preparer.first_copies(documents), engine, entity_reader(stream), progress=False)
    return [a for a in replay(lambda: scored, stream, alerts).alerts if a.state == "firing"]


def select(
    documents: Iterable[ScoredDocument],
    topics: Sequence[str],
    ticker: str | None,
    user_topics: Sequence[str] = (),
) -> list[ScoredDocument]:
    """The documents of the chosen topics or user topics (all if none) that mention the ticker (if
    one is given)."""
    chosen = bool(topics or user_topics)
    return [
        d
        for d in documents
        if (not chosen or d.topic in topics or d.user_topic in user_topics)
        and (ticker is None or ticker in d.document.tickers)
    ]


def replay(
    documents: Callable[[], Iterable[ScoredDocument]], stream: StreamSettings, alerts: AlertSettings
) -> ReplayResult:
    """Windows of both sizes and the detector's alerts; ``documents`` is read once per window size,
    in event-time order, so a long period never has to be in memory as records."""
    entities = EntityExtractor.from_settings(stream)
    short = replay_windows(documents(), stream.window_s, stream.grace_s, entities, alerts.evidence)
    longer = replay_windows(documents(), stream.baseline_window_s, stream.grace_s, entities, alerts.evidence)
    monitor = SpikeMonitor(alerts, stream.window_s)
    events = [o.event for o in monitor.observe(short) if o.event is not None]
    return ReplayResult(short + longer, events)
