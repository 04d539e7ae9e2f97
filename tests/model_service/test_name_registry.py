"""Keys linked across a feed: what the learner links, and the registry applied to a text's entities. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from model_service.linking import LinkedEntity
from model_service.mentions import Span
from model_service.name_registry import (
    NameLearner,
    NameLink,
    NameRegistry,
    NamesError,
    NamesFile,
    read_names,
    write_names,
)


@dataclass
class Label:
    name: str
    type: str = "organisation"
    mentions: list[list[int]] | None = field(default_factory=list)


def see(learner: NameLearner, text: str, entities: dict[str, tuple[str, str]]) -> None:
    """``entities``: key -> (name as written, type)."""
    found = {}
    for key, (name, kind) in entities.items():
        start = text.index(name)
        found[key] = Label(name, kind, [[start, start + len(name)]])
    learner.see(text, found)


def links_of(names: NamesFile) -> dict[str, tuple[str, str]]:
    return {link.key: (link.into, link.why) for link in names.links}


def test_a_declared_symbol_links_to_its_name_or_to_the_listed_asset() -> None:
    learner = NameLearner(min_seen=2)
    for _ in range(2):
        see(
            learner,
            "Terra (LUNA) crashes",
            {"name:Terra": ("Terra", "product"), "name:LUNA": ("LUNA", "product")},
        )
        see(
            learner,
            "TerraUSD (UST) loses its peg",
            {"name:TerraUSD": ("TerraUSD", "product"), "$UST": ("UST", "product")},
        )
    see(
        learner,
        "Acme (ACM) once",
        {"name:Acme": ("Acme", "organisation"), "name:ACM": ("ACM", "organisation")},
    )
    assert links_of(learner.learn()) == {
        "name:LUNA": ("name:Terra", "declared"),  # both names: the symbol counts under the name
        "name:TerraUSD": ("$UST", "declared"),  # a listed asset keeps its key
    }  # and one text declaring "Acme (ACM)" proves nothing


def test_case_variants_are_one_key_the_form_written_most() -> None:
    learner = NameLearner(min_seen=2)
    for form in ("LUNA", "LUNA", "Luna"):
        see(learner, f"{form} slides", {f"name:{form}": (form, "product")})
    assert links_of(learner.learn()) == {"name:Luna": ("name:LUNA", "case")}


def test_a_longer_name_is_the_shorter_one_it_starts_with_but_not_a_place() -> None:
    learner = NameLearner(min_seen=2)
    for _ in range(2):
        see(learner, "Celsius pauses withdrawals", {"name:Celsius": ("Celsius", "organisation")})
        see(learner, "New York weighs rules", {"name:New York": ("New York", "place")})
    see(
        learner,
        "Celsius Network hires lawyers",
        {"name:Celsius Network": ("Celsius Network", "organisation")},
    )
    see(learner, "New York Times reports", {"name:New York Times": ("New York Times", "organisation")})
    assert links_of(learner.learn()) == {"name:Celsius Network": ("name:Celsius", "prefix")}


def test_the_registry_merges_linked_entities_where_the_first_stood_and_keeps_split_keys_apart() -> None:
    names = NamesFile(
        links=[
            NameLink(key="name:LUNA", into="name:Terra", name="Terra"),
            NameLink(key="name:Terra", into="$LUNA", name="Terra"),  # a chain: both end at $LUNA
            NameLink(key="name:Kwon", into="name:Do Kwon", name="Do Kwon"),
        ],
        split=["name:Kwon"],
    )
    registry = NameRegistry(names)
    entities = [
        LinkedEntity("name:LUNA", "LUNA", "product", [Span(20, 24)]),
        LinkedEntity("name:Kwon", "Kwon", "person", [Span(30, 34)]),
        LinkedEntity("$LUNA", "Terra", "product", [Span(0, 5)]),
    ]
    applied = registry.apply(entities)
    assert [(e.key, e.name, e.spans) for e in applied] == [
        ("$LUNA", "Terra", [Span(0, 5), Span(20, 24)]),
        ("name:Kwon", "Kwon", [Span(30, 34)]),  # split: kept apart
    ]
    looped = NameRegistry(
        NamesFile(links=[NameLink(key="name:A", into="name:B"), NameLink(key="name:B", into="name:A")])
    )
    assert looped.resolve("name:A") is not None  # a loop ends, it does not hang


def test_a_names_file_round_trips_and_a_bad_one_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "names.yml"
    names = NamesFile(links=[NameLink(key="name:LUNA", into="$LUNA", name="Terra", why="declared", seen=3)])
    write_names(path, names)
    assert read_names(path).file == names
    assert len(read_names(None)) == 0
    assert len(read_names(tmp_path / "not-learned-yet.yml")) == 0  # a worker may start before learn
    path.write_text("links:\n  - key: name:LUNA\n")
    with pytest.raises(NamesError, match=r"names.yml.*links\.0\.into"):
        read_names(path)
