"""Labeled CSVs for training, and a fixed-seed stratified dev split. Pure: no model, no torch."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # index into the head's label list


class DataError(ValueError):
    """A training file that cannot be used, with the line that says why."""


def read_labeled_csv(
    path: Path,
    labels: Sequence[str],
    code_to_label: Callable[[str], str],
    text_column: str = "text",
    label_column: str = "label",
) -> list[Example]:
    """Rows of ``text,label``; ``code_to_label`` maps the file's label value to a name in ``labels``."""
    index = {name: i for i, name in enumerate(labels)}
    examples = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        for row in reader:
            text = (row[text_column] or "").strip()
            try:
                name = code_to_label(row[label_column].strip())
                examples.append(Example(text, index[name]))
            except (KeyError, ValueError):
                raise DataError(
                    f"{path} line {reader.line_num}: unknown label {row[label_column]!r}; "
                    f"expected one of {list(labels)}"
                ) from None
            if not text:
                examples.pop()
    if not examples:
        raise DataError(f"{path}: no labeled rows")
    return examples


def stratified_split(
    examples: Sequence[Example], dev_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Hold out ``dev_fraction`` of every label (at least one per label with 2+ examples)."""
    by_label: dict[int, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    train, dev = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        n_dev = max(1, round(len(group) * dev_fraction)) if len(group) > 1 else 0
        dev.extend(group[:n_dev])
        train.extend(group[n_dev:])
    rng.shuffle(train)
    rng.shuffle(dev)
    return train, dev
