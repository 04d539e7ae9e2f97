"""``tapewatch rules ...`` and ``tapewatch alerts ...``: Prometheus rules and the webhook listener."""

from __future__ import annotations

from pathlib import Path

import click

from alerts.settings import AlertSettings
from stream.cli.options import load, stream_settings

DEFAULT_RULES = Path("deploy/prometheus/rules/tapewatch.rules.yml")


@click.group()
def rules() -> None:
    """Prometheus alerting rules, rendered from the TAPEWATCH_ALERT_* thresholds."""


@rules.command("render")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_RULES,
    show_default=True,
    help="Where to write the rules file; '-' prints it.",
)
@click.option("--for", "for_s", type=click.IntRange(min=0), help="Seconds a condition must hold [60].")
@click.option("--keep-firing-for", "keep_firing_s", type=click.IntRange(min=0), help="Seconds [120].")
def render(out: Path, for_s: int | None, keep_firing_s: int | None) -> None:
    """Write the rules file (thresholds from TAPEWATCH_ALERT_*: HORIZONS, Z_WARNING, MIN_AUTHORS, ...)."""
    from alerts.rules import render_rules

    text = render_rules(load(AlertSettings, for_s=for_s, keep_firing_s=keep_firing_s))
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    click.echo(f"wrote {out}", err=True)


@click.group()
def alerts() -> None:
    """Receive and read alerts."""


@alerts.command("listen")
@click.option("--host", help="Address to listen on [TAPEWATCH_ALERT_LISTEN_HOST or 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="[TAPEWATCH_ALERT_LISTEN_PORT or 9095].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert and line.")
@click.option("--forward", "forward_url", help="POST each enriched notification to this URL too.")
@click.option(
    "--broker",
    help="Kafka bootstrap servers, for the evidence on the alerts topic [TAPEWATCH_BROKER_URL].",
)
@click.option("--topic", help="The detector's alerts topic [TAPEWATCH_TOPIC_PREFIX + .alerts].")
def listen_command(
    host: str | None,
    port: int | None,
    as_json: bool,
    forward_url: str | None,
    broker: str | None,
    topic: str | None,
) -> None:
    """Alertmanager webhook receiver: prints each notification with its evidence (headlines).

    Point an Alertmanager webhook at http://HOST:PORT/alertmanager (the shipped
    deploy/alertmanager/alertmanager.yml does). With TAPEWATCH_ALERT_LISTEN_TOKEN set, requests
    must carry "Authorization: Bearer <token>".
    """
    from alerts.listener import listen
    from stream.topics import TopicNames

    settings = load(AlertSettings, listen_host=host, listen_port=port, forward_url=forward_url)
    stream = stream_settings()
    broker = broker or stream.broker_url
    topic = topic or TopicNames(stream.topic_prefix).alerts
    click.echo(
        f"listening on http://{settings.listen_host}:{settings.listen_port}/alertmanager "
        f"(evidence from {topic} at {broker})",
        err=True,
    )
    listen(settings, broker, topic, as_json)
