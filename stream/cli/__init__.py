"""The ``tapewatch`` command line: one module per command group, put together here.

Configuration comes from ``TAPEWATCH_*`` environment variables (``stream.cli.options`` loads it);
each command imports what it runs only when it runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import logging

import click

from stream.cli.alerts import alerts, rules
from stream.cli.bench import bench
from stream.cli.broker import broker
from stream.cli.demo import demo
from stream.cli.grafana import grafana
from stream.cli.ingest import ingest
from stream.cli.model import classify, serve_model, train
from stream.cli.names import names
from stream.cli.replay import backtest, replay
from stream.cli.topics import topics
from stream.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tapewatch")
def cli() -> None:
    """tapewatch: streaming financial sentiment monitor.

    Settings come from TAPEWATCH_* environment variables, e.g. TAPEWATCH_BROKER_URL=host:9092
    (default 127.0.0.1:9092, where `tapewatch broker` listens).
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for ours in ("stream", "model_service", "alerts", "common"):
        logging.getLogger(ours).setLevel(logging.INFO)


for command in (broker, worker, ingest, demo, replay, backtest, train, classify, serve_model):
    cli.add_command(command)
for group in (rules, alerts, grafana, bench, topics, names):
    cli.add_command(group)


def main() -> None:
    cli(prog_name="tapewatch")
