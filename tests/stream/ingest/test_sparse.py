"""The sparse synthetic profile: as thin as a real feed, with labeled incidents about new names."""

from __future__ import annotations

import re
from collections import Counter

from stream.ingest.sparse import INCIDENT_TEMPLATES, SparseFeed

NEGATIVE = [
    re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template)))
    for templates in INCIDENT_TEMPLATES.values()
    for template in templates
]


def test_a_thin_feed_with_a_weekly_rhythm_incidents_over_several_topics_and_spam() -> None:
    feed = SparseFeed(seed=3, days=56)
    documents = list(feed.documents())
    assert documents == list(SparseFeed(seed=3, days=56).documents())  # same seed, same feed
    assert [d.published_at for d in documents] == sorted(d.published_at for d in documents)
    by_day = Counter(d.published_at.date() for d in documents)
    weekdays = [n for day, n in by_day.items() if day.weekday() < 5]
    weekends = [n for day, n in by_day.items() if day.weekday() >= 5]
    assert 40 <= sum(weekdays) / len(weekdays) <= 75 and sum(weekends) / len(weekends) < 35
    assert len(feed.incidents) >= 2 and all(len(i.topics) >= 3 for i in feed.incidents)
    for incident in feed.incidents:
        about = [d for d in documents if incident.name in d.text and incident.start <= d.published_at]
        assert len(about) >= 5 and about[-1].published_at <= incident.end
        label = incident.labeled()
        assert f"name:{incident.name}" in label.keys and f"${incident.symbol}" in label.keys
    authors = Counter((d.author, d.published_at.date()) for d in documents if d.author)
    assert max(authors.values()) >= 15  # a spam burst: one account, dozens of posts in a day


def test_an_incident_sends_its_stated_negative_share_not_a_chance_draw_of_it() -> None:
    """Each day of an incident rounds its share, so a labeled incident is as negative as it says."""
    feed = SparseFeed(seed=2, days=120)
    documents = list(feed.documents())
    for incident in feed.incidents:
        about = [d.text for d in documents if incident.name in d.text]
        negative = sum(any(p.match(text) for p in NEGATIVE) for text in about)
        days = (incident.end.date() - incident.start.date()).days + 1  # each rounds by half a document
        assert abs(negative - incident.negative * len(about)) <= days / 2 + 1e-9, incident.name
