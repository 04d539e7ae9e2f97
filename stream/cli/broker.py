"""``tapewatch broker``: the embedded Kafka-protocol broker in the foreground."""

from __future__ import annotations

import signal

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

    # SIGTERM ends the wait below like Ctrl-C does, so the broker is stopped and reaped from the main
    # flow: stopping it inside a handler blocked on the wait's own lock for >10 s, its child defunct
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        click.echo(
            f"broker ready on {server.bootstrap} (memory storage; log: {server.log_path}). Ctrl-C stops it."
        )
        code = server.wait()
    except KeyboardInterrupt:
        server.stop()
        return
    if code:
        raise click.ClickException(f"the broker exited with code {code}: {server.output()[-500:]}")
