"""``tapewatch grafana sync``: dashboards and alert annotations into Grafana over its HTTP API.

Uses ``grafana-client`` (the maintained continuation of ``grafana-api``). Each alert event on
``tapewatch.alerts`` becomes one annotation on the market (topic) or ticker dashboard, tagged with
its id, so running the sync again, or after a restart, never posts an alert twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.records import Alert, InvalidRecord, decode_record
from common.settings import ComponentSettings
from common.topic_reader import TopicReader
from stream.grafana.dashboards import FOLDER, MARKET_UID, TICKER_UID, as_json, dashboards

log = logging.getLogger(__name__)


class GrafanaSettings(ComponentSettings):
    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_GRAFANA_", extra="ignore")

    url: str = Field("http://localhost:3000", description="Grafana's base URL")
    token: SecretStr | None = Field(None, description="A service account token (Editor role)")
    folder: str = Field(FOLDER, description="Folder uid and title the dashboards go into")
    timeout_s: float = Field(10.0, gt=0)


@dataclass
class SyncReport:
    dashboards: int = 0
    annotations: int = 0
    already_there: int = 0


def connect(settings: GrafanaSettings) -> GrafanaApi:
    token = settings.token.get_secret_value() if settings.token else None
    return GrafanaApi.from_url(settings.url, credential=token, timeout=settings.timeout_s)


def alert_tag(alert: Alert) -> str:
    return f"tapewatch-alert:{alert.id}"


def annotation_text(alert: Alert) -> str:
    lines = [
        f"<b>{alert.state} {alert.severity}</b>: {alert.key}, {alert.negative_ratio:.0%} negative of "
        f"{alert.count} (baseline {alert.baseline:.0%}, z {alert.zscore:.1f})"
    ]
    lines.extend(f"{e.score:+.2f} {e.title}" for e in alert.evidence)
    return "<br>".join(lines)


class GrafanaSync:
    def __init__(self, api: GrafanaApi, folder: str) -> None:
        self.api = api
        self.folder = folder

    def ensure_folder(self) -> None:
        try:
            self.api.folder.get_folder(self.folder)
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            self.api.folder.create_folder(self.folder, uid=self.folder)

    def push_dashboards(self, models: Iterable[dict[str, Any]] | None = None) -> int:
        self.ensure_folder()
        pushed = 0
        for model in models if models is not None else (as_json(d) for d in dashboards().values()):
            self.api.dashboard.update_dashboard(
                {
                    "dashboard": model,
                    "folderUid": self.folder,
                    "overwrite": True,
                    "message": "tapewatch grafana sync",
                }
            )
            pushed += 1
        return pushed

    def annotate(self, alert: Alert) -> bool:
        """Post the alert as an annotation; False if one with its id is already there."""
        tag = alert_tag(alert)
        if self.api.annotations.find_annotations(tags=[tag], limit=1):
            return False
        self.api.annotations.add_annotation(
            dashboard_uid=TICKER_UID if alert.key.startswith("$") else MARKET_UID,
            time_from=int(alert.window_end.timestamp() * 1000),
            tags=["tapewatch", alert.state, alert.severity, alert.key, tag],
            text=annotation_text(alert),
        )
        return True

    def run(self, alerts: Iterator[Alert], with_dashboards: bool = True) -> SyncReport:
        report = SyncReport()
        if with_dashboards:
            report.dashboards = self.push_dashboards()
        for alert in alerts:
            if self.annotate(alert):
                report.annotations += 1
            else:
                report.already_there += 1
        return report


@dataclass
class AlertsTopic:
    """The alert events on the alerts topic, oldest first; records that are not Alerts are counted."""

    bootstrap_servers: list[str]
    topic: str
    follow: bool = False
    unreadable: int = 0

    def __iter__(self) -> Iterator[Alert]:
        with TopicReader(self.bootstrap_servers, self.topic, "tapewatch-grafana", poll_ms=1000) as reader:
            for record in reader.from_start().records(follow=self.follow):
                try:
                    yield decode_record(Alert, record.value)
                except InvalidRecord as error:
                    self.unreadable += 1
                    log.warning("skipping unreadable record %s@%d: %s", record.topic, record.offset, error)
