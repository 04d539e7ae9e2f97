"""Accuracy and macro-F1 from label lists. Pure python, so reports need no extra dependency."""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(gold: Sequence[int], predicted: Sequence[int]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(1, len(gold))


def macro_f1(gold: Sequence[int], predicted: Sequence[int], n_classes: int) -> float:
    """Unweighted mean of per-class F1 over classes present in gold or predictions."""
    scores = []
    for label in range(n_classes):
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / max(1, len(scores))


def recall(gold: Sequence[int], predicted: Sequence[int], label: int) -> float:
    """Of the texts whose gold label is ``label``, the share predicted as it."""
    hits = [p == label for g, p in zip(gold, predicted, strict=True) if g == label]
    return sum(hits) / max(1, len(hits))
