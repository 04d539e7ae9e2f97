"""``tapewatch names``: learned from a real parquet archive, listed, split, with clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from common.records import EntityLabel
from model_service.name_registry import read_names
from stream.archive import ParquetArchive
from tests.helpers import T0, scored, tapewatch

pytestmark = pytest.mark.integration

HEADLINES = [  # (text, {key: name as written})
    ("Terra (LUNA) crashes as UST slips", {"name:Terra": "Terra", "name:LUNA": "LUNA"}),
    ("Terra (LUNA) halts its chain", {"name:Terra": "Terra", "name:LUNA": "LUNA"}),
    ("LUNA holders wait", {"name:LUNA": "LUNA"}),
    ("Celsius pauses withdrawals", {"name:Celsius": "Celsius"}),
    ("Celsius says funds are safe", {"name:Celsius": "Celsius"}),
    ("Celsius Network hires lawyers", {"name:Celsius Network": "Celsius Network"}),
]


def archive_of(root: Path) -> None:
    documents = []
    for n, (text, found) in enumerate(HEADLINES):
        document = scored(f"d{n}", T0 + timedelta(minutes=n))
        labels = {}
        for key, name in found.items():
            start = text.index(name)
            labels[key] = EntityLabel(
                sentiment="negative", score=-0.5, name=name, mentions=[[start, start + len(name)]]
            )
        document.document.title = text
        document.entities = labels
        documents.append(document)
    ParquetArchive(root).write(documents)


def test_names_learn_links_what_the_archive_says_and_split_keeps_a_key_apart(tmp_path: Path) -> None:
    archive, names = tmp_path / "archive", tmp_path / "names.yml"
    archive_of(archive)
    env = {"TAPEWATCH_ARCHIVE_DIR": str(archive), "TAPEWATCH_NAMES_PATH": str(names)}
    learned = tapewatch("names", "learn", env=env)
    assert learned.returncode == 0, learned.stderr
    assert "2 links from 6 documents (declared 1, case 0, prefix 1)" in learned.stdout
    links = {link.key: link.into for link in read_names(names).file.links}
    assert links == {"name:LUNA": "name:Terra", "name:Celsius Network": "name:Celsius"}
    listed = tapewatch("names", "list", env=env)
    assert listed.returncode == 0 and "name:LUNA" in listed.stdout and "declared" in listed.stdout
    assert tapewatch("names", "split", "name:Celsius Network", env=env).returncode == 0
    relearned = tapewatch("names", "learn", env=env)  # a split survives learning again
    assert relearned.returncode == 0, relearned.stderr
    registry = read_names(names)
    assert registry.resolve("name:Celsius Network") is None and registry.resolve("name:LUNA") is not None
    assert "1 links in force, 1 keys split" in tapewatch("names", "list", env=env).stdout


def test_names_commands_say_what_is_missing(tmp_path: Path) -> None:
    no_path = tapewatch("names", "list")  # and TAPEWATCH_NAMES_PATH not set
    assert no_path.returncode == 2 and "TAPEWATCH_NAMES_PATH" in no_path.stderr
    empty = tapewatch(
        "names",
        "learn",
        "--path",
        str(tmp_path / "n.yml"),
        env={"TAPEWATCH_ARCHIVE_DIR": str(tmp_path / "none")},
    )
    assert empty.returncode == 1 and "no archive at" in empty.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("links: [1]\n")
    listed = tapewatch("names", "list", "--path", str(bad))
    assert listed.returncode == 1 and "bad.yml" in listed.stderr and "links.0" in listed.stderr
