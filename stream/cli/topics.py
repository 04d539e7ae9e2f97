"""``tapewatch topics check``: which user topic texts get, and how close the runner-up was."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stream.cli.options import load, text_file_options

if TYPE_CHECKING:
    from model_service.engine import InferenceEngine
    from model_service.user_topics import TopicMatch, TopicMatcher, TopicsFile


@click.group()
def topics() -> None:
    """Topics you define by example (TAPEWATCH_TOPICS_PATH): check a file before deploying it."""


def _line(match: TopicMatch, text: str) -> str:
    got = match.topic or "-"
    runner = f"{match.runner_up[:24]} {match.runner_up_score:.3f}" if match.runner_up else "-"
    return (
        f"{got[:24]:<24} {match.score:6.3f} / {match.threshold:5.3f}  "
        f"(best {match.best[:24]}; next {runner})  {text[:80]}"
    )


@topics.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@text_file_options("CSV or JSONL of texts from your feed; without it, the file's own examples are checked.")
@click.option("--show", default=20, show_default=True, type=click.IntRange(0), help="Texts to list.")
@click.option("--seed", default=0, show_default=True, type=int, help="Which texts are listed.")
def check(path: Path, input_path: Path | None, text_column: str, show: int, seed: int) -> None:
    """Show which topic each text gets: its score against the topic's threshold, and the closest
    other topic. Every text is scored; a sample is listed, with the closest calls.

    \b
    tapewatch topics check examples/topics-crypto.yml
    tapewatch topics check examples/topics-crypto.yml --input headlines.csv --text-column title
    """
    from model_service.batch_files import read_rows
    from model_service.engine import InferenceEngine
    from model_service.settings import ModelSettings
    from model_service.user_topics import TopicsError, read_topics

    try:
        definition = read_topics(path)
    except TopicsError as exc:
        raise click.UsageError(str(exc)) from None
    engine = InferenceEngine.load(load(ModelSettings))
    matcher = engine.topic_matcher(path)
    click.echo(f"{len(definition.topics)} topics; threshold per topic:")
    for name, threshold in zip(matcher.names, matcher.thresholds, strict=True):
        click.echo(f"  {name}: {threshold:.3f}")
    if input_path is None:
        _check_examples(engine, matcher, definition)
        return
    try:
        texts = [str(row.get(text_column) or "") for row in read_rows(input_path)]
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.UsageError(str(exc)) from None
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise click.UsageError(f"{input_path}: no texts in column {text_column!r}")
    matches = matcher.match(engine.embed(texts), texts)
    counts = Counter(m.topic or "(none)" for m in matches)
    click.echo(f"{len(texts)} texts from {input_path}:")
    for name, count in counts.most_common():
        click.echo(f"  {name}: {count} ({count / len(texts):.1%})")
    listed = random.Random(seed).sample(range(len(texts)), min(show, len(texts)))
    click.echo("sample (topic, score / threshold, best and next topic, text):")
    for i in sorted(listed):
        click.echo("  " + _line(matches[i], texts[i]))
    close = sorted(range(len(texts)), key=lambda i: abs(matches[i].score - matches[i].threshold))[:show]
    click.echo("closest to a threshold (a few examples like these move them):")
    for i in close:
        click.echo("  " + _line(matches[i], texts[i]))


def _check_examples(engine: InferenceEngine, matcher: TopicMatcher, definition: TopicsFile) -> None:
    """Each topic's examples (each left out of its own centroid), and the packaged reference headlines."""
    from model_service.user_topics import held_out_matches, reference_headlines

    held_out = held_out_matches(matcher, definition)
    missed = [(name, text, match) for name, text, match in held_out if match.topic != name]
    for name, text, match in missed:
        click.echo(f"  an example of {name} is not given it: " + _line(match, text))
    click.echo(f"examples given their own topic (each left out of its centroid): "
               f"{len(held_out) - len(missed)}/{len(held_out)}")  # fmt: skip
    reference = reference_headlines()
    matches = matcher.match(engine.embed(reference), reference)
    taken = [(m, t) for m, t in zip(matches, reference, strict=True) if m.topic is not None]
    click.echo(f"ordinary market headlines given a topic: {len(taken)}/{len(reference)}")
    for match, text in taken[:10]:
        click.echo("  " + _line(match, text))
