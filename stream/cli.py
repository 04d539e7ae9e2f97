"""The ``tapewatch`` command line. Configuration comes from ``TAPEWATCH_*`` environment variables."""

from __future__ import annotations

import logging
import signal
import sys
import time
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from stream.settings import StreamSettings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from stream.producer import DocumentProducer
    from stream.records import Document


def load_settings() -> StreamSettings:
    try:
        return StreamSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TAPEWATCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise click.UsageError(f"invalid settings: {problems}") from None


def open_producer(settings: StreamSettings) -> DocumentProducer:
    from stream.producer import DocumentProducer
    from stream.topics import BrokerUnreachable

    try:
        return DocumentProducer(settings)
    except BrokerUnreachable as exc:
        raise click.ClickException(str(exc)) from None


def parse_clock(value: str) -> dt_time:
    try:
        return dt_time.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time of day (HH:MM)") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tapewatch")
def cli() -> None:
    """tapewatch: streaming financial sentiment monitor.

    Settings come from TAPEWATCH_* environment variables, e.g. TAPEWATCH_BROKER_URL=host:9092
    (default 127.0.0.1:9092, where `tapewatch broker` listens).
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for ours in ("stream", "model_service", "alerts"):
        logging.getLogger(ours).setLevel(logging.INFO)


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
    """Run the stream worker (Faust) against TAPEWATCH_BROKER_URL until Ctrl-C.

    Agents: classify (raw -> scored, in-process model unless TAPEWATCH_MODEL_URL is set), aggregate
    (windows -> trends), archive (Parquet under TAPEWATCH_DATA_DIR). Metrics on /metrics.
    """
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
    from stream.ingest.document_file import RowError, detect_format, read_documents
    from stream.ingest.pacing import at_rate, send_paced

    settings = load_settings()
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

    started = time.monotonic()
    with open_producer(settings) as producer:
        send_paced(producer, valid_documents(), at_rate(rate), description=path.name)
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


@ingest.command("synthetic")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same documents.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default="2026-11-20", show_default=True)
@click.option("--start", default="09:30", show_default=True, help="First minute (UTC), HH:MM.")
@click.option("--end", default="16:00", show_default=True, help="End (UTC), HH:MM.")
@click.option(
    "--per-minute",
    type=click.FloatRange(min=0),
    default=30,
    show_default=True,
    help="Documents per minute over all topics, before incidents.",
)
@click.option(
    "--incident",
    "incidents",
    multiple=True,
    metavar="SPEC",
    help="TOPIC@HH:MM/MINUTESm/FACTORx/PERCENT%, e.g. 'Energy | Oil@14:00/20m/5x/70%'. Repeatable.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    help="How many times faster than real time; 0 = as fast as possible. Event time is unchanged.",
)
def ingest_synthetic(
    seed: int,
    day: datetime,
    start: str,
    end: str,
    per_minute: float,
    incidents: tuple[str, ...],
    speed: float,
) -> None:
    """Send a synthetic market day: topics, tickers, authors, syndicated copies and incidents."""
    from stream.ingest.pacing import compressed, send_paced
    from stream.synthetic import Incident, MarketDay

    try:
        scenario = MarketDay(
            day=day.date(),
            start=parse_clock(start),
            end=parse_clock(end),
            per_minute=per_minute,
            incidents=[Incident.parse(spec) for spec in incidents],
            seed=seed,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--incident") from None
    documents = list(scenario.documents())
    with open_producer(load_settings()) as producer:
        send_paced(
            producer,
            documents,
            compressed(scenario.begins, speed),
            total=len(documents),
            description="synthetic day",
        )
    click.echo(
        f"sent {producer.acknowledged} documents ({scenario.begins:%H:%M}-{scenario.ends:%H:%M} UTC "
        f"on {scenario.day}) to {producer.topic}"
    )
    if producer.failed:
        raise click.ClickException(
            f"{producer.failed} documents were not acknowledged: {producer.last_error}"
        )


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

    settings = load_settings()
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


@cli.command()
@click.option(
    "--duration", type=click.FloatRange(min=1), default=150, show_default=True, help="Seconds to run."
)
def demo(duration: float) -> None:
    """The embedded stack with a live view: broker, worker, model, a synthetic day with a negative spike."""
    from stream.demo import run_demo

    run_demo(duration=duration)


@cli.group()
def bench() -> None:
    """Benchmarks; results are printed and written to docs/benchmarks.md."""


@bench.command("model")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("../shared/data"),
    show_default=True,
    help="Labeled CSVs (the dev split is measured).",
)
@click.option(
    "--texts", type=click.IntRange(32), default=512, show_default=True, help="Texts per measurement."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("docs/benchmarks.md"),
    show_default=True,
    help="Markdown file to update (skipped when its folder does not exist).",
)
def bench_model(as_json: bool, data_dir: Path, texts: int, report: Path) -> None:
    """Texts/s of the engine (batch 1-128), a per-message loop, an HF pipeline, each backend, and HTTP."""
    import json

    from model_service.benchmark import as_json as to_json
    from model_service.benchmark import markdown, run_model_benchmark
    from model_service.cli import load_model_settings
    from stream.bench_report import write_section

    result = run_model_benchmark(data_dir, load_model_settings(), n_texts=texts)
    text = markdown(result)
    click.echo(json.dumps(to_json(result), indent=2) if as_json else text)
    if report.parent.is_dir():
        write_section("model", "Model throughput", text, report)
        click.echo(f"written to {report}", err=True)


@cli.group()
def grafana() -> None:
    """Grafana dashboards (as code) and the sync of dashboards and alert annotations."""


@grafana.command("render")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("deploy/grafana/dashboards"),
    show_default=True,
    help="Folder for the dashboard JSON files.",
)
def grafana_render(out: Path) -> None:
    """Write the market, ticker and pipeline dashboards as JSON (built with Grafana's foundation SDK)."""
    from stream.grafana.dashboards import render

    for path in render(out):
        click.echo(f"wrote {path}", err=True)


@grafana.command("sync")
@click.option("--url", help="Grafana's URL [TAPEWATCH_GRAFANA_URL or http://localhost:3000].")
@click.option("--no-dashboards", is_flag=True, help="Only post alert annotations.")
@click.option("--follow", is_flag=True, help="Keep posting new alerts as they come (Ctrl-C stops).")
def grafana_sync(url: str | None, no_dashboards: bool, follow: bool) -> None:
    """Push the dashboards, and post every alert on the alerts topic as an annotation (once).

    The token comes from TAPEWATCH_GRAFANA_TOKEN (a service account token with the Editor role);
    the alerts from TAPEWATCH_BROKER_URL and TAPEWATCH_TOPIC_PREFIX.
    """
    from grafana_client.client import GrafanaClientError, GrafanaException

    from stream.grafana.sync import AlertsTopic, GrafanaSettings, GrafanaSync, connect
    from stream.topics import TopicNames

    settings = load_settings()
    try:
        grafana_settings = GrafanaSettings(**({"url": url} if url else {}))
    except ValidationError as exc:
        raise click.UsageError(f"invalid Grafana settings: {exc.errors()[0]['msg']}") from None
    alerts = AlertsTopic(settings.bootstrap_servers, TopicNames(settings.topic_prefix).alerts, follow=follow)
    sync = GrafanaSync(connect(grafana_settings), grafana_settings.folder)
    try:
        report = sync.run(iter(alerts), with_dashboards=not no_dashboards)
    except GrafanaClientError as exc:
        hint = " (set TAPEWATCH_GRAFANA_TOKEN)" if exc.status_code in (401, 403) else ""
        raise click.ClickException(
            f"Grafana at {grafana_settings.url} refused: {exc.message}{hint}"
        ) from None
    except (GrafanaException, OSError) as exc:
        raise click.ClickException(f"cannot reach Grafana at {grafana_settings.url}: {exc}") from None
    except KeyboardInterrupt:
        return
    click.echo(
        f"{report.dashboards} dashboards pushed, {report.annotations} alert annotations posted, "
        f"{report.already_there} already there"
        + (f", {alerts.unreadable} unreadable records skipped" if alerts.unreadable else "")
    )


def _add_model_commands() -> None:
    from model_service.cli import classify, serve_model, train

    for command in (train, classify, serve_model):
        cli.add_command(command)


_add_model_commands()


def _add_alert_commands() -> None:
    from alerts.cli import alerts, rules

    cli.add_command(rules)
    cli.add_command(alerts)


_add_alert_commands()


def _add_replay_commands() -> None:
    from stream.replay.cli import backtest_command, replay_command

    cli.add_command(replay_command)
    cli.add_command(backtest_command)


_add_replay_commands()


def main() -> None:
    cli(prog_name="tapewatch")


if __name__ == "__main__":
    main()
