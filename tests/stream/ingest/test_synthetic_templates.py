"""The synthetic feed's templates are ones the shipped model (on the default backend) files under their
own topic.

Otherwise an injected incident would not raise its topic's volume and negative ratio, and the
spike tests would test the templates, not the detector.
"""

from __future__ import annotations

import random

from stream.ingest.synthetic import MarketDay
from stream.ingest.synthetic_templates import COMPANIES, TEMPLATES, TOPIC_COMPANIES

RENDERS = 6


def test_every_template_is_classified_into_its_own_topic(default_engine) -> None:
    rng = random.Random(5)
    day = MarketDay()
    day._used = set()
    rows = []
    for topic, by_sentiment in TEMPLATES.items():
        for template in (t for templates in by_sentiment.values() for t in templates):
            tickers = TOPIC_COMPANIES.get(topic) or list(COMPANIES)
            texts = [day._fresh_text(rng, [template], rng.choice(tickers)) for _ in range(RENDERS)]
            rows.append((topic, template, [c.topic for c in default_engine.classify(texts)]))
    wrong = [(t, tpl, labels) for t, tpl, labels in rows if sum(label == t for label in labels) < RENDERS / 2]
    assert not wrong, f"templates the model files elsewhere: {wrong}"
    for topic in TEMPLATES:
        labels = [label for t, _, ls in rows if t == topic for label in ls]
        assert sum(label == topic for label in labels) / len(labels) >= 0.8, topic
