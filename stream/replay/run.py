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
    stream: StreamSettings,
    batch: int = 256,
    progress: bool = True,
    topics: TopicMatcher | None = None,
) -> list[ScoredDocument]:
    """Labels and entity keys from the current model and watchlist, in batches, with a progress bar,
    as a worker with ``stream``'s settings decides them; with ``topics``, the user topic of each."""
    entities = EntityExtractor.from_settings(stream)
    scored: list[ScoredDocument] = []
    now = datetime.now(UTC)
    with tqdm(total=len(documents), unit="doc", desc="rescoring", disable=not progress) as bar:
        for start in range(0, len(documents), batch):
            chunk = documents[start : start + batch]
            asked = [entities.queries(d) for d in chunk]
            results = engine.classify([d.text for d in chunk], entities=asked, topics=topics)
            scored.extend(
                scored_document(d, r, now, stream.max_entity_keys, stream.entity_sentiment)
                for d, r in zip(chunk, results, strict=True)
            )
            bar.update(len(chunk))
    return scored


def firing(
    documents: Iterable[Document], engine: InferenceEngine, alerts: AlertSettings, stream: StreamSettings
) -> list[Alert]:
    """What the live chain fires on these documents: the worker's preparation (duplicates, pseudonyms,
    entities), the model, windows and detector, without the broker in between."""
    preparer = DocumentPreparer.from_settings(stream, b"replay: pseudonyms only tell authors apart")
    scored = rescore(preparer.first_copies(documents), engine, stream, progress=False)
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
    short = replay_windows(documents(), stream.window_s, stream.grace_s, alerts.evidence)
    longer = replay_windows(documents(), stream.baseline_window_s, stream.grace_s, alerts.evidence)
    monitor = SpikeMonitor(alerts, stream.window_s)
    events = [o.event for o in monitor.observe(short) if o.event is not None]
    return ReplayResult(short + longer, events)
