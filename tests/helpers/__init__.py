"""Shared test builders and helpers: settings of a test's own, documents and windows to feed, and
waits on a condition with a deadline instead of sleeping a fixed time. Test modules import from here,
never from each other."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq
from kafka import TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from common.processes import free_port
from common.records import (
    Document,
    Evidence,
    InvalidRecord,
    LaneMark,
    ScoredDocument,
    TrendPoint,
    WindowEntries,
    WindowEntry,
    decode_keyed,
    decode_record,
)
from common.topic_reader import TopicReader
from stream.devstack.broker import EmbeddedBroker
from stream.ingest.producer import DocumentProducer
from stream.prepare.dedupe import raw_topic_key
from stream.prepare.documents import document_from_fields
from stream.prepare.preparer import DocumentPreparer
from stream.replay.sources import read_archive, scored_documents
from stream.replay.windows import replay_windows
from stream.routing import default_partition
from stream.settings import StreamSettings
from stream.topics import GroupOffsets, TopicNames, ensure_topics

T = TypeVar("T")


def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record on ``topic`` now, read to the end of each partition as a fetch reports it ([] when
    the topic does not exist). What is there now: call it once what you wait for is known to be there."""
    with TopicReader(bootstrap.split(","), topic, "tapewatch-tests") as reader:
        return list(reader.from_start().records()) if reader.exists else []


def wait_for_records(
    bootstrap: str, topic: str, expected: int, timeout: float = 60.0
) -> list[ConsumerRecord]:
    """The records of ``topic`` once it holds at least ``expected`` of them; fails after ``timeout``."""

    def enough() -> list[ConsumerRecord] | None:
        records = read_topic(bootstrap, topic)
        return records if len(records) >= expected else None

    found = wait_until(enough, timeout, f"{expected} records on {topic}", interval=0.5)
    assert found is not None
    return found


def child_processes(pid: int) -> list[int]:
    """The processes ``pid`` started that are still its children (Linux)."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(child) for task in tasks.iterdir() for child in (task / "children").read_text().split()]


def process_gone(pid: int) -> bool:
    """Exited (a zombie no init has reaped yet counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def send_documents(settings: StreamSettings, documents: list[Document]) -> None:
    """Create the pipeline's topics and put ``documents`` on the raw topic, acknowledged by the broker."""
    ensure_topics(settings)
    with DocumentProducer(settings) as producer:
        for document in documents:
            producer.send(document)


def tapewatch(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``tapewatch ARGS`` as a user runs it, with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@dataclass(frozen=True)
class Closed:
    """A closed window as the detector reads it (the fields of a TrendPoint it uses)."""

    key: str
    window_start: datetime
    window_end: datetime
    count: int
    negative: int
    authors: list[str] | None = None  # None: each document is its own author
    negative_authors: list[str] | None = None
    name: str = ""
    most_negative: list[Evidence] | None = None


class ManualClock:
    """A monotonic clock a test moves by hand (``clock.now += 61``) instead of waiting."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingTopic:
    """A stand-in for a Faust topic in unit tests: keeps what is sent; each send is delivered at once."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    async def send(self, value: Any, key: Any = None, partition: int | None = None) -> asyncio.Future[None]:
        self.values.append(value)
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


class StandInConsumer:
    """Faust's consumer as the Classifier asks it: four partitions, each with 100 records."""

    def topic_partitions(self, topic: str) -> int:
        return 4

    def highwater(self, tp: object) -> int:
        return 100


@dataclass
class StandInClassifier:
    """A real Classifier (metrics, lane memory, lane progress) on stand-ins for Faust's app, topics and
    stream; ``acked`` lists the offsets it acknowledged."""

    classifier: Any
    topics: Any
    acked: list[int]


def stand_in_classifier(
    scorer: Any, entities: Callable[[], Any], registry: Any, lane: int
) -> StandInClassifier:
    """A Classifier whose model is ``scorer`` and whose watchlist is whatever ``entities()`` returns."""
    from types import SimpleNamespace

    from stream.lanes import LaneProgress
    from stream.pipeline.classify import Classifier
    from stream.pipeline.metrics import PipelineMetrics

    topics = SimpleNamespace(
        names=TopicNames("t"), scored=RecordingTopic(), keyed=RecordingTopic(), deadletter=RecordingTopic()
    )
    preparer = SimpleNamespace(entities=SimpleNamespace(current=entities))
    app = SimpleNamespace(consumer=StandInConsumer())
    classifier = Classifier(app, topics, StreamSettings(), preparer, PipelineMetrics.create(registry))  # type: ignore[arg-type]
    classifier.scorer = scorer
    classifier.progress = LaneProgress(lanes=4, window_s=60, interval_s=1.0)
    classifier.memory.load(lane, [])
    acked: list[int] = []

    async def ack(event: Any) -> None:
        acked.append(event.message.offset)

    classifier.stream = SimpleNamespace(ack=ack)  # type: ignore[assignment]
    return StandInClassifier(classifier, topics, acked)


def taken_document(offset: int, title: str, lane: int) -> Any:
    """A raw record of ``lane`` as the classify agent takes it, with its document decoded."""
    from types import SimpleNamespace

    from stream.pipeline.classify import Taken

    document = document_from_fields({"source": "t", "title": title, "published_at": T0.isoformat()})
    message = SimpleNamespace(
        topic=TopicNames("t").raw, partition=lane, offset=offset, value=document.dumps()
    )
    return Taken(SimpleNamespace(message=message), document=document)


def unique_settings(broker: EmbeddedBroker, directory: Path, **overrides: object) -> StreamSettings:
    """Settings on ``broker`` with a topic namespace and consumer group of their own."""
    unique = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "broker_url": broker.bootstrap,
        "app_id": f"test-{unique}",
        "topic_prefix": f"t{unique}",
        "data_dir": directory / f"data-{unique}",
        "web_port": free_port(),
        **overrides,
    }
    return StreamSettings(**values)  # type: ignore[arg-type]


ROOT = Path(__file__).resolve().parents[2]  # the checkout
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def scored(
    doc_id: str,
    at: datetime,
    sentiment: str = "neutral",
    topic: str = "Earnings",
    tickers: list[str] | None = None,
) -> ScoredDocument:
    """A scored document as the classifier would label it, without the model."""
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.6}[sentiment]
    doc = document_from_fields(
        {
            "id": doc_id,
            "source": "t",
            "title": doc_id,
            "published_at": at.isoformat(),
            "tickers": tickers or [],
        }
    )
    return ScoredDocument(
        document=doc,
        topic=topic,
        topic_confidence=0.9,
        sentiment=sentiment,
        sentiment_score=score,
        probs={},
        model_version="v",
        scored_at=at,
    )


def archived(
    settings: StreamSettings, columns: Sequence[str] = ("id", "topic", "published_at", "sentiment")
) -> list[dict]:
    """The archive's rows (by default id, topic, published_at, sentiment), [] before the first file."""
    root = settings.archive_root
    if not root.exists() or not list(root.rglob("*.parquet")):
        return []
    return pq.read_table(root, columns=list(columns)).to_pylist()


Window = tuple[str, int, datetime]  # key, size in seconds, start
Counts = tuple[int, int, int, int]  # count, negative, neutral, positive


def latest_windows(settings: StreamSettings) -> dict[Window, Counts]:
    """Every window on the trends topic, at its latest revision (read to the topic's end, however long)."""
    latest: dict[Window, TrendPoint] = {}
    with TopicReader(
        settings.bootstrap_servers, TopicNames(settings.topic_prefix).trends, "tapewatch-tests"
    ) as reader:
        records = list(reader.from_start().records()) if reader.exists else []
    for record in records:
        point = decode_record(TrendPoint, record.value)
        window = (point.key, int((point.window_end - point.window_start).total_seconds()), point.window_start)
        if window not in latest or point.revision >= latest[window].revision:
            latest[window] = point
    return {w: (p.count, p.negative, p.neutral, p.positive) for w, p in latest.items()}


def replayed_windows(settings: StreamSettings) -> dict[Window, Counts]:
    """The windows a replay of the whole archive gives (both sizes)."""
    far = datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    table = read_archive(settings.archive_root, *far)
    points = [
        point
        for size in (settings.window_s, settings.baseline_window_s)
        for point in replay_windows(scored_documents(table), size, settings.grace_s)
    ]
    return {
        (p.key, int((p.window_end - p.window_start).total_seconds()), p.window_start): (
            p.count, p.negative, p.neutral, p.positive,
        )
        for p in points
    }  # fmt: skip


class GroupProgress:
    """How far the worker group has read the pipeline's topics, with one admin client and one reader
    per topic for as long as a test polls it (clients made per poll cost the workers CPU)."""

    def __init__(self, settings: StreamSettings) -> None:
        self.settings = settings
        self.group = GroupOffsets(settings, "tapewatch-tests")
        self.readers: dict[str, TopicReader] = {}

    def ends(self, topic: str) -> dict[int, int]:
        if topic not in self.readers:
            self.readers[topic] = TopicReader(self.settings.bootstrap_servers, topic, "tapewatch-tests")
        return self.readers[topic].fetched_ends()

    def past(self, topic: str, offsets: dict[int, int]) -> bool:
        """Whether the group has committed at least ``offsets`` (partition -> offset) on ``topic``."""
        committed = self.group.committed([TopicPartition(topic, p) for p in offsets])
        return all(committed[TopicPartition(topic, p)] >= offset for p, offset in offsets.items())

    def finished(self, topic: str) -> bool:
        """Whether the group has committed every record of ``topic`` there is now."""
        return self.past(topic, self.ends(topic))

    def close(self) -> None:
        self.group.close()
        for reader in self.readers.values():
            reader.close()


def raw_finished(settings: StreamSettings) -> bool:
    """Whether the worker group has committed every record of the raw topic (done with all of them)."""
    progress = GroupProgress(settings)
    try:
        return progress.finished(TopicNames(settings.topic_prefix).raw)
    finally:
        progress.close()


def window_entries(values: Sequence[bytes | None]) -> list[WindowEntry]:
    """The window entries the keyed topic's records hold, in order (marks left out)."""
    return [
        entry
        for record in map(decode_keyed, values)
        if isinstance(record, WindowEntries)
        for entry in record.entries
    ]


def is_mark(value: bytes | None) -> bool:
    try:
        return isinstance(decode_keyed(value), LaneMark)
    except InvalidRecord:
        return False


def wait_until_drained(settings: StreamSettings, timeout: float = 300) -> None:
    """Until the workers have finished everything on the broker: every raw record (so every scored
    document and window entry exists), every scored document (archived), and every window entry
    (counted in windows that were emitted, with their alerts sent: ``aggregate`` acknowledges an entry
    only then). Lane marks keep coming while workers run, so the keyed topic is waited on up to its
    last entry, not its end. Each step is a committed offset, not a guess that things went quiet."""
    names = TopicNames(settings.topic_prefix)
    progress = GroupProgress(settings)
    try:
        wait_until(
            lambda: progress.finished(names.raw), timeout, "every raw record to be finished", interval=1
        )
        last_entry: dict[int, int] = {}  # past the last record that is not a mark (entries, and bad input)
        for record in read_topic(settings.broker_url, names.keyed):
            if not is_mark(record.value):
                last_entry[record.partition] = record.offset + 1
        wait_until(
            lambda: progress.finished(names.scored) and progress.past(names.keyed, last_entry),
            timeout,
            "every scored document to be archived and every window entry counted",
            interval=1,
        )
    finally:
        progress.close()


def process_all(settings: StreamSettings, documents: list[Document], log: Path, timeout: float = 240) -> None:
    """Send ``documents``, run one worker until it has finished them all (``wait_until_drained``), stop
    it cleanly."""
    from stream.devstack.worker_process import WorkerProcess

    send_documents(settings, documents)
    worker = WorkerProcess(settings, log).start()
    try:
        worker.wait_ready(120)
        wait_until_drained(settings, timeout)
    finally:
        assert worker.stop() == 0, worker.log_tail()


def keepers(settings: StreamSettings, documents: list[Document]) -> set[str]:
    """The ids the pipeline keeps (scores and archives) of documents sent in this order: each one goes
    to the lane its story key hashes to, and each lane has its own duplicate table."""
    preparer = DocumentPreparer.from_settings(settings, b"any key: pseudonyms do not decide repeats")
    kept = set()
    for document in documents:
        lane = default_partition(raw_topic_key(document), settings.topic_partitions)
        prepared = preparer.prepare(document.dumps(), lane=lane)
        if not prepared.duplicate.duplicate:
            kept.add(prepared.document.id)
    return kept


def archive_mismatch(settings: StreamSettings, documents: list[Document], archived_ids: set[str]) -> str:
    """Why the archive differs from ``keepers``, for an assertion message: each document lost or kept
    wrongly, with its lane and raw offset, and how often it is on the scored topic (0: the worker
    never published it; more: the archive lost it), and how many dead letters there are."""
    expected = keepers(settings, documents)
    names = TopicNames(settings.topic_prefix)
    lanes = {d.id: default_partition(raw_topic_key(d), settings.topic_partitions) for d in documents}
    raw: dict[str, int] = {}  # id -> raw offset
    for record in read_topic(settings.broker_url, names.raw):
        try:
            raw[decode_record(Document, record.value).id] = record.offset
        except InvalidRecord:
            continue
    published: dict[str, int] = {}
    for record in read_topic(settings.broker_url, names.scored):
        doc_id = decode_record(ScoredDocument, record.value).document.id
        published[doc_id] = published.get(doc_id, 0) + 1

    def where(ids: set[str]) -> str:
        shown = sorted(ids, key=lambda i: (lanes.get(i, -1), raw.get(i, -1)))
        return ", ".join(
            f"{i[:8]} at {lanes.get(i)}@{raw.get(i)} scored x{published.get(i, 0)}" for i in shown
        )

    lost, extra = expected - archived_ids, archived_ids - expected
    dead = len(read_topic(settings.broker_url, names.deadletter))
    return f"{len(lost)} lost: {where(lost)}; {len(extra)} repeats kept: {where(extra)}; {dead} dead letters"
