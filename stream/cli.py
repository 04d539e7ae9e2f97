"""The ``tapewatch`` command line. Configuration comes from ``TAPEWATCH_*`` environment variables."""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click
from pydantic import ValidationError

from stream.settings import StreamSettings


def load_settings() -> StreamSettings:
    try:
        return StreamSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TAPEWATCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise click.UsageError(f"invalid settings: {problems}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tapewatch")
def cli() -> None:
    """tapewatch: streaming financial sentiment monitor.

    Settings come from TAPEWATCH_* environment variables, e.g. TAPEWATCH_BROKER_URL=host:9092
    (default 127.0.0.1:9092, where `tapewatch broker` listens).
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("stream").setLevel(logging.INFO)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=9092, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
def broker(host: str, port: int) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, in memory) in the foreground."""
    from stream.broker import BrokerError, EmbeddedBroker

    server = EmbeddedBroker(host=host, port=port or None)
    try:
        server.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from None

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    click.echo(
        f"broker ready on {server.bootstrap} (memory storage; log: {server.log_path}). Ctrl-C stops it."
    )
    try:
        code = server.wait()
    except KeyboardInterrupt:
        server.stop()
        return
    if code:
        raise click.ClickException(f"the broker exited with code {code}: {server.output()[-500:]}")


@cli.command()
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
)
def worker(loglevel: str) -> None:
    """Run the stream worker (Faust) against TAPEWATCH_BROKER_URL until Ctrl-C."""
    from stream.app import create_app, run_worker

    settings = load_settings()
    run_worker(create_app(settings), loglevel=loglevel)


@cli.group()
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
def ingest_file(path: Path, file_format: str | None, rate: float) -> None:
    """Send the documents of a JSONL or CSV file; report invalid rows by line number.

    Columns/fields: source, published_at (ISO-8601), title and/or body; optional id, kind (news|post),
    url, author, lang, tickers. Exits 1 when some rows were invalid (the valid ones are still sent).
    """
    from tqdm import tqdm

    from stream.ingest.document_file import RowError, count_lines, detect_format, read_documents
    from stream.producer import DocumentProducer
    from stream.topics import BrokerUnreachable

    settings = load_settings()
    try:
        fmt = file_format or detect_format(path)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    errors: list[RowError] = []
    try:
        producer = DocumentProducer(settings)
    except BrokerUnreachable as exc:
        raise click.ClickException(str(exc)) from None
    started = time.monotonic()
    sent = 0
    header_lines = 1 if fmt == "csv" else 0
    with producer, tqdm(total=count_lines(path) - header_lines, unit="row", desc=path.name) as bar:
        for item in read_documents(path, fmt):  # type: ignore[arg-type]
            bar.update(1)
            if isinstance(item, RowError):
                errors.append(item)
                continue
            producer.send(item)
            sent += 1
            if rate:
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    click.echo(
        f"sent {producer.acknowledged} documents to {producer.topic} in {time.monotonic() - started:.1f} s"
    )
    if producer.failed:
        raise click.ClickException(
            f"{producer.failed} documents were not acknowledged: {producer.last_error}"
        )
    if errors:
        click.echo(f"{len(errors)} invalid rows were not sent:", err=True)
        for error in errors[:50]:
            click.echo(f"  {error}", err=True)
        if len(errors) > 50:
            click.echo(f"  ... and {len(errors) - 50} more", err=True)
        sys.exit(1)


@cli.command()
@click.option(
    "--duration", type=click.FloatRange(min=1), default=90, show_default=True, help="Seconds to run."
)
def demo(duration: float) -> None:
    """Run the embedded stack (broker, worker, a feed) with a live view; stops by itself."""
    from stream.demo import run_demo

    run_demo(duration=duration)


def main() -> None:
    cli(prog_name="tapewatch")


if __name__ == "__main__":
    main()
