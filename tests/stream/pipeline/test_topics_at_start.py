"""A worker's topics file at start: a bad one stops it, a missing one does not, and a worker whose model
is the model service says that its own file is not read."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from model_service.user_topics import TopicsError
from stream.pipeline.scoring import check_topics_file


def test_a_bad_topics_file_stops_the_worker_at_start(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics: [unclosed")
    with pytest.raises(TopicsError, match="not YAML"):
        check_topics_file(None, path)


def test_a_worker_starts_without_its_topics_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_topics_file(None, tmp_path / "away.yml")
    assert "user topics are off" in caplog.text


def test_a_worker_on_the_model_service_says_its_topics_file_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics: [unclosed")  # not read at all: no error
    with caplog.at_level(logging.WARNING):
        check_topics_file("http://model:8000", path)
    assert f"TAPEWATCH_TOPICS_PATH ({path}) is not read by this worker" in caplog.text
