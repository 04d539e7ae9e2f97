"""Does an incident's own name alert, and does the same name at a steady rate stay quiet? (issue 45)

The shared real feed (stocknet's 96,826 tweets, ``../shared/data/real``, never tuned on) is scored
once as a worker scores it (preparation, the model, entity keys). Into one real weekday a name no list
holds is injected: 8 headlines in 7 hours, half of them negative (``INCIDENT``). In a second run the
same name comes at a steady rate instead, a headline every three hours for the whole feed, half
negative. Each run goes through the replay path (windows and detector, the live code) with the
emerging-story test off (the detector before it) and on. Reported: alerts per month on the real feed
alone (the false ones must not grow), how long after its first headline the incident's key fired, and
whether the steady name ever did.

    python -m bench.entity_stories [SCORED.parquet]   (the scored feed: written once, then read)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from alerts.detector import STORY_KIND
from alerts.settings import AlertSettings
from bench.real_feed import FEED, documents
from common.records import Alert, Document, ScoredDocument
from model_service.engine import InferenceEngine
from model_service.settings import ModelSettings
from stream.archive import to_table
from stream.ingest.synthetic import synthetic_document
from stream.prepare.preparer import DocumentPreparer
from stream.replay.run import replay, rescore
from stream.replay.sources import scored_documents
from stream.settings import StreamSettings

NAME = "Korvex Lending"
KEY = "name:Korvex"  # the tagger keys "Korvex Lending" by its first word; a key that starts so is ours
INCIDENT_START = datetime(2015, 6, 10, 4, 0, tzinfo=UTC)  # a Wednesday in the middle of the feed
NEGATIVE = [
    "{n} halts customer withdrawals, citing extreme market conditions",
    "{n} hires restructuring lawyers as losses mount",
    "Regulators probe {n} after withdrawal freeze",
    "{n} faces lawsuit from depositors over frozen accounts",
]
NEUTRAL = [
    "{n} says it is working with advisers on its options",
    "What {n}'s customers need to know",
    "{n} to hold a call with clients on Thursday",
    "{n} statement on account access",
]
STORY_OFF = 10**6  # story_min_negative that no horizon reaches: the detector before the story test


@dataclass
class Run:
    label: str
    story: bool
    alerts: list[Alert]
    months: float

    def per_month(self, key: str | None = None) -> float:
        return sum(1 for a in self.alerts if key is None or a.key == key) / self.months


@dataclass
class StoriesReport:
    documents: int
    months: float
    runs: list[Run] = field(default_factory=list)
    incident_delay: dict[bool, timedelta | None] = field(default_factory=dict)  # story on/off -> delay
    steady_alerts: dict[bool, int] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)


def headlines(moments: list[datetime]) -> Iterator[Document]:
    """The name's headlines at ``moments``, negative and neutral by turns, each from its own outlet."""
    for i, at in enumerate(moments):
        template = (NEGATIVE if i % 2 == 0 else NEUTRAL)[(i // 2) % 4]
        url = f"https://news.example/korvex/{i}"
        yield synthetic_document("newswire", template.format(n=NAME), at, url, "", [], salt=str(i))


def firing(scored: list[ScoredDocument], story: bool, stream: StreamSettings) -> list[Alert]:
    settings = AlertSettings() if story else AlertSettings(story_min_negative=STORY_OFF)
    ordered = sorted(scored, key=lambda d: d.document.published_at)
    return [a for a in replay(lambda: ordered, stream, settings).alerts if a.state == "firing"]


def run(path: Path = FEED, cache: Path | None = None) -> StoriesReport:
    """``cache``: a Parquet file of the scored feed, written on the first run and read after (the
    scoring is ten minutes of the run; the detector is what one tunes)."""
    stream = StreamSettings()
    engine = InferenceEngine.load(ModelSettings(backend="onnx-int8", device="cpu"))
    preparer = DocumentPreparer.from_settings(stream, b"bench: pseudonyms only tell authors apart")
    if cache is not None and cache.exists():
        base = list(scored_documents(pq.read_table(cache)))
    else:
        base = rescore(preparer.first_copies(documents(path)), engine, stream)
        if cache is not None:
            pq.write_table(to_table(base), cache)
    first = min(d.document.published_at for d in base)
    last = max(d.document.published_at for d in base)
    months = (last - first) / timedelta(days=30.44)
    incident_at = [INCIDENT_START + timedelta(minutes=55 * i) for i in range(8)]
    steps = int((last - first) / timedelta(hours=3))
    steady_at = [first + timedelta(hours=3 * i, minutes=17) for i in range(steps)]
    incident = rescore(preparer.first_copies(headlines(incident_at)), engine, stream, progress=False)
    steady = rescore(preparer.first_copies(headlines(steady_at)), engine, stream, progress=False)
    report = StoriesReport(len(base), months)
    for story in (False, True):
        report.runs.append(Run("real feed", story, firing(base, story, stream), months))
        with_incident = firing(base + incident, story, stream)
        fired = [a for a in with_incident if a.key.startswith(KEY)]
        report.incident_delay[story] = fired[0].window_end - incident_at[0] if fired else None
        report.steady_alerts[story] = sum(a.key.startswith(KEY) for a in firing(base + steady, story, stream))
    report.kinds = Counter(a.kind for a in report.runs[-1].alerts)
    return report


def _delay(delay: timedelta | None) -> str:
    return "never" if delay is None else f"{delay.total_seconds() / 3600:.1f} h"


def markdown(report: StoriesReport) -> str:
    before, after = report.runs
    kinds = ", ".join(f"{k} {n}" for k, n in report.kinds.most_common())
    return (
        f"`bench/entity_stories.py`: stocknet's real tweets ({report.documents:,} documents after "
        f"preparation, {report.months:.1f} months), scored once by the worker's path (ONNX int8); a name no "
        f"list holds (`{NAME}`, keyed `{KEY}...`) injected as 8 headlines in 7 hours from "
        f"{INCIDENT_START:%Y-%m-%d %H:%M} UTC, "
        "half negative; in another run the same name every 3 hours over the whole feed, half negative. "
        "The replay path (windows and detector), default settings, the emerging-story test off and on.\n\n"
        "| | story test off (before) | story test on |\n| --- | ---: | ---: |\n"
        f"| alerts per month on the real feed alone | {before.per_month():.2f} | {after.per_month():.2f} |\n"
        f"| the injected incident's key: first headline to alert | {_delay(report.incident_delay[False])} "
        f"| {_delay(report.incident_delay[True])} |\n"
        f"| the same name at a steady rate: alerts on its key | {report.steady_alerts[False]} "
        f"| {report.steady_alerts[True]} |\n\n"
        f"Alerts on the real feed with the story test on, by kind: {kinds}. Its stories (the day, the key, "
        "the horizon, negative of all authors, the first evidence):\n\n"
        + "\n".join(_story_line(a) for a in after.alerts if a.kind == STORY_KIND)
        + "\n"
    )


def _story_line(alert: Alert) -> str:
    first = alert.evidence[0].title[:90] if alert.evidence else ""
    return (
        f"- {alert.window_end:%Y-%m-%d} `{alert.key}` {alert.horizon}, "
        f"{alert.negative_authors}/{alert.authors}: {first}"
    )


if __name__ == "__main__":
    import sys

    print(markdown(run(cache=Path(sys.argv[1]) if len(sys.argv) > 1 else None)))
