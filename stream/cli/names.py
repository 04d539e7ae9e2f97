"""``tapewatch names``: keys linked across the feed, learned from the archive, listed and split."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from stream.cli.options import TIME_HELP, Instant, load, stream_settings

FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
F = TypeVar("F", bound=Callable[..., Any])


def names_path(path: Path | None) -> Path:
    """``--path``, else TAPEWATCH_NAMES_PATH: the file the worker and every door read."""
    from model_service.settings import ModelSettings

    chosen = path or load(ModelSettings).names_path
    if chosen is None:
        raise click.UsageError(
            "no names file: give --path, or set TAPEWATCH_NAMES_PATH (the file workers read)"
        )
    return chosen


def path_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"{help_text} [default: TAPEWATCH_NAMES_PATH]",
    )


@click.group()
def names() -> None:
    """Keys linked across the feed ("Terra (LUNA)": name:LUNA counts under $LUNA; name:CELSIUS under
    name:Celsius). Learned from the archive into a file the worker, `classify` and `serve-model` read
    (TAPEWATCH_NAMES_PATH, reread when it changes), so every door keys a text the same way."""


@names.command("learn")
@click.option("--from", "start", type=Instant(), help=f"Archived documents published from. {TIME_HELP}")
@click.option("--to", "end", type=Instant(), help=f"Up to (excluded); default: now. {TIME_HELP}")
@click.option(
    "--min-seen",
    default=2,
    show_default=True,
    type=click.IntRange(1),
    help="Texts a link needs (a declaration, a name form) before it is made.",
)
@path_option("The names file to write (a split it holds is kept).")
def learn(start: datetime | None, end: datetime | None, min_seen: int, path: Path | None) -> None:
    """Learn the links from the archived documents and write the names file."""
    from tqdm import tqdm

    from model_service.name_registry import NameLearner, NamesError, read_names, write_names
    from stream.replay.sources import ReplayError, read_archive, scored_documents

    target = names_path(path)
    settings = stream_settings()
    try:
        kept = read_names(target).file.split if target.exists() else []
    except NamesError as exc:
        raise click.ClickException(f"{exc} (fix or remove it before learning)") from None
    period_end = end or datetime.now(UTC) + timedelta(days=1)
    try:
        table = read_archive(settings.archive_root, start or FAR_PAST, period_end)
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from None
    if table.num_rows == 0:
        raise click.ClickException(f"no archived documents in {settings.archive_root} for that period")
    learner = NameLearner(min_seen=min_seen)
    unkeyed = 0
    for scored in tqdm(scored_documents(table), total=table.num_rows, desc="reading the archive", unit="doc"):
        if scored.entities is None:
            unkeyed += 1
            continue
        learner.see(scored.document.text, scored.entities)
    learned = learner.learn(split=kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_names(target, learned)
    by_rule = ", ".join(
        f"{why} {sum(link.why == why for link in learned.links)}" for why in ("declared", "case", "prefix")
    )
    click.echo(
        f"{len(learned.links)} links from {table.num_rows:,} documents ({by_rule}) written to {target}"
    )
    if unkeyed:
        click.echo(f"{unkeyed:,} documents were scored before keys were stored: `replay --rekey` keys them")


@names.command("list")
@path_option("The names file to read.")
def list_names(path: Path | None) -> None:
    """The linked keys: what each counts under, by which rule, from how many texts."""
    from model_service.name_registry import NamesError, read_names

    target = names_path(path)
    if not target.exists():
        raise click.ClickException(f"{target} does not exist: `tapewatch names learn` writes it")
    try:
        registry = read_names(target)
    except NamesError as exc:
        raise click.ClickException(str(exc)) from None
    links = registry.file.links
    width = max((len(link.key) for link in links), default=3)
    for link in links:
        final = registry.resolve(link.key)
        note = " (split)" if link.key in registry.file.split else ""
        into = final.into if final is not None else link.into
        click.echo(f"{link.key:<{width}}  ->  {into:<24} {link.why:<8} {link.seen:>5} texts{note}")
    click.echo(f"{len(registry)} links in force, {len(registry.file.split)} keys split")


@names.command("split")
@click.argument("keys", nargs=-1, required=True)
@path_option("The names file to change.")
def split(keys: tuple[str, ...], path: Path | None) -> None:
    """Keep KEYS apart: never linked, whatever the archive says (undo by deleting them under `split`)."""
    from model_service.name_registry import NamesError, NamesFile, read_names, write_names

    target = names_path(path)
    try:
        current = read_names(target).file if target.exists() else NamesFile()
    except NamesError as exc:
        raise click.ClickException(str(exc)) from None
    unknown = [k for k in keys if k not in {link.key for link in current.links}]
    current.split = sorted({*current.split, *keys})
    write_names(target, current)
    click.echo(f"{len(keys)} keys split in {target}; workers reread it within TAPEWATCH_NAMES_CHECK_S")
    if unknown:
        click.echo(f"not linked now (kept apart if a later learn would link them): {', '.join(unknown)}")
