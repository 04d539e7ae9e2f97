"""Distress words: a text that says withdrawals were halted, accounts frozen, a peg lost, funds stolen,
a company sued, charged or bankrupt is bad news for the entity it names. Pure: no model.

Why a word list beside a model: the document head learned from the Twitter Financial News sentiment
set, which labels most such headlines neutral (news that does not say where a price goes), and the
entity head from Reuters paragraphs and price tweets; neither reads "Celsius Network Hires
Restructuring Lawyers After Account Freeze" as bad for Celsius (``docs/model.md``, distress). The list
names events, not moods, so it holds for names no list has. Measured in ``bench/entity_sentiment_rules``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DISTRESS = re.compile(
    r"""\b(?:
    (?:halt|paus|suspend|freez|froze|stop|block|restrict)\w*\s+(?:\w+\s+){0,2}withdrawals?
    |withdrawals?\s+(?:\w+\s+){0,2}(?:halt|paus|suspen|frozen|freez|stop)\w*
    |account\s+freeze|frozen\s+(?:accounts|funds|assets)|freez\w*\s+(?:accounts|assets|funds)
    |restructuring\s+(?:lawyers|advis[eo]rs|firm|counsel|experts)
    |bankrupt\w*|chapter\s+11|insolven\w*|liquidat\w*|receivership
    |de-?peg\w*|(?:los[est]*|lose|losing|break|broke|breaks)\s+(?:its\s+)?(?:dollar\s+)?peg
    |exploit(?:ed|s)?|hack(?:ed|s|ers?)?|stolen|theft
    |charged|indicted|indictment|fraud\w*|ponzi|scam\w*
    |sues|sue|suing|sued|lawsuits?|class[\s-]action
    |default(?:ed|s)?\s+on|default\s+of|(?:debt|sovereign|bond)\s+default|in\s+default
    |fined|penalt(?:y|ies)|probe[sd]?|subpoena\w*
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
ACTING = re.compile(r"sues?|suing|probes?", re.IGNORECASE)  # the distress words that name an act

Spans = Sequence[tuple[int, int]]


def distressed(text: str, entities: Sequence[Spans]) -> list[bool]:
    """Per entity of ``text`` (its mentions, character offsets), whether the text tells of distress
    for it.

    Each distress word is bad news for the entity named nearest to it: in "Nexo offers to buy out
    Celsius' loans amid withdrawal suspension" for Celsius, not Nexo. A word that names an act done to
    someone ("sues", "probes") is bad news for the nearest entity named after it: in "Twitter sues Elon
    Musk" for Musk, not Twitter; in "EU tax probe into Apple" for Apple (the noun too: the one named
    before a probe is the one probing).
    """
    hit = [False] * len(entities)
    for cue in DISTRESS.finditer(text):
        forward = ACTING.fullmatch(cue.group(0)) is not None
        distances = [
            (_distance(cue.start(), cue.end(), start, end), i)
            for i, spans in enumerate(entities)
            for start, end in spans
            if not (forward and start < cue.end())
        ]
        if distances:
            hit[min(distances)[1]] = True
    return hit


def _distance(cue_start: int, cue_end: int, start: int, end: int) -> int:
    if end <= cue_start:
        return cue_start - end
    return max(0, start - cue_end)
