from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from model_service.data import DataError, Example, read_labeled_csv, stratified_split
from model_service.evaluation import accuracy, macro_f1
from model_service.labels import SENTIMENT_DATA_CODES, SENTIMENTS, sentiment_score


def test_sentiment_codes_follow_the_data_readme_not_index_order() -> None:
    assert SENTIMENT_DATA_CODES == {0: "negative", 1: "positive", 2: "neutral"}
    assert SENTIMENTS == ("negative", "neutral", "positive")


def test_read_labeled_csv_maps_codes_to_label_indices(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("text,label\nbad day,0\ngreat day,1\nsome day,2\n,1\n")
    examples = read_labeled_csv(path, SENTIMENTS, lambda c: SENTIMENT_DATA_CODES[int(c)])
    assert [(e.text, SENTIMENTS[e.label]) for e in examples] == [
        ("bad day", "negative"),
        ("great day", "positive"),
        ("some day", "neutral"),
    ]


def test_read_labeled_csv_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("text,label\nok,0\nbad,7\n")
    with pytest.raises(DataError, match="line 3: unknown label '7'"):
        read_labeled_csv(path, SENTIMENTS, lambda c: SENTIMENT_DATA_CODES[int(c)])
    (tmp_path / "t.csv").write_text("sentence,label\nx,0\n")
    with pytest.raises(DataError, match="missing column"):
        read_labeled_csv(tmp_path / "t.csv", SENTIMENTS, lambda c: SENTIMENT_DATA_CODES[int(c)])


def test_stratified_split_keeps_label_proportions_and_is_reproducible() -> None:
    examples = [Example(f"t{i}", 0) for i in range(900)] + [Example(f"u{i}", 1) for i in range(100)]
    train, dev = stratified_split(examples, 0.1, seed=13)
    assert Counter(e.label for e in dev) == {0: 90, 1: 10}
    assert len(train) + len(dev) == 1000
    assert not {e.text for e in train} & {e.text for e in dev}
    assert stratified_split(examples, 0.1, seed=13) == (train, dev)
    assert stratified_split(examples, 0.1, seed=14)[1] != dev


def test_accuracy_and_macro_f1() -> None:
    gold, predicted = [0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]
    assert accuracy(gold, predicted) == pytest.approx(5 / 6)
    # per-class F1: 1.0, 2/3, 0.8
    assert macro_f1(gold, predicted, 3) == pytest.approx((1 + 2 / 3 + 0.8) / 3)


def test_sentiment_score_is_positive_minus_negative() -> None:
    assert sentiment_score({"negative": 0.7, "neutral": 0.2, "positive": 0.1}) == pytest.approx(-0.6)
