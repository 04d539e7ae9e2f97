"""Which texts tell of distress for which of their entities. Pure: no model."""

from __future__ import annotations

import pytest

from model_service.distress import distressed
from model_service.engine import toward_entity

NEUTRAL = {"negative": 0.1, "neutral": 0.7, "positive": 0.2}
POSITIVE = {"negative": 0.1, "neutral": 0.2, "positive": 0.7}


def at(text: str, *names: str) -> list[list[tuple[int, int]]]:
    """Each name's mention in ``text``, as the engine gives an entity's mentions."""
    return [[(text.index(n), text.index(n) + len(n))] for n in names]


@pytest.mark.parametrize(
    "text",
    [
        "Celsius Network Hires Restructuring Lawyers After Account Freeze",
        "Nexo offers to buy out Celsius' loans amid withdrawal suspension",
        "Celsius pauses all withdrawals, swaps and transfers between accounts",
        "TerraUSD loses its dollar peg again",
        "Celsius files for Chapter 11 bankruptcy protection",
        "Hackers drain $600M from Celsius bridge in exploit",
        "SEC sues Celsius over unregistered securities",
        "Argentina's debt default deepens as Celsius lenders wait",
    ],
)
def test_distress_news_is_bad_news_for_the_entity_it_names(text: str) -> None:
    assert distressed(text, at(text, "Celsius" if "Celsius" in text else "TerraUSD")) == [True]


@pytest.mark.parametrize(
    "text",
    [
        "Celsius shares rise after strong quarter",
        "Set Celsius as the default exchange in the app settings",
        "Celsius wins approval to expand lending desk",
    ],
)
def test_ordinary_news_is_not(text: str) -> None:
    assert distressed(text, at(text, "Celsius")) == [False]


def test_the_word_is_bad_news_for_the_entity_nearest_it() -> None:
    text = "Nexo offers to buy out Celsius' loans amid withdrawal suspension"
    assert distressed(text, at(text, "Nexo", "Celsius")) == [False, True]


@pytest.mark.parametrize(
    "text, actor, target",
    [
        ("Twitter sues Elon Musk over deal termination", "Twitter", "Elon Musk"),
        ("FBI probes possible hacking incident at JPMorgan", "FBI", "JPMorgan"),  # stocknet, 2014
        ("Starbucks embroiled in EU tax probe into Apple", "EU", "Apple"),
    ],
)
def test_the_one_who_sues_or_probes_is_not_the_one_in_trouble(text: str, actor: str, target: str) -> None:
    assert distressed(text, at(text, actor, target)) == [False, True]


def test_distress_turns_a_neutral_reading_negative_and_leaves_a_decided_one() -> None:
    read = toward_entity(NEUTRAL, NEUTRAL, distress=True)
    assert max(read, key=read.__getitem__) == "negative"
    assert read["negative"] == NEUTRAL["neutral"]  # the confidence moves, it is not made up
    assert toward_entity(POSITIVE, NEUTRAL, distress=True) == POSITIVE
    assert toward_entity(NEUTRAL, NEUTRAL) == NEUTRAL
