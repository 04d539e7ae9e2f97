"""Prometheus, Alertmanager and the webhook listener as child processes: the embedded alerting stack.

The demo starts it when Debian's ``prometheus`` and ``prometheus-alertmanager`` are on the PATH;
the end-to-end test starts it the same way. Prometheus scrapes the worker with the rendered rules;
Alertmanager runs the shipped routing, with its webhooks pointed at ``tapewatch alerts listen``.
"""

from __future__ import annotations

import functools
import json
import secrets
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import yaml

from alerts.alertmanager import routed_to, shipped_config
from alerts.rules import render_rules
from alerts.settings import AlertSettings
from common.processes import free_port, spawn, terminate, wait_until_answers
from stream.settings import StreamSettings
from stream.topics import TopicNames

ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, then upstream's


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def alertmanager_binary() -> str | None:
    return next((path for name in ALERTMANAGER_BINARIES if (path := shutil.which(name))), None)


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class MonitoringStack:
    """Prometheus scraping ``targets``, Alertmanager, and the listener; ``interval_s`` paces all three."""

    workdir: Path
    targets: list[str]
    broker_url: str
    alerts_topic: str
    alert_settings: AlertSettings = field(default_factory=AlertSettings)
    interval_s: float = 5.0
    group_s: float | None = None  # None keeps the shipped group_wait/group_interval
    host: str = "127.0.0.1"
    prometheus_port: int = field(default_factory=free_port)
    alertmanager_port: int = field(default_factory=free_port)
    listener_port: int = field(default_factory=free_port)
    processes: dict[str, Popen[bytes]] = field(default_factory=dict)
    _received: list[dict[str, Any]] = field(default_factory=list)
    _read_up_to: int = 0

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.host}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{self.host}:{self.alertmanager_port}"

    @property
    def listener_log(self) -> Path:
        return self.workdir / "listener.log"

    @classmethod
    def for_worker(
        cls, settings: StreamSettings, workdir: Path, alert_settings: AlertSettings
    ) -> MonitoringStack:
        """One worker scraped every second, Alertmanager grouping in 1 s: for the demo and the tests,
        where event time runs many times faster than the clock."""
        return cls(
            workdir=workdir,
            targets=[f"{settings.web_host}:{settings.web_port}"],
            broker_url=settings.broker_url,
            alerts_topic=TopicNames(settings.topic_prefix).alerts,
            alert_settings=alert_settings,
            interval_s=1,
            group_s=1,
        )

    def start(self) -> MonitoringStack:
        prometheus, alertmanager = prometheus_binary(), alertmanager_binary()
        if prometheus is None or alertmanager is None:
            raise FileNotFoundError(
                "prometheus and prometheus-alertmanager must be on the PATH (Debian: apt-get install "
                "prometheus prometheus-alertmanager)"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start_listener()
        self._start_alertmanager(alertmanager)
        self._start_prometheus(prometheus)
        return self

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.processes[name] = spawn(args, env=env, output=log)

    @property
    def token_file(self) -> Path:
        return self.workdir / "listen-token"

    def _start_listener(self) -> None:
        """The listener requires a token, as in the compose stack; Alertmanager reads it from a file."""
        token = secrets.token_hex(24)
        self.token_file.write_text(token)
        self.token_file.chmod(0o600)
        self._spawn(
            "listener",
            [sys.executable, "-m", "stream.cli", "alerts", "listen", "--json", "--port",
             str(self.listener_port), "--broker", self.broker_url, "--topic", self.alerts_topic],
            env={"TAPEWATCH_ALERT_LISTEN_TOKEN": token},
        )  # fmt: skip

    def _start_alertmanager(self, binary: str) -> None:
        webhook = f"http://{self.host}:{self.listener_port}/alertmanager"
        config = self.workdir / "alertmanager.yml"
        routed = routed_to(shipped_config(), webhook, self.token_file.absolute(), self.group_s)
        config.write_text(yaml.safe_dump(routed, sort_keys=False))
        self._spawn(
            "alertmanager",
            [binary, f"--config.file={config}", f"--storage.path={self.workdir / 'alertmanager-data'}",
             f"--web.listen-address={self.host}:{self.alertmanager_port}", "--cluster.listen-address="],
        )  # fmt: skip

    def _start_prometheus(self, binary: str) -> None:
        rules = self.workdir / "tapewatch.rules.yml"
        rules.write_text(render_rules(self.alert_settings))
        interval = f"{self.interval_s:g}s"
        alertmanager = f"{self.host}:{self.alertmanager_port}"
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(rules)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [{"job_name": "tapewatch", "static_configs": [{"targets": self.targets}]}],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._spawn(
            "prometheus",
            [binary, f"--config.file={path}", f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
             f"--web.listen-address={self.host}:{self.prometheus_port}", "--storage.tsdb.retention.time=1d",
             "--rules.alert.resend-delay=" + interval],
        )  # fmt: skip

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until Prometheus and Alertmanager answer their readiness checks and the listener its health."""
        checks = {
            "prometheus": f"{self.prometheus_url}/-/ready",
            "alertmanager": f"{self.alertmanager_url}/-/ready",
            "listener": f"http://{self.host}:{self.listener_port}/healthz",
        }
        deadline = time.monotonic() + timeout
        for name, url in checks.items():
            left = max(0.0, deadline - time.monotonic())
            wait_until_answers(url, self.processes[name], left, name, functools.partial(self.log_tail, name))

    def firing(self) -> list[dict[str, Any]]:
        """Prometheus's active alerts (pending and firing)."""
        return list(get_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"])

    def notifications(self) -> list[dict[str, Any]]:
        """What the listener received so far, one record per notified alert (read incrementally)."""
        if self.listener_log.exists():
            with self.listener_log.open("rb") as log:
                log.seek(self._read_up_to)
                complete = log.read().rpartition(b"\n")[0]
            if complete:
                self._read_up_to += len(complete) + 1
                lines = complete.decode("utf-8", "replace").splitlines()
                self._received.extend(json.loads(line) for line in lines if line.startswith("{"))
        return list(self._received)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        try:
            return (self.workdir / f"{name}.log").read_text("utf-8", "replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        for name in ("prometheus", "alertmanager", "listener"):
            terminate(self.processes.pop(name, None), timeout=10)

    def __enter__(self) -> MonitoringStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
