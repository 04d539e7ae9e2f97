"""``tapewatch broker``: the embedded Kafka-protocol broker in the foreground."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=9092, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
def broker(host: str, port: int) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, in memory) in the foreground."""
    from stream.devstack.broker import BrokerError, EmbeddedBroker

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
