"""``tapewatch worker``: the stream worker."""

from __future__ import annotations

import click

from stream.cli.options import stream_settings


@click.command()
@click.option(
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
)
def worker(loglevel: str) -> None:
    """Run the stream worker (Faust) against TAPEWATCH_BROKER_URL until Ctrl-C.

    Agents: classify (raw -> scored, by the worker's model process unless TAPEWATCH_MODEL_URL is
    set), aggregate (windows -> trends, alerts), archive (Parquet under TAPEWATCH_DATA_DIR).
    /metrics and POST /ingest on TAPEWATCH_WEB_PORT (6066).
    """
    from model_service.user_topics import TopicsError
    from stream.pipeline.app import create_app, run_worker
    from stream.prepare.watchlist import WatchlistError

    try:
        app = create_app(stream_settings())
    except (TopicsError, WatchlistError) as exc:
        raise click.ClickException(str(exc)) from None
    run_worker(app, loglevel=loglevel)
