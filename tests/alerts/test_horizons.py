"""Horizons: closed windows rolled into sums over several spans at once, stepped only when a sum changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.horizons import HorizonRoller, horizon_name
from tests.helpers import Closed

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def closed(minute: int, count: int, negative: int, key: str = "Markets", **authors: list[str]) -> Closed:
    start = T0 + timedelta(minutes=minute)
    return Closed(key, start, start + timedelta(minutes=1), count, negative, **authors)


def sums(step, index: int) -> tuple[int, int]:
    return step.horizons[index].count, step.horizons[index].negative


def test_a_window_enters_every_horizon_and_leaves_each_when_it_has_passed() -> None:
    roller: HorizonRoller[Closed] = HorizonRoller([180, 600], 60)
    steps = [s for m in range(4) for s in roller.add([closed(m, 10, m)])]
    assert [sums(s, 0) for s in steps] == [(10, 0), (20, 1), (30, 3), (30, 6)]  # the 3-minute horizon
    assert [sums(s, 1) for s in steps] == [(10, 0), (20, 1), (30, 3), (40, 6)]  # the 10-minute one
    assert steps[-1].expired[0] == (closed(0, 10, 0),) and steps[-1].expired[1] == ()
    last = steps[-1].horizons[0]
    assert (last.window_start, last.window_end) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=4))
    assert [horizon_name(h) for h in (300, 3600, 21600, 86400, 90)] == ["5m", "1h", "6h", "1d", "90s"]


def test_a_quiet_key_is_stepped_only_when_a_window_leaves_a_horizon() -> None:
    roller: HorizonRoller[Closed] = HorizonRoller([120, 3600], 60)
    roller.add([closed(0, 4, 4, key="Energy")])
    stepped = roller.add([], until=T0 + timedelta(days=2))  # two days later, nothing new arrived
    assert [(s.key, s.window_end - T0, sums(s, 0), sums(s, 1)) for s in stepped] == [
        ("Energy", timedelta(minutes=3), (0, 0), (4, 4)),  # left the 2-minute horizon
        ("Energy", timedelta(minutes=61), (0, 0), (0, 0)),  # left the hour: forgotten
    ]
    assert "Energy" not in roller.keys


def test_an_amended_window_replaces_its_part_in_the_horizons_still_holding_it() -> None:
    roller: HorizonRoller[Closed] = HorizonRoller([120, 600], 60)
    roller.add([closed(0, 5, 1), closed(1, 5, 1)])
    assert roller.add([closed(1, 7, 5)]) == []  # already stepped past: no new step for it
    (after,) = roller.add([closed(2, 5, 0)])
    assert sums(after, 0) == (12, 5) and sums(after, 1) == (17, 6)


def test_distinct_authors_are_rolled_next_to_documents() -> None:
    roller: HorizonRoller[Closed] = HorizonRoller([120], 60)
    roller.add([closed(0, 30, 30, authors=["spammer"], negative_authors=["spammer"])])
    (step,) = roller.add([closed(1, 3, 1, authors=["spammer", "a", "b"], negative_authors=["a"])])
    horizon = step.horizons[0]
    assert (horizon.count, horizon.negative, horizon.authors, horizon.negative_authors) == (33, 31, 3, 2)
    (step,) = roller.add([closed(2, 2, 0)])  # windows without authors: each document is its own
    assert (step.horizons[0].authors, step.horizons[0].negative_authors) == (5, 1)


def test_keys_beyond_the_bound_are_forgotten_least_recently_seen_first() -> None:
    roller: HorizonRoller[Closed] = HorizonRoller([300], 60, max_keys=100)
    for minute in range(5):
        roller.add([closed(minute, 1, 0, key=f"name:N{minute}-{i}") for i in range(100)])
    assert len(roller.keys) == 100 and roller.forgotten == 400
    assert all(key.startswith("name:N4-") for key in roller.keys)


def test_horizons_must_be_multiples_of_the_window() -> None:
    with pytest.raises(ValueError, match="multiples of the 60 s window"):
        HorizonRoller([300, 90], 60)
