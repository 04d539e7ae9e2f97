"""Topics by example without the model: the file's rules, the calibration, matching, reloading."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from common.watched_file import WatchedFile
from model_service.user_topics import (
    KEYWORD_BONUS,
    TopicMatcher,
    TopicsError,
    TopicSource,
    calibrated_threshold,
    held_out_matches,
    leave_one_out,
    parse_topics,
    read_topics,
    unit,
)
from tests.helpers import ROOT


def topic(name: str, *examples: str, **more: object) -> dict[str, object]:
    return {"name": name, "examples": list(examples), **more}


def axis_embed(texts: list[str] | tuple[str, ...]) -> np.ndarray:
    """A stand-in embedding: a text's vector points along the axis its first word names ("x", "y",
    "z"), tilted a little by its length; anything else points along w."""
    axes = {"x": 0, "y": 1, "z": 2}
    rows = np.zeros((len(texts), 4))
    for i, text in enumerate(texts):
        rows[i, axes.get(text.split()[0], 3)] = 1.0
        rows[i, 3] += 0.05 * len(text.split())
    return unit(rows)


FILE = {
    "topics": [
        topic("X", "x one", "x one two", "x one two three", keywords=["ex-word"]),
        topic("Y", "y one", "y one two", "y one two three"),
    ]
}


def test_a_file_names_each_problem() -> None:
    with pytest.raises(TopicsError, match=r"topics\.0\.examples.*at least 3"):
        parse_topics({"topics": [topic("A", "one", "two")]}, "f.yml")
    with pytest.raises(TopicsError, match="topic names repeat: A"):
        parse_topics({"topics": [topic("A", "1", "2", "3"), topic("a", "4", "5", "6")]}, "f.yml")
    with pytest.raises(TopicsError, match="at least 3 different examples"):
        parse_topics({"topics": [topic("A", "same", "same", " same ")]}, "f.yml")
    with pytest.raises(TopicsError, match=r"topics\.0\.colour: Extra inputs"):
        parse_topics({"topics": [topic("A", "1", "2", "3", colour="red")]}, "f.yml")
    with pytest.raises(TopicsError, match="top level"):
        parse_topics(["not", "a", "mapping"], "f.yml")


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics: [unclosed")
    with pytest.raises(TopicsError, match=f"{path}: not YAML or JSON"):
        read_topics(path)
    with pytest.raises(TopicsError, match="cannot read"):
        read_topics(tmp_path / "missing.yml")


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4)))  # fmt: skip
def test_any_parsed_data_is_a_topics_file_or_a_topics_error(data: object) -> None:
    for wrapped in (data, {"topics": data}, {"topics": [data]}):
        with contextlib.suppress(TopicsError):
            parse_topics(wrapped, "fuzz")


def test_the_example_file_for_a_crypto_feed_is_valid() -> None:
    topics = read_topics(ROOT / "examples" / "topics-crypto.yml")
    assert {"Stablecoins", "Hacks and exploits", "NFTs"} <= {t.name for t in topics.topics}


def test_leave_one_out_scores_each_example_against_the_others() -> None:
    examples = unit(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    scores = leave_one_out(examples)
    assert scores[2] == pytest.approx(float(unit(np.array([1.0, 0.0])) @ np.array([0.0, 1.0])))
    assert scores[0] == pytest.approx(float(unit(np.array([1.0, 1.0])) @ np.array([1.0, 0.0])))


def test_the_calibrated_threshold_sits_above_the_reference_where_they_overlap() -> None:
    examples = axis_embed(["x a", "x a b", "x a b c"])
    far = axis_embed(["w"] * 50)
    alone = calibrated_threshold(examples, np.zeros((0, 4)))
    assert alone == pytest.approx(leave_one_out(examples).min())
    assert calibrated_threshold(examples, far) == pytest.approx(alone), "a distant reference changes nothing"
    near = unit(examples[:1] + 0.01)  # reference texts about the same thing: the threshold rises above them
    assert calibrated_threshold(examples, np.repeat(near, 10, axis=0)) >= float(
        near[0] @ unit(examples.mean(0))
    )


def test_each_text_gets_its_closest_topic_or_none_with_the_runner_up() -> None:
    matcher = TopicMatcher.build(parse_topics(FILE, "f"), axis_embed, axis_embed(["w a"] * 5))
    texts = ["x a b", "y a", "w a b", "z"]
    found = matcher.match(axis_embed(texts), texts)
    assert [m.topic for m in found] == ["X", "Y", None, None]
    assert found[0].runner_up == "Y" and found[0].runner_up_score is not None
    assert found[0].score > found[0].runner_up_score
    assert found[2].best in ("X", "Y") and found[2].score < found[2].threshold


def test_a_keyword_adds_its_bonus_to_its_topic_only() -> None:
    matcher = TopicMatcher.build(parse_topics(FILE, "f"), axis_embed, np.zeros((0, 4)))
    texts = ["w has an EX-WORD in it", "w has an ex-wordy in it"]
    scores = matcher.scores(axis_embed(texts), texts)
    assert scores[0, 0] - scores[1, 0] == pytest.approx(KEYWORD_BONUS)
    assert scores[0, 1] == pytest.approx(scores[1, 1])


def test_a_keyword_counts_in_calibration_as_it_counts_in_matching() -> None:
    """A headline near a topic that holds its keyword gets the bonus at match time: calibration must
    count it too, or ordinary news with the keyword gets the topic (issue 36)."""
    # cosines 0.93 to 0.96 to X's centroid, under its examples' 0.99; the last is the farthest
    near = unit(np.array([[1.0, 0.25 + 0.015 * i, 0.0, 0.15] for i in range(10)]))
    texts = ["ordinary market news that says ex-word"] * 10
    definition = parse_topics(FILE, "f")
    matcher = TopicMatcher.build(definition, axis_embed, near, texts)
    assert matcher.topics(near[-1:], texts[-1:]) == [None]
    blind = TopicMatcher.build(definition, axis_embed, near)  # the texts unknown: no bonus counted
    assert blind.topics(near[-1:], texts[-1:]) == ["X"]


def test_a_threshold_in_the_file_wins_over_calibration() -> None:
    data = {"threshold": 1.0, "topics": [*FILE["topics"][:1], topic("Y", "y 1", "y 2", "y 3", threshold=-1)]}
    matcher = TopicMatcher.build(parse_topics(data, "f"), axis_embed, np.zeros((0, 4)))
    assert list(matcher.thresholds) == [1.0, -1]
    texts = ["x a", "y a b c d e f g h"]
    assert matcher.topics(axis_embed(texts), texts) == [None, "Y"], "1 takes no text, -1 every text"


def test_held_out_examples_are_matched_without_themselves() -> None:
    definition = parse_topics(FILE, "f")
    matcher = TopicMatcher.build(definition, axis_embed, np.zeros((0, 4)))
    found = held_out_matches(matcher, definition)
    assert [(name, text) for name, text, _ in found] == [
        (t.name, e) for t in definition.topics for e in t.examples
    ]
    assert all(match.best == name for name, _, match in found)


WITH_Z = {"topics": [*FILE["topics"], topic("Z", "z 1", "z 1 2", "z 1 2 3")]}


def names(source: TopicSource, now: float) -> list[str] | None:
    """The topics in use once the file's change seen at ``now`` has been read (in the background)."""
    source.current(now)
    source.file.settle()
    matcher = source.current(now)
    return matcher.names if matcher is not None else None


def test_a_changed_file_is_followed_and_a_bad_edit_keeps_the_last_good(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text(yaml.safe_dump(FILE))
    source = TopicSource(path, axis_embed, check_s=0)
    assert names(source, 1.0) == ["X", "Y"]
    path.write_text(yaml.safe_dump(WITH_Z))
    assert names(source, 2.0) == ["X", "Y", "Z"]
    matcher = source.current(3.0)
    assert matcher is not None and matcher.topics(axis_embed(["z a"]), ["z a"]) == ["Z"]
    path.write_text("topics: [unclosed")
    assert names(source, 4.0) == ["X", "Y", "Z"]


def test_an_edit_made_while_the_file_is_read_is_loaded_at_the_next_check(tmp_path: Path) -> None:
    """The file's state is taken before it is read: an edit landing during the read is a change."""
    path = tmp_path / "watched.txt"
    path.write_text("first")

    def read_then_edited(at: Path | None) -> str:
        assert at is not None
        text = at.read_text()
        if text == "first":
            at.write_text("second, written while the first was read")
        return text

    watched = WatchedFile(path, read_then_edited, (OSError,), "test file", check_s=0)
    assert watched.contents == "first"
    assert watched.current(1.0) == "second, written while the first was read"


def test_a_changed_file_is_read_while_scoring_goes_on_with_the_topics_before(tmp_path: Path) -> None:
    """Embedding a large file's examples takes the model a while: a scoring call must not wait on it."""
    path = tmp_path / "topics.yml"
    path.write_text(yaml.safe_dump(FILE))
    release = threading.Event()

    def slow_embed(texts: list[str] | tuple[str, ...]) -> np.ndarray:
        if "z 1" in texts:
            assert release.wait(30), "the test never let the reload finish"
        return axis_embed(texts)

    source = TopicSource(path, slow_embed, check_s=0)
    path.write_text(yaml.safe_dump(WITH_Z))
    during = source.current(1.0)  # starts the reload and answers at once
    assert during is not None and during.names == ["X", "Y"] and source.file.reading
    release.set()
    assert names(source, 2.0) == ["X", "Y", "Z"]


def test_topics_that_fail_to_build_keep_the_ones_before_and_say_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "topics.yml"
    path.write_text(yaml.safe_dump(FILE))

    def failing_on_z(texts: list[str] | tuple[str, ...]) -> np.ndarray:
        if "z 1" in texts:
            raise RuntimeError("out of memory")
        return axis_embed(texts)

    source = TopicSource(path, failing_on_z, check_s=0)
    path.write_text(yaml.safe_dump(WITH_Z))
    with caplog.at_level(logging.INFO):
        assert names(source, 1.0) == ["X", "Y"]
    assert source.file.version == 0
    assert "not reloaded" in caplog.text and "out of memory" in caplog.text
    assert "reloaded" not in caplog.text.replace("not reloaded", "")


@pytest.mark.parametrize("off", ["deleted", "", "topics: []\n"])
def test_topics_are_turned_off_by_an_empty_or_deleted_file_and_on_again(tmp_path: Path, off: str) -> None:
    path = tmp_path / "topics.yml"
    path.write_text(yaml.safe_dump(FILE))
    source = TopicSource(path, axis_embed, check_s=0)
    if off == "deleted":
        path.unlink()
    else:
        path.write_text(off)
    assert names(source, 1.0) is None
    path.write_text(yaml.safe_dump(WITH_Z))
    assert names(source, 2.0) == ["X", "Y", "Z"]


def test_a_source_starts_without_its_file_and_takes_it_when_it_comes(tmp_path: Path) -> None:
    """A worker restarted while its topics file is away runs without topics instead of stopping."""
    path = tmp_path / "topics.yml"
    source = TopicSource(path, axis_embed, check_s=0)
    assert source.current(1.0) is None
    path.write_text(yaml.safe_dump(FILE))
    assert names(source, 2.0) == ["X", "Y"]
