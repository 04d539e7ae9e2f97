"""A synthetic market day: headlines and posts per topic, Poisson arrivals, syndicated near-copies,
and scheduled incidents (a topic turning negative at a set time, with more volume).

Pure and reproducible: the same scenario and seed give the same documents, in event-time order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from alerts.backtest import Incident as LabeledIncident
from common.records import Document
from stream.ingest.synthetic_templates import COMPANIES, SOURCES, TAILS, TEMPLATES, TOPIC_COMPANIES, WHEN
from stream.prepare.documents import document_id

TOPICS = tuple(TEMPLATES)
DEFAULT_MIX = {"negative": 0.2, "neutral": 0.55, "positive": 0.25}
# large, medium and small spikes on a default day (about 2 documents a minute per topic): the
# detector's test and its quality benchmark
THREE_SPIKES = ("Energy | Oil@11:00/20m/6x/85%", "Financials@13:00/15m/5x/85%", "Currencies@14:30/10m/4x/80%")
_INCIDENT = re.compile(
    r"^(?P<topic>[^@]+)@(?P<hh>\d{1,2}):(?P<mm>\d{2})"
    r"/(?P<minutes>\d+)m/(?P<factor>[\d.]+)x/(?P<negative>\d{1,3})%$"
)


@dataclass(frozen=True)
class Incident:
    """``topic`` turns negative at ``start`` for ``minutes``: ``factor`` x volume, ``negative`` share."""

    topic: str
    start: time
    minutes: int
    factor: float
    negative: float

    @classmethod
    def parse(cls, spec: str) -> Incident:
        """``"Energy | Oil@14:00/20m/5x/70%"``: topic, start (UTC), minutes, volume factor, negative share."""
        match = _INCIDENT.match(spec.strip())
        if not match:
            raise ValueError(
                f"incident {spec!r}: expected TOPIC@HH:MM/MINUTESm/FACTORx/PERCENT%, "
                "e.g. 'Energy | Oil@14:00/20m/5x/70%'"
            )
        topic = match["topic"].strip()
        if topic not in TEMPLATES:
            raise ValueError(f"incident {spec!r}: unknown topic {topic!r}; topics: {', '.join(TOPICS)}")
        negative = int(match["negative"]) / 100
        if not 0 <= negative <= 1:
            raise ValueError(f"incident {spec!r}: the negative share must be 0-100%")
        return cls(
            topic,
            time(int(match["hh"]), int(match["mm"])),
            int(match["minutes"]),
            float(match["factor"]),
            negative,
        )

    def labeled(self, day: date) -> LabeledIncident:
        """The label a backtest scores against: the topic while the spike lasts; its documents also
        count under the feed, their sources, tickers and names, so alerts there are about it too."""
        start = datetime.combine(day, self.start, tzinfo=UTC)
        return LabeledIncident(self.topic, start, start + timedelta(minutes=self.minutes), companions=True)

    def covers(self, topic: str, at: datetime) -> bool:
        begin = at.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        return topic == self.topic and begin <= at < begin + timedelta(minutes=self.minutes)


@dataclass
class MarketDay:
    """A scenario: the day, the hours, the volume, the incidents, the seed."""

    day: date = date(2026, 11, 20)
    start: time = time(9, 30)
    end: time = time(16, 0)
    per_minute: float = 30.0  # documents per minute over all topics, before incidents
    syndicated_share: float = 0.05  # documents that get a near-duplicate copy from another source
    incidents: list[Incident] = field(default_factory=list)
    seed: int = 7

    @property
    def begins(self) -> datetime:
        return datetime.combine(self.day, self.start, tzinfo=UTC)

    @property
    def ends(self) -> datetime:
        return datetime.combine(self.day, self.end, tzinfo=UTC)

    def labeled(self) -> list[LabeledIncident]:
        """Its incidents as a backtest scores them."""
        return [incident.labeled(self.day) for incident in self.incidents]

    def documents(self) -> Iterator[Document]:
        """Every document of the day, in event-time order."""
        rng = random.Random(self.seed)
        self._used: set[str] = set()
        per_topic = self.per_minute / len(TOPICS)
        pending: list[Document] = []  # syndicated copies, released when their time comes
        minute = self.begins
        while minute < self.ends:
            batch: list[Document] = []
            for topic in TOPICS:
                incident = next((i for i in self.incidents if i.covers(topic, minute)), None)
                rate = per_topic * (incident.factor if incident else 1.0)
                for _ in range(poisson(rng, rate)):
                    at = minute + timedelta(seconds=rng.uniform(0, 60))
                    doc = self._document(rng, topic, at, incident)
                    batch.append(doc)
                    if rng.random() < self.syndicated_share:
                        pending.append(_syndicated_copy(rng, doc))
            window_end = minute + timedelta(minutes=1)
            ready = [d for d in pending if d.published_at < window_end]
            pending = [d for d in pending if d.published_at >= window_end]
            yield from sorted(batch + ready, key=lambda d: d.published_at)
            minute = window_end

    def _fresh_text(self, rng: random.Random, templates: list[str], ticker: str) -> str:
        """A headline not used yet today: accidental repeats would look like duplicate stories."""
        for _ in range(20):
            text = headline(rng, templates, COMPANIES[ticker], ticker)
            if text not in self._used:
                break
        self._used.add(text)
        return text

    def _document(self, rng: random.Random, topic: str, at: datetime, incident: Incident | None) -> Document:
        if incident:
            rest = (1 - incident.negative) / (DEFAULT_MIX["neutral"] + DEFAULT_MIX["positive"])
            mix = {
                "negative": incident.negative,
                "neutral": DEFAULT_MIX["neutral"] * rest,
                "positive": DEFAULT_MIX["positive"] * rest,
            }
        else:
            mix = DEFAULT_MIX
        sentiment = rng.choices(list(mix), weights=list(mix.values()))[0]
        ticker = rng.choice(TOPIC_COMPANIES.get(topic) or list(COMPANIES))
        text = self._fresh_text(rng, TEMPLATES[topic][sentiment], ticker)
        source = rng.choices(list(SOURCES), weights=[5, 2, 3])[0]
        kind = SOURCES[source]
        author = f"@trader{rng.randint(1, 500)}" if kind == "post" else ""
        url = (
            f"https://news.example/{topic.split()[0].lower()}/{rng.getrandbits(40):x}"
            if kind == "news"
            else ""
        )
        mentioned = [ticker] if ticker in text or COMPANIES[ticker] in text else []
        return synthetic_document(source, text, at, url, author, mentioned)


def synthetic_document(
    source: str, text: str, at: datetime, url: str, author: str, tickers: list[str], salt: str = ""
) -> Document:
    """A generated document as its source publishes it: news carry the text as a title, posts as a body;
    ``salt`` makes the id of a repeated text distinct."""
    kind = SOURCES[source]
    return Document(
        id=document_id(source, url, f"{text}{at.isoformat()}{salt}"),
        source=source,
        kind=kind,
        title=text if kind == "news" else "",
        body=text if kind == "post" else "",
        url=url,
        author=author,
        lang="en",
        tickers=tickers,
        published_at=at,
        received_at=at,
    )


def _syndicated_copy(rng: random.Random, original: Document) -> Document:
    """The same story from another wire a little later, lightly edited: a near-duplicate."""
    source = "marketwire" if original.source != "marketwire" else "newswire"
    at = original.published_at + timedelta(seconds=rng.uniform(5, 90))
    text = original.title or original.body
    edited = rng.choice([f"UPDATE 1-{text}", f"{text} - report", f"BREAKING: {text}", f"{text} (Reuters)"])
    url = f"https://wire.example/{rng.getrandbits(40):x}"
    return original.derive(
        id=document_id(source, url, edited),
        source=source,
        kind="news",
        title=edited,
        body="",
        url=url,
        author="",
        published_at=at,
        received_at=at,
    )


def headline(rng: random.Random, template: str | Sequence[str], company: str, ticker: str) -> str:
    """A template (or one of several, drawn after the numbers, as the dense day always has) filled in:
    the company, its ticker, made-up numbers, a time and a tail."""
    slots = {"co": company, "tk": ticker, "pct": rng.randint(2, 15), "n": rng.randint(2, 60),
             "q": f"Q{rng.randint(1, 4)}"}  # fmt: skip
    chosen = template if isinstance(template, str) else rng.choice(template)
    return chosen.format(**slots) + rng.choice(WHEN) + rng.choice(TAILS)


def poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method, in chunks so that exp() does not underflow for large rates."""
    count = 0
    while rate > 0:
        step, rate = min(rate, 30.0), rate - min(rate, 30.0)
        count += _knuth(rng, step)
    return count


def _knuth(rng: random.Random, rate: float) -> int:
    threshold, count, product = pow(2.718281828459045, -rate), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count
