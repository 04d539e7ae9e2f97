"""The detector on synthetic market days: the demo's day, and a thinner day with three spikes.

Real model (the committed artifact on the default backend, as a worker runs it), the live path's
preparation (dedupe, entities), window math, horizons and detector: the same chain the worker runs,
without the broker in between.
"""

from __future__ import annotations

from datetime import timedelta

from alerts.backtest import Outcome, score
from alerts.settings import AlertSettings
from stream.devstack.demo import demo_day
from stream.ingest.synthetic import THREE_SPIKES, Incident, MarketDay
from stream.replay.run import firing
from stream.settings import StreamSettings

WINDOW_S = 60


def outcome(default_engine, day: MarketDay) -> Outcome:
    """Alerts of the default detector on the day, matched to its spikes (alerts on the feed, sources,
    tickers and names while a spike lasts are about it: its documents count there too)."""
    fired = firing(day.documents(), default_engine, AlertSettings(), StreamSettings())
    return score(Outcome({}, fired), day.labeled())


def test_the_demo_spike_fires_within_two_minutes_at_the_shortest_horizon_and_nothing_else_fires(
    default_engine,
) -> None:
    result = outcome(default_engine, demo_day())
    assert not result.missed, f"no alert for the demo's spike; alerts: {result.fired}"
    [(incident, first)] = result.caught.items()
    assert first.key == incident.key and first.horizon == "5m", first
    assert first.window_end - incident.start <= timedelta(seconds=2 * WINDOW_S), first
    assert len(result.false) <= 1, f"false alerts: {result.false}"


def test_thinner_spikes_fire_within_a_few_windows_and_the_rest_of_the_day_at_most_once(
    default_engine,
) -> None:
    """At 2 documents a minute per topic a spike has about 11 documents (8 negative) after 2 minutes:
    against an 18% baseline that is a binomial tail of 1e-4 (z 3.7), which no threshold keeping to one
    false alert a week on ~50 keys can call. The 6x and 5x spikes fire within 3 windows, the 4x within 4."""
    day = MarketDay(incidents=[Incident.parse(spec) for spec in THREE_SPIKES], seed=21)
    result = outcome(default_engine, day)
    assert not result.missed, f"no alert for {result.missed}; alerts: {result.fired}"
    for spike, incident in zip(day.incidents, day.labeled(), strict=True):
        first = result.caught[incident]
        assert first.key == incident.key and first.horizon == "5m", first
        allowed = 3 if spike.factor >= 5 else 4
        assert first.window_end - incident.start <= timedelta(seconds=allowed * WINDOW_S), (
            f"{incident.key}: first alert at {first.window_end:%H:%M}, "
            f"more than {allowed} windows after {incident.start:%H:%M}"
        )
    assert len(result.false) <= 1, f"false alerts outside the spikes: {result.false}"
