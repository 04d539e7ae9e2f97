"""``tapewatch replay`` and ``tapewatch backtest``: a past period through the live windows and detector."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stream.cli.options import (
    TIME_HELP,
    Instant,
    check_range,
    load,
    report_outcome,
    stream_settings,
    wait_option,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from common.records import Document, ScoredDocument
    from stream.settings import StreamSettings


def numbers(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected comma-separated numbers, e.g. 2.5,3,3.5") from None


def split_topics(topics: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``--topic`` values as (trained topics, user topics). A user topic is ``topic:NAME``, or NAME
    when the topics file of TAPEWATCH_TOPICS_PATH has it; anything else must be a trained topic."""
    from model_service.artifact import packaged_artifact_dir, read_config
    from model_service.settings import ModelSettings
    from model_service.user_topics import TopicsError, read_topics
    from stream.routing import USER_TOPIC_PREFIX

    known = read_config(packaged_artifact_dir()).topics
    path = load(ModelSettings).topics_path
    try:
        defined = [t.name for t in read_topics(path).topics] if path is not None else []
    except TopicsError as exc:
        raise click.UsageError(str(exc)) from None
    trained, user = [], []
    for topic in topics:
        if topic in known:
            trained.append(topic)
        elif topic.startswith(USER_TOPIC_PREFIX) or topic in defined:
            user.append(topic.removeprefix(USER_TOPIC_PREFIX))
        else:
            mine = (
                f"; your topics: {', '.join(defined)}"
                if defined
                else " (a topic of your topics file: topic:NAME)"
            )
            raise click.UsageError(f"unknown topic {topic!r}; trained topics: {', '.join(known)}{mine}")
    return trained, user


def archived_days(root: Path) -> str:
    days = sorted(p.name.removeprefix("date=") for p in root.glob("date=*") if p.is_dir())
    return f"{days[0]} to {days[-1]}" if days else "none"


@click.command("replay")
@click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable); all if not given.")
@click.option("--ticker", help="Only documents that mention this ticker, e.g. XOM.")
@click.option("--from", "start", type=Instant(), required=True, help=f"Start of the period. {TIME_HELP}")
@click.option("--to", "end", type=Instant(), required=True, help=f"End of the period (excluded). {TIME_HELP}")
@click.option(
    "--source",
    type=click.Choice(["archive", "kafka"]),
    default="archive",
    show_default=True,
    help="archive: scored documents by event time; kafka: raw documents by record time (always rescored).",
)
@click.option(
    "--rescore",
    is_flag=True,
    help="Score the documents again with the current model: labels and entity keys (by default each is "
    "counted as it was scored live).",
)
@click.option(
    "--rekey",
    is_flag=True,
    help="Decide the archived documents' entity keys again with today's watchlist, alias lists and "
    "mention tagger, keeping their labels (topic, sentiment) as they were scored live.",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    help="Only documents counted under this key (repeatable): $XOM, name:Celsius, entity:Oil.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Report folder.")
@click.option(
    "--republish",
    metavar="PREFIX",
    help="Also send the documents to PREFIX.docs.raw, for a worker run with TAPEWATCH_TOPIC_PREFIX=PREFIX "
    "(then, unless --no-wait, follow it and say what became of them).",
)
@wait_option
def replay(
    topics: tuple[str, ...],
    ticker: str | None,
    start: datetime,
    end: datetime,
    source: str,
    rescore: bool,
    rekey: bool,
    keys: tuple[str, ...],
    out: Path,
    republish: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Replay a period through the live windows and detector; write trend.csv, alerts.csv,
    documents.parquet and chart.png to OUT.
    """
    from alerts.settings import AlertSettings
    from stream.replay.report import write_report
    from stream.replay.run import replay as replay_period
    from stream.replay.sources import ReplayError, scored_documents
    from stream.routing import user_topic_key

    check_range(start, end)
    trained, user = split_topics(topics)
    settings = stream_settings()
    if republish is not None and republish == settings.topic_prefix:
        raise click.UsageError(f"--republish {republish!r} is the live namespace; choose another prefix")
    ticker = ticker.upper().lstrip("$") if ticker else None
    if rescore and rekey:
        raise click.UsageError("--rescore already decides the keys again; give one of --rescore, --rekey")
    if rekey and source != "archive":
        raise click.UsageError("--rekey keeps archived labels: it needs --source archive")
    try:
        table = load_documents(settings, source, start, end, (trained, user), rescore or rekey, ticker, rekey)
    except ReplayError as exc:
        raise click.UsageError(str(exc)) from None
    if keys:
        table = with_keys(table, set(keys))
    if table.num_rows == 0:
        where = (
            f"archive ({archived_days(settings.archive_root)} archived)" if source == "archive" else source
        )
        raise click.UsageError(
            f"no documents between {start.isoformat()} and {end.isoformat()} in the {where}"
        )
    click.echo(f"replaying {table.num_rows} documents through the windows and the detector ...", err=True)
    alert_settings = load(AlertSettings)
    result = replay_period(lambda: scored_documents(table), settings, alert_settings)
    shown = set(keys)  # the windows and alerts of the keys asked for, not the others their documents have
    if ticker is not None and topics:
        shown |= {f"${ticker}", *trained, *map(user_topic_key, user)}
    if shown:
        result.trend = [p for p in result.trend if p.key in shown]
        result.alerts = [a for a in result.alerts if a.key in shown]
    paths = write_report(result, table, out, settings.window_s, alert_settings.horizons_s[0])
    firing = sum(a.state == "firing" for a in result.alerts)
    click.echo(
        f"replayed {table.num_rows} documents ({source}, {start.isoformat()} to {end.isoformat()}): "
        f"{len(result.trend)} windows, {firing} alerts fired"
    )
    for path in paths:
        click.echo(f"  {path}")
    if republish is not None:
        documents = [d.document for d in scored_documents(table)]
        republish_documents(settings, republish, documents, timeout if wait else None)


def load_documents(
    settings: StreamSettings,
    source: str,
    start: datetime,
    end: datetime,
    topics: tuple[list[str], list[str]],
    rescore: bool,
    ticker: str | None,
    keys_only: bool = False,
) -> pa.Table:
    """The period's scored documents in the archive's columns, event-time order, filtered by the
    (trained, user) ``topics`` and the ticker. Rescoring gives user topics by the current topics file;
    with ``keys_only`` (``--rekey``) only the entity keys are new, the labels the archived ones."""
    import pyarrow as pa

    from stream.archive import to_table
    from stream.replay.run import rescore as rescore_documents
    from stream.replay.run import select
    from stream.replay.sources import KafkaRange, read_archive, scored_documents

    if source == "archive" and not rescore:
        click.echo(f"reading the archive at {settings.archive_root} ...", err=True)
        table = read_archive(settings.archive_root, start, end, topics[0], user_topics=topics[1])
        if ticker is not None:
            mask = [ticker in (tickers or []) for tickers in table.column("tickers").to_pylist()]
            table = table.filter(pa.array(mask, pa.bool_()))
        return table
    archived: dict[str, ScoredDocument] = {}
    if source == "archive":
        archived = {
            s.document.id: s for s in scored_documents(read_archive(settings.archive_root, start, end))
        }
        raw = [s.document for s in archived.values()]
    else:
        from stream.pipeline.app import pseudonym_key
        from stream.prepare.preparer import DocumentPreparer
        from stream.topics import TopicNames

        reader = KafkaRange(settings.bootstrap_servers, TopicNames(settings.topic_prefix).raw, start, end)
        preparer = DocumentPreparer.from_settings(settings, pseudonym_key(settings))
        raw = preparer.first_copies(reader)
        if reader.skipped:
            click.echo(f"skipped {len(reader.skipped)} records that are not documents", err=True)
    from model_service.engine import InferenceEngine
    from model_service.settings import ModelSettings

    model_settings = load(ModelSettings)
    engine = InferenceEngine.load(model_settings)
    path = model_settings.topics_path
    matcher = engine.topic_matcher(path) if path is not None else None
    rescored = rescore_documents(raw, engine, settings, topics=matcher)
    if keys_only:
        rescored = [archived[s.document.id].derive(entities=s.entities) for s in rescored]
    scored = select(rescored, topics[0], ticker, topics[1])
    scored.sort(key=lambda d: (d.document.published_at, d.document.id))
    return to_table(scored)


def with_keys(table: pa.Table, keys: set[str]) -> pa.Table:
    """The rows counted under any of ``keys``: an entity key the document was scored for, its topic,
    ``all`` or its source."""
    import pyarrow as pa

    from stream.replay.sources import scored_documents
    from stream.routing import window_keys

    mask = [bool(keys & set(window_keys(s))) for s in scored_documents(table)]
    return table.filter(pa.array(mask, pa.bool_()))


def republish_documents(
    settings: StreamSettings, prefix: str, documents: list[Document], timeout: float | None
) -> None:
    """Send the documents to another namespace's raw topic; with a ``timeout``, follow its workers."""
    from stream.ingest.outcome import SentRecords
    from stream.ingest.pacing import send_paced
    from stream.ingest.producer import DocumentProducer
    from stream.topics import ensure_topics

    target = settings.model_copy(update={"topic_prefix": prefix})
    ensure_topics(target)
    since, sent = datetime.now(UTC), SentRecords()
    with DocumentProducer(target, sent=sent) as producer:
        send_paced(producer, documents, None, total=len(documents), description="republishing")
    click.echo(f"republished {producer.acknowledged} documents to {producer.topic}")
    if timeout is not None and sent.count:
        report_outcome(target, sent, since, timeout)


@click.command("backtest")
@click.option("--from", "start", type=Instant(), required=True, help=f"Start. {TIME_HELP}")
@click.option("--to", "end", type=Instant(), required=True, help=f"End (excluded). {TIME_HELP}")
@click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable); all if not given.")
@click.option("--z", "z_values", help="z_warning values to try (the 5-minute threshold), e.g. 4,4.5,5.")
@click.option("--min-authors", "min_authors", help="min_authors values, e.g. 3,5,8.")
@click.option(
    "--horizons",
    "horizon_sets",
    multiple=True,
    help="A set of horizons to try (repeatable), e.g. --horizons 5m,1h --horizons 5m,1h,6h,1d.",
)
@click.option(
    "--incidents",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of labeled incidents (key,start,end[,mentions]): adds delay per horizon, misses and false "
    "alerts. `tapewatch ingest synthetic --profile sparse --incidents-out FILE` writes one.",
)
def backtest(
    topics: tuple[str, ...],
    start: datetime,
    end: datetime,
    z_values: str | None,
    min_authors: str | None,
    horizon_sets: tuple[str, ...],
    incidents: Path | None,
) -> None:
    """Sweep detector settings over the archived history; report what each would fire, per horizon."""
    from alerts.backtest import backtest as sweep
    from alerts.backtest import grid, horizon_summary, read_incidents, readable
    from alerts.settings import AlertSettings, parse_horizons
    from stream.replay.sources import ReplayError, read_archive, scored_documents
    from stream.replay.windows import replay_windows

    check_range(start, end)
    trained, user = split_topics(topics)
    settings = stream_settings()
    try:
        labeled = read_incidents(incidents) if incidents else []
        for horizons in horizon_sets:
            parse_horizons(horizons)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    axes: dict[str, Sequence[float | str]] = {
        name: values
        for name, values in (
            ("z_warning", list(numbers(z_values))),
            ("min_authors", [int(v) for v in numbers(min_authors)]),
            ("horizons", list(horizon_sets)),
        )
        if values
    }
    try:
        table = read_archive(settings.archive_root, start, end, trained, user_topics=user)
    except ReplayError as exc:
        raise click.UsageError(str(exc)) from None
    if table.num_rows == 0:
        raise click.UsageError(
            f"no documents{' of those topics' if topics else ''} between {start.isoformat()} and "
            f"{end.isoformat()} in the archive "
            f"({archived_days(settings.archive_root)} archived)"
        )
    windows = replay_windows(scored_documents(table), settings.window_s, settings.grace_s)
    try:
        outcomes = sweep(windows, load(AlertSettings), grid(axes), settings.window_s, labeled)
    except ValueError as exc:
        raise click.UsageError(f"inconsistent settings in the sweep: {exc}") from None
    click.echo(
        f"{table.num_rows} documents, {len(windows)} windows, {start.isoformat()} to {end.isoformat()}"
    )
    for outcome in outcomes:
        name = ", ".join(f"{k}={v:g}" if isinstance(v, float | int) else f"{k}={v}"
                         for k, v in outcome.overrides.items()) or "defaults"  # fmt: skip
        line = f"{name}: {len(outcome.fired)} alerts"
        if labeled:
            line += f", caught {len(outcome.caught)}/{len(labeled)}, missed {len(outcome.missed)}, " \
                    f"false {len(outcome.false)}"  # fmt: skip
        click.echo(line)
        click.echo(f"    by horizon: {horizon_summary(outcome)}")
        for incident, alert in outcome.caught.items():
            delay = readable((alert.window_end - incident.start).total_seconds())
            click.echo(f"    caught {incident.name} on {alert.key} at {alert.horizon} after {delay}")
        for incident in outcome.missed:
            click.echo(f"    missed {incident.name} from {incident.start:%Y-%m-%d %H:%M}")
        shown = outcome.false if labeled else outcome.fired
        for event in shown[:12]:
            click.echo(
                f"    {'false ' if labeled else ''}{event.window_end:%Y-%m-%d %H:%M} {event.severity:8} "
                f"{event.horizon:>3} {event.subject} (z {event.zscore:.1f}, {event.negative_authors} of "
                f"{event.authors} authors negative)"
            )
        if len(shown) > 12:
            click.echo(f"    ... and {len(shown) - 12} more")
