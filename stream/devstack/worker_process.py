"""A stream worker in a child process, as the demo and the tests run it."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from prometheus_client.parser import text_string_to_metric_families

from common.processes import spawn, terminate, wait_until_answers
from stream.settings import StreamSettings

DONE = ("tapewatch_documents_scored_total", "tapewatch_duplicates_total", "tapewatch_deadletters_total")


def scrape(url: str, timeout: float = 2.0) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a Prometheus endpoint, keyed by (name, labels)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class WorkerProcess:
    """``tapewatch worker`` in a child process that dies with its parent."""

    def __init__(
        self,
        settings: StreamSettings,
        log_path: Path,
        loglevel: str = "info",
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.env = env or {}  # more settings, e.g. TAPEWATCH_ALERT_* for the detector
        self.log_path = log_path
        self.loglevel = loglevel
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}/metrics"

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = spawn(
                [sys.executable, "-m", "stream.cli", "worker", "--loglevel", self.loglevel],
                env={**self.settings.as_env(), **self.env},
                output=log,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the worker serves /metrics; raise with its log if it dies or takes too long."""
        assert self.process is not None, "start() the worker first"
        wait_until_answers(self.metrics_url, self.process, timeout, "the worker", self.log_tail)

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        return scrape(self.metrics_url)

    def total(self, *names: str) -> float:
        """The sum over all label sets of the named metrics."""
        return sum(value for (name, _), value in self.metrics().items() if name in names)

    def documents_done(self) -> float:
        """Raw documents the worker has finished with: scored, recognized as repeats, or dead-lettered."""
        return self.total(*DONE)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        process, self.process = self.process, None
        return terminate(process, timeout)

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
