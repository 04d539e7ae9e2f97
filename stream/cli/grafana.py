"""``tapewatch grafana ...``: dashboards as code, and the sync of dashboards and alert annotations."""

from __future__ import annotations

from pathlib import Path

import click

from stream.cli.options import load, stream_settings


@click.group()
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

    settings = stream_settings()
    grafana_settings = load(GrafanaSettings, url=url)
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
