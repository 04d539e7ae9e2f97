"""One key per entity across a feed: the names a feed writes, linked once and kept in a file. Pure.

Linking (``linking.py``) decides a text's keys from that text alone, so one entity written several
ways across a feed counts under several keys: "Terra" in one headline and "LUNA" in the next, "Luna
Foundation Guard" and "Luna", "LUNA" and "Luna". A registry links such keys into one. It is learned
from what the feed said (``tapewatch names learn``, from the archive), read by every door that
scores (the worker, ``classify``, ``POST /v1/classify``, ``replay --rekey``) and reread when it
changes, like a watchlist: keys stay decided once, at scoring, the same at every worker and in replay,
and a user reads the registry (``tapewatch names list``) and splits what it got wrong (``tapewatch
names split``). A watchlist entry merges by its aliases (an entity asked about keeps its own key).

Rules, each from ``min_seen`` texts or more (one headline proves little):
- **declared**: "Terra (LUNA)", "TerraUSD (UST)": the parenthesised symbol's key and the name's are one,
  under the listed asset's key where one of them is listed (``$LUNA``), else under the name;
- **case**: ``name:LUNA`` and ``name:Luna`` are one key, the form the feed writes most;
- **prefix**: a name whose words start with another's ("Luna Foundation Guard", "Luna") is the shorter,
  unless the shorter is a place ("New York Times" is not "New York").
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field

from common.watched_file import read_yaml, validated
from model_service.linking import LinkedEntity

log = logging.getLogger(__name__)

NAME_PREFIX = "name:"
WHY = ("declared", "case", "prefix")  # in the order a key's link is chosen when rules disagree
# "Terra (LUNA)", "TerraUSD ($UST)": a capitalized name of up to four words, then its symbol
_WORD = r"[A-Z][\w&.'\u2019-]*"
_DECLARED = re.compile(rf"(?P<name>{_WORD}(?: {_WORD}){{0,3}}) \(\$?(?P<symbol>[A-Z][A-Z0-9]{{1,9}})\)")
MAX_HOPS = 8  # a chain of links longer than this is a loop


class NamesError(ValueError):
    """A names file that cannot be read; the message names the file and the problem."""


class NameLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=2)  # "name:LUNA"
    into: str = Field(min_length=2)  # "$LUNA": the key it counts under
    name: str = ""  # how the entity it counts under is called
    why: str = "declared"  # which rule linked it (``WHY``), or "user"
    seen: int = Field(0, ge=0)  # texts that showed it


class NamesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    links: list[NameLink] = Field(default_factory=list)
    split: list[str] = Field(default_factory=list)  # keys a user keeps apart: never linked


class LabelLike(Protocol):
    """What the learner reads of a scored document's entity (``common.records.EntityLabel``)."""

    name: str
    type: str
    mentions: list[list[int]] | None


class NameRegistry:
    """The keys a names file links, applied to one text's linked entities."""

    def __init__(self, names: NamesFile | None = None) -> None:
        self.file = names or NamesFile()
        kept = set(self.file.split)
        self._links = {link.key: link for link in self.file.links if link.key not in kept}

    def __len__(self) -> int:
        return len(self._links)

    def resolve(self, key: str) -> NameLink | None:
        """The last link of ``key``'s chain (its ``into`` is the key it counts under), or None."""
        link, seen = self._links.get(key), {key}
        while (
            link is not None and link.into in self._links and link.into not in seen and len(seen) < MAX_HOPS
        ):
            seen.add(link.into)
            link = self._links[link.into]
        return link

    def apply(self, entities: Sequence[LinkedEntity]) -> list[LinkedEntity]:
        """``entities`` with each linked key replaced; two that become one key are one entity, where the
        first of them stood."""
        if not self._links:
            return list(entities)
        out: dict[str, LinkedEntity] = {}
        for entity in entities:
            link = self.resolve(entity.key)
            key, name = (
                (link.into, link.name or entity.name) if link is not None else (entity.key, entity.name)
            )
            merged = out.get(key)
            if merged is None:
                out[key] = LinkedEntity(key, name, entity.type, list(entity.spans))
            else:
                merged.spans = sorted([*merged.spans, *entity.spans], key=lambda s: s.start)
        return list(out.values())


@dataclass
class NameLearner:
    """Reads scored documents in any order and proposes the links of ``NameRegistry``."""

    min_seen: int = 2

    def __post_init__(self) -> None:
        self.seen: Counter[str] = Counter()  # key -> texts
        self.names: dict[str, Counter[str]] = defaultdict(Counter)  # key -> its names, by texts
        self.types: dict[str, Counter[str]] = defaultdict(Counter)
        self.declared: Counter[tuple[str, str]] = Counter()  # (symbol's key, name's key) -> texts

    def see(self, text: str, entities: Mapping[str, LabelLike]) -> None:
        spans: list[tuple[int, int, str]] = []
        for key, label in entities.items():
            self.seen[key] += 1
            if label.name:
                self.names[key][label.name] += 1
            if label.type:
                self.types[key][label.type] += 1
            spans += [(start, end, key) for start, end in label.mentions or ()]
        for match in _DECLARED.finditer(text):
            named = _key_over(spans, *match.span("name"))
            symbol = _key_over(spans, *match.span("symbol"))
            if named is not None and symbol is not None and named != symbol:
                self.declared[(symbol, named)] += 1

    def learn(self, split: Iterable[str] = ()) -> NamesFile:
        links: dict[str, NameLink] = {}
        for why, found in (
            ("declared", self._declared()),
            ("case", self._cases()),
            ("prefix", self._prefixes()),
        ):
            for key, into, seen in found:
                if key not in links and into != key:
                    links[key] = NameLink(key=key, into=into, name=self._name(into), why=why, seen=seen)
        ordered = sorted(links.values(), key=lambda link: (link.into, -link.seen, link.key))
        return NamesFile(links=ordered, split=sorted(set(split)))

    def _name(self, key: str) -> str:
        names = self.names.get(key)
        return names.most_common(1)[0][0] if names else key.split(":", 1)[-1].lstrip("$")

    def _declared(self) -> list[tuple[str, str, int]]:
        found = []
        for (symbol, named), count in sorted(self.declared.items()):
            if count < self.min_seen:
                continue
            if named.startswith(NAME_PREFIX):
                found.append(
                    (named, symbol, count) if not symbol.startswith(NAME_PREFIX) else (symbol, named, count)
                )
            elif symbol.startswith(NAME_PREFIX):
                found.append((symbol, named, count))
        return found

    def _cases(self) -> list[tuple[str, str, int]]:
        by_form: dict[str, list[str]] = defaultdict(list)
        for key in self.seen:
            if key.startswith(NAME_PREFIX):
                by_form[key.casefold()].append(key)
        found = []
        for keys in by_form.values():
            if len(keys) < 2 or sum(self.seen[k] for k in keys) < self.min_seen:
                continue
            first = min(keys, key=lambda k: (-self.seen[k], k))
            found += [(k, first, self.seen[k]) for k in keys if k != first]
        return found

    def _prefixes(self) -> list[tuple[str, str, int]]:
        shorter = {
            tuple(key[len(NAME_PREFIX) :].casefold().split()): key
            for key, count in self.seen.items()
            if key.startswith(NAME_PREFIX) and count >= self.min_seen and self._type(key) != "place"
        }
        found = []
        for key, count in sorted(self.seen.items()):
            words = tuple(key[len(NAME_PREFIX) :].casefold().split())
            if not key.startswith(NAME_PREFIX) or len(words) < 2:
                continue
            start = next((shorter[words[:n]] for n in range(1, len(words)) if words[:n] in shorter), None)
            if start is not None:
                found.append((key, start, count))
        return found

    def _type(self, key: str) -> str:
        types = self.types.get(key)
        return types.most_common(1)[0][0] if types else "other"


def _key_over(spans: Sequence[tuple[int, int, str]], start: int, end: int) -> str | None:
    """The key of the first mention overlapping ``start:end``."""
    return next((key for a, b, key in spans if a < end and start < b), None)


def parse_names(data: Any, origin: str) -> NamesFile:
    return validated(NamesFile, data if data is not None else {}, NamesError, f"{origin}: not a names file")


def read_names(path: Path | None) -> NameRegistry:
    """The registry in ``path`` (YAML or JSON), or an empty one when None or not written yet (a worker
    may be started with TAPEWATCH_NAMES_PATH before `tapewatch names learn` writes it, and rereads it)."""
    if path is None:
        return NameRegistry()
    if not path.exists():
        log.warning(
            "names file %s does not exist yet: no keys linked (tapewatch names learn writes it)", path
        )
        return NameRegistry()
    return NameRegistry(parse_names(read_yaml(path, NamesError), str(path)))


def write_names(path: Path, names: NamesFile) -> None:
    header = (
        "# Keys linked across the feed (tapewatch names learn): each counts under `into`. A key under\n"
        "# `split` is never linked; edit freely, workers reread this file when it changes.\n"
    )
    body = yaml.safe_dump(names.model_dump(), sort_keys=False, allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")
