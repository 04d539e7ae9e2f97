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

    Agents: classify (raw -> scored, in-process model unless TAPEWATCH_MODEL_URL is set), aggregate
    (windows -> trends, alerts), archive (Parquet under TAPEWATCH_DATA_DIR). /metrics and POST /ingest
    on TAPEWATCH_WEB_PORT (6066).
    """
    from stream.pipeline.app import create_app, run_worker

    run_worker(create_app(stream_settings()), loglevel=loglevel)
