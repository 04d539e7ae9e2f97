"""``tapewatch demo``: the embedded stack with a live view (what ``make demo`` runs)."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--duration", type=click.FloatRange(min=1), default=150, show_default=True, help="Seconds to run."
)
def demo(duration: float) -> None:
    """The embedded stack with a live view: broker, worker, model, a synthetic day with a negative spike."""
    from stream.devstack.demo import run_demo

    run_demo(duration=duration)
