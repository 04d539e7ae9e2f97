"""``tapewatch ingest ...``: send documents to the raw-documents topic."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stream.cli.options import ClockTime, open_producer, report_outcome, stream_settings, wait_option

if TYPE_CHECKING:
    from collections.abc import Iterator

    from common.records import Document
    from stream.ingest.producer import DocumentProducer


def check_delivered(producer: DocumentProducer) -> None:
    if producer.failed:
        raise click.ClickException(
            f"{producer.failed} documents were not acknowledged: {producer.last_error}"
        )


@click.group()
def ingest() -> None:
    """Send documents to the raw-documents topic."""


@ingest.command("file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "file_format", type=click.Choice(["jsonl", "csv"]), help="Default: from the suffix."
)
@click.option(
    "--rate", type=click.FloatRange(min=0), default=0, help="Documents per second; 0 = as fast as possible."
)
@wait_option
def ingest_file(path: Path, file_format: str | None, rate: float, wait: bool, timeout: float) -> None:
    """Send the documents of a JSONL or CSV file; report invalid rows by line number.

    Columns/fields: source, published_at (ISO-8601), title and/or body; optional id, kind (news|post),
    url, author, lang, tickers. A history file sent at full speed lands in the same windows as it
    would live. Then, unless --no-wait, waits for the workers and says how many documents were scored,
    repeats, dead-lettered or late. Exits 1 when some rows were invalid (the valid ones are still sent).
    """
    from stream.ingest.document_file import RowError, detect_format, read_documents
    from stream.ingest.outcome import SentRecords
    from stream.ingest.pacing import at_rate, send_paced

    settings = stream_settings()
    try:
        fmt = file_format or detect_format(path)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    errors: list[RowError] = []

    def valid_documents() -> Iterator[Document]:
        """The file's documents, read as they are sent; bad rows are kept for the report."""
        for item in read_documents(path, fmt):  # type: ignore[arg-type]
            if isinstance(item, RowError):
                errors.append(item)
            else:
                yield item

    started, since, sent = time.monotonic(), datetime.now(UTC), SentRecords()
    with open_producer(settings, sent) as producer:
        send_paced(producer, valid_documents(), at_rate(rate), description=path.name)
    click.echo(
        f"sent {producer.acknowledged} documents to {producer.topic} in {time.monotonic() - started:.1f} s"
    )
    check_delivered(producer)
    if wait and sent.count:
        report_outcome(settings, sent, since, timeout)
    if errors:
        click.echo(f"{len(errors)} invalid rows were not sent:", err=True)
        for error in errors[:50]:
            click.echo(f"  {error}", err=True)
        if len(errors) > 50:
            click.echo(f"  ... and {len(errors) - 50} more", err=True)
        sys.exit(1)


@ingest.command("synthetic")
@click.option(
    "--profile",
    type=click.Choice(["dense", "sparse"]),
    default="dense",
    show_default=True,
    help="dense: one busy market day (the demo's, about 30 a minute); sparse: months of a thin real-like "
    "feed (about 50 a day) with incidents about new names and spam bursts.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same documents.")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The (first) day [dense 2026-11-20, sparse 2026-01-05].",
)
@click.option("--start", type=ClockTime(), default="09:30", show_default=True, help="dense: first minute.")
@click.option("--end", type=ClockTime(), default="16:00", show_default=True, help="dense: end (UTC).")
@click.option(
    "--per-minute",
    type=click.FloatRange(min=0),
    default=30,
    show_default=True,
    help="dense: documents per minute over all topics, before incidents.",
)
@click.option(
    "--incident",
    "incidents",
    multiple=True,
    metavar="SPEC",
    help="dense: TOPIC@HH:MM/MINUTESm/FACTORx/PERCENT%, e.g. 'Energy | Oil@14:00/20m/5x/70%'. Repeatable.",
)
@click.option("--days", type=click.IntRange(min=1), default=120, show_default=True, help="sparse: days.")
@click.option(
    "--per-day", type=click.FloatRange(min=1), default=50, show_default=True, help="sparse: documents a day."
)
@click.option(
    "--incidents-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="sparse: write the labeled incidents (key,start,end,mentions) here, for `tapewatch backtest`.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the documents to this JSON-lines file instead of sending them (`tapewatch ingest file` "
    "reads it).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    help="How many times faster than real time; 0 = as fast as possible. Event time is unchanged. "
    "[dense 60, sparse 0]",
)
def ingest_synthetic(
    profile: str,
    seed: int,
    day: datetime | None,
    start: dt_time,
    end: dt_time,
    per_minute: float,
    incidents: tuple[str, ...],
    days: int,
    per_day: float,
    incidents_out: Path | None,
    out: Path | None,
    speed: float | None,
) -> None:
    """Send a synthetic feed: a dense market day (topics, tickers, authors, syndicated copies, incidents)
    or a sparse months-long one."""
    from alerts.backtest import write_incidents
    from stream.ingest.pacing import compressed, send_paced
    from stream.ingest.sparse import SparseFeed
    from stream.ingest.synthetic import Incident, MarketDay

    if profile == "sparse":
        if incidents:
            raise click.UsageError("--incident is for the dense profile; the sparse one draws its own")
        first_day: dict[str, Any] = {"first_day": day.date()} if day else {}
        feed = SparseFeed(seed=seed, days=days, per_day=per_day, **first_day)
        begins, documents = feed.begins, list(feed.documents())
        speed = 0 if speed is None else speed
        span = f"{days} days from {feed.begins:%Y-%m-%d}, {len(feed.incidents)} incidents"
        if incidents_out is not None:
            write_incidents([i.labeled() for i in feed.incidents], incidents_out)
            click.echo(f"wrote {len(feed.incidents)} incidents to {incidents_out}")
    else:
        if incidents_out is not None:
            raise click.UsageError("--incidents-out is for the sparse profile")
        on_day: dict[str, Any] = {"day": day.date()} if day else {}
        try:
            scenario = MarketDay(
                per_minute=per_minute,
                incidents=[Incident.parse(spec) for spec in incidents],
                seed=seed,
                start=start,
                end=end,
                **on_day,
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--incident") from None
        begins, documents = scenario.begins, list(scenario.documents())
        speed = 60 if speed is None else speed
        span = f"{scenario.begins:%H:%M}-{scenario.ends:%H:%M} UTC on {scenario.day}"
    if out is not None:
        with out.open("wb") as handle:
            handle.writelines(d.dumps() + b"\n" for d in documents)
        click.echo(f"wrote {len(documents)} documents ({span}) to {out}")
        return
    with open_producer(stream_settings()) as producer:
        schedule = compressed(begins, speed)
        send_paced(producer, documents, schedule, total=len(documents), description=f"{profile} feed")
    click.echo(f"sent {producer.acknowledged} documents ({span}) to {producer.topic}")
    check_delivered(producer)


@ingest.command("rss")
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "--interval", type=click.FloatRange(min=1), default=60, show_default=True, help="Seconds between polls."
)
@click.option("--once", is_flag=True, help="Poll every feed once and exit.")
def ingest_rss(urls: tuple[str, ...], interval: float, once: bool) -> None:
    """Poll RSS/Atom feeds and send each new entry once (state in TAPEWATCH_DATA_DIR/rss-state.json)."""
    import threading

    from stream.ingest.rss import FeedPoller

    settings = stream_settings()
    poller = FeedPoller(list(urls), settings.data_dir / "rss-state.json", interval_s=interval)
    with open_producer(settings) as producer:
        if once:
            click.echo(
                f"sent {poller.poll_once(producer.send, producer.flush)} new entries to {producer.topic}"
            )
            return
        click.echo(f"polling {len(urls)} feed(s) every {interval:.0f} s; Ctrl-C stops")
        try:
            poller.run(producer.send, producer.flush, threading.Event())
        except KeyboardInterrupt:
            click.echo(f"stopped; {producer.acknowledged} entries sent")
