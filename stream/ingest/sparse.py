"""A synthetic feed as thin as a real one: about 50 documents a day for months, with incidents.

Daily and weekly rhythm (US market hours busier, weekends quiet), news without authors and posts from a
pool of accounts, spam bursts (one account posting the same negative post dozens of times), and
incidents about a name no list holds (a lender, a coin) that turn negative for one to three days and
spread over several topics. Pure and reproducible: the same seed gives the same documents and labels.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from alerts.backtest import SEPARATOR, Incident
from common.records import Document
from stream.ingest.synthetic import DEFAULT_MIX, TOPICS, headline, poisson, synthetic_document
from stream.ingest.synthetic_templates import COMPANIES, SOURCES, TEMPLATES

HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 9, 9, 9, 8, 7, 5, 4, 3, 2, 1]  # UTC
WEEKEND = 0.35
_FIRST = [
    "Vel",
    "Kor",
    "Zan",
    "Tor",
    "Mir",
    "Quel",
    "Ostr",
    "Bren",
    "Lum",
    "Cass",
    "Dral",
    "Hal",
    "Sor",
    "Pyx",
]
_LAST = ["trana", "vex", "ora", "ix", "ano", "eda", "ium", "elle", "avia", "onis", "arra", "undo"]
_KIND = ["Capital", "Finance", "Network", "Labs", "Bank", "Lending", "Protocol", ""]
# negative headlines the shipped model reads as neutral (an incident the model cannot see is not one)
READ_AS_NEUTRAL = {
    "{co} postpones IPO amid market turmoil",
    "{co} merger deal collapses",
    "{co} writes down acquisition by ${n} billion",
    "{co} CEO ousted after scandal",
}
# the negative headlines that name the company, per topic: where an incident about a new name shows up
INCIDENT_TEMPLATES = {
    topic: named
    for topic, by_sentiment in TEMPLATES.items()
    if (named := [t for t in by_sentiment["negative"] if "{co}" in t and t not in READ_AS_NEUTRAL])
}


@dataclass(frozen=True)
class NamedIncident:
    """``name`` (``symbol``) turns negative from ``start`` to ``end``, over ``topics``."""

    name: str
    symbol: str
    start: datetime
    end: datetime
    per_day: float
    negative: float
    topics: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys an alert about it may come on: the name, its first (distinctive) word, the symbol."""
        first = self.name.split()[0]
        words = (f"name:{first}",) if first != self.name else ()
        return (f"name:{self.name}", *words, f"name:{self.symbol}", f"${self.symbol}")

    def labeled(self) -> Incident:
        """The label a backtest scores against: its keys, and its name and symbol in the evidence."""
        mentions = f"{self.name}{SEPARATOR}{self.symbol}"
        return Incident(SEPARATOR.join(self.keys), self.start, self.end, mentions)


@dataclass
class SparseFeed:
    """A scenario: the first day, how many days, the volume, the incidents and spam, the seed."""

    first_day: date = date(2026, 1, 5)
    days: int = 120
    per_day: float = 50.0
    incidents_every_days: float = 20.0
    spam_per_week: float = 1.0
    seed: int = 1
    incidents: list[NamedIncident] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(f"incidents-{self.seed}")
        day = 7.0 + rng.uniform(0, self.incidents_every_days)
        names: set[str] = set()
        while day < self.days - 3:
            name = self._new_name(rng, names)
            start = datetime.combine(self.first_day, datetime.min.time(), tzinfo=UTC) + timedelta(days=day)
            length = timedelta(days=rng.uniform(1, 3))
            symbol = "".join(c for c in name.upper() if c.isalpha())[:3] + rng.choice("XQZ")
            while any(i.symbol == symbol for i in self.incidents):
                symbol = symbol[:3] + rng.choice("ABCDEFGHJKLMNPRSTUVWY")
            topics = tuple(rng.sample(sorted(INCIDENT_TEMPLATES), 4))
            self.incidents.append(
                NamedIncident(
                    name, symbol, start, start + length, rng.uniform(8, 20), rng.uniform(0.55, 0.85), topics
                )
            )
            day += self.incidents_every_days * rng.uniform(0.7, 1.3)

    @property
    def begins(self) -> datetime:
        return datetime.combine(self.first_day, datetime.min.time(), tzinfo=UTC)

    @property
    def ends(self) -> datetime:
        return self.begins + timedelta(days=self.days)

    def documents(self) -> Iterator[Document]:
        """Every document, in event-time order."""
        rng = random.Random(self.seed)
        for offset in range(self.days):
            day = self.begins + timedelta(days=offset)
            rate = self.per_day * (WEEKEND if day.weekday() >= 5 else 1.0)
            docs = [self._background(rng, self._moment(rng, day)) for _ in range(poisson(rng, rate))]
            for incident in self.incidents:
                docs.extend(self._incident_documents(rng, incident, day))
            if rng.random() < self.spam_per_week / 7:
                docs.extend(self._spam_burst(rng, self._moment(rng, day)))
            yield from sorted(docs, key=lambda d: d.published_at)

    @staticmethod
    def _new_name(rng: random.Random, taken: set[str]) -> str:
        while True:
            name = f"{rng.choice(_FIRST)}{rng.choice(_LAST)} {rng.choice(_KIND)}".strip()
            if name not in taken:
                taken.add(name)
                return name

    @staticmethod
    def _moment(rng: random.Random, day: datetime) -> datetime:
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        return day + timedelta(hours=hour, seconds=rng.uniform(0, 3600))

    def _background(self, rng: random.Random, at: datetime) -> Document:
        topic = rng.choice(TOPICS)
        sentiment = rng.choices(list(DEFAULT_MIX), weights=list(DEFAULT_MIX.values()))[0]
        ticker = rng.choice(list(COMPANIES))
        text = headline(rng, rng.choice(TEMPLATES[topic][sentiment]), COMPANIES[ticker], ticker)
        return _document(rng, text, at, [ticker] if COMPANIES[ticker] in text else [])

    def _incident_documents(
        self, rng: random.Random, incident: NamedIncident, day: datetime
    ) -> list[Document]:
        begin, end = max(day, incident.start), min(day + timedelta(days=1), incident.end)
        if begin >= end:
            return []
        docs = []
        count = poisson(rng, incident.per_day * (end - begin) / timedelta(days=1))
        negative = round(count * incident.negative)  # its stated share, not a chance draw of it
        for is_negative in rng.sample([True] * negative + [False] * (count - negative), count):
            at = begin + (end - begin) * rng.random()
            topic = rng.choice(incident.topics)
            if is_negative:
                template = rng.choice(INCIDENT_TEMPLATES[topic])
            else:
                sentiment = rng.choice(["neutral", "positive"])
                named = [t for t in TEMPLATES[topic][sentiment] if "{co}" in t]
                template = rng.choice(named) if named else "{co}: " + rng.choice(TEMPLATES[topic][sentiment])
            docs.append(_document(rng, headline(rng, template, incident.name, incident.symbol), at, []))
        return docs

    def _spam_burst(self, rng: random.Random, at: datetime) -> list[Document]:
        """One account, one negative post, 15 to 40 times within the hour (with small changes)."""
        ticker = rng.choice(list(COMPANIES))
        topic = rng.choice(sorted(INCIDENT_TEMPLATES))
        text = headline(rng, rng.choice(INCIDENT_TEMPLATES[topic]), COMPANIES[ticker], ticker)
        author = f"@spam{rng.randint(1, 10_000)}"
        return [
            _document(rng, f"{text} {'!' * rng.randint(1, 4)} #{rng.randint(1, 99)}",
                      at + timedelta(seconds=rng.uniform(0, 3600)), [ticker], author=author, source="social")
            for _ in range(rng.randint(15, 40))
        ]  # fmt: skip


def _document(
    rng: random.Random, text: str, at: datetime, tickers: list[str], author: str = "", source: str = ""
) -> Document:
    source = source or rng.choices(list(SOURCES), weights=[4, 2, 4])[0]
    if SOURCES[source] == "post" and not author:
        author = f"@user{rng.randint(1, 3000)}"
    url = f"https://news.example/{rng.getrandbits(40):x}" if SOURCES[source] == "news" else ""
    return synthetic_document(source, text, at, url, author, tickers, salt=str(rng.random()))
