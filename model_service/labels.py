"""Label sets of the two heads, and the mapping from the training data's sentiment codes."""

from __future__ import annotations

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

# The sentiment CSV codes 0 = bearish, 1 = bullish, 2 = neutral: not the order of SENTIMENTS.
SENTIMENT_DATA_CODES: dict[int, str] = {0: "negative", 1: "positive", 2: "neutral"}


def sentiment_score(probs: dict[str, float]) -> float:
    """p(positive) - p(negative): one number in [-1, 1] that windows can average."""
    return probs["positive"] - probs["negative"]
