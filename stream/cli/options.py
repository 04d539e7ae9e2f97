"""What every command shares: settings loading, time parsing, the training-data option, a producer.

Settings errors and unreachable brokers become one-line usage errors here, so no command repeats it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from common.settings import ComponentSettings, SettingsError

if TYPE_CHECKING:
    from stream.ingest.outcome import SentRecords
    from stream.ingest.producer import DocumentProducer
    from stream.settings import StreamSettings

S = TypeVar("S", bound=ComponentSettings)
F = TypeVar("F", bound=Callable[..., Any])

TIME_HELP = "ISO-8601, e.g. 2026-11-20T09:30 (UTC unless it has a zone)."


def load(kind: type[S], **overrides: object) -> S:
    """A component's settings from TAPEWATCH_* variables and command-line overrides, or a usage error."""
    try:
        return kind.load(**overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


def stream_settings() -> StreamSettings:
    from stream.settings import StreamSettings

    return load(StreamSettings)


def open_producer(settings: StreamSettings, sent: SentRecords | None = None) -> DocumentProducer:
    """A producer to the raw topic, or a one-line error naming the broker address."""
    from stream.ingest.producer import DocumentProducer
    from stream.topics import BrokerUnreachable

    try:
        return DocumentProducer(settings, sent=sent)
    except BrokerUnreachable as exc:
        raise click.ClickException(str(exc)) from None


class Instant(click.ParamType):
    """A point in time: ISO-8601, UTC unless it says otherwise."""

    name = "time"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time (e.g. 2026-11-20T09:30)", param, ctx)
        return at if at.tzinfo else at.replace(tzinfo=UTC)


class ClockTime(click.ParamType):
    """A time of day, HH:MM."""

    name = "HH:MM"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt_time:
        if isinstance(value, dt_time):
            return value
        try:
            return dt_time.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time of day (HH:MM)", param, ctx)


def check_range(start: datetime, end: datetime) -> None:
    if start > end:
        raise click.UsageError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    if start == end:
        raise click.UsageError("empty range: --from and --to are the same time")


def wait_option(function: F) -> F:
    """``--wait/--no-wait`` and ``--timeout``: follow the workers until they finish what was sent."""
    function = click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=60,
        show_default=True,
        help="Stop waiting when the workers finish nothing for this many seconds.",
    )(function)
    return click.option(
        "--wait/--no-wait",
        default=True,
        show_default=True,
        help="Wait for the workers, then say what became of the documents: scored, duplicates, dead "
        "letters, late.",
    )(function)


def report_outcome(settings: StreamSettings, sent: SentRecords, since: datetime, timeout: float) -> None:
    """Follow the workers with a progress bar, then print the summary line."""
    from stream.ingest.outcome import follow

    click.echo("waiting for the workers to finish them (Ctrl-C or --no-wait skips this) ...", err=True)
    try:
        summary = follow(settings, sent, since, timeout_s=timeout)
    except KeyboardInterrupt:
        click.echo("stopped waiting; the documents are on the raw topic", err=True)
        return
    click.echo(summary.line())


def training_data_dir() -> Path:
    from model_service.settings import ModelSettings

    return load(ModelSettings).training_data_dir


def training_data_option(function: F) -> F:
    """``--data-dir``: the labeled CSVs; default TAPEWATCH_MODEL_TRAINING_DATA_DIR (../shared/data)."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=training_data_dir,
        show_default="TAPEWATCH_MODEL_TRAINING_DATA_DIR or ../shared/data",
        help="Folder of the labeled CSVs: sentiment_train.csv, topic_train.csv, topic_labels.txt.",
    )(function)


def text_file_options(input_help: str) -> Callable[[F], F]:
    """``--input FILE`` (CSV or JSONL) and ``--text-column``: texts read from a file."""

    def add(function: F) -> F:
        function = click.option(
            "--text-column", default="text", show_default=True, help="Column/field holding the text."
        )(function)
        return click.option(
            "--input",
            "input_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help=input_help,
        )(function)

    return add
