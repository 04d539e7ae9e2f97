"""``tapewatch demo``: the embedded stack in one command, with a live terminal view.

Starts the broker and a worker, feeds documents (with an occasional malformed record, to show
the dead-letter path), shows what the worker reports on /metrics, and stops everything on
exit, after ``duration`` seconds or on Ctrl-C.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from stream.broker import EmbeddedBroker, free_port
from stream.ingest.document_file import RowError, read_documents
from stream.producer import DocumentProducer
from stream.records import Document
from stream.settings import StreamSettings
from stream.worker_process import WorkerProcess

FEED_RATE = 20.0  # documents per second
MALFORMED_EVERY = 100  # one malformed record per this many documents


def example_documents() -> list[Document]:
    """The example documents shipped with the package (invalid example rows are skipped)."""
    with resources.as_file(resources.files("stream").joinpath("examples/documents.jsonl")) as path:
        return [doc for doc in read_documents(Path(path)) if not isinstance(doc, RowError)]


@dataclass
class DemoState:
    sent: int = 0
    malformed_sent: int = 0
    worker: dict[str, Counter[str]] = field(default_factory=dict)


def _view(state: DemoState, started: float, duration: float, bootstrap: str, metrics_url: str) -> Group:
    elapsed = time.monotonic() - started
    header = (
        f"broker [bold]{bootstrap}[/]   worker metrics [bold]{metrics_url}[/]   "
        f"{elapsed:4.0f}/{duration:.0f} s   Ctrl-C stops"
    )
    table = Table(title="pipeline", expand=True)
    table.add_column("stage")
    table.add_column("what", style="dim")
    table.add_column("count", justify="right")
    table.add_row("feed", "documents sent", str(state.sent))
    table.add_row("feed", "malformed records sent", str(state.malformed_sent))
    for source, count in sorted(state.worker.get("tapewatch_documents_received_total", Counter()).items()):
        table.add_row("worker", f"accepted from {source}", f"{count:.0f}")
    for reason, count in sorted(state.worker.get("tapewatch_deadletters_total", Counter()).items()):
        table.add_row("dead letters", reason, f"[red]{count:.0f}[/]")
    return Group(Panel(header, title="tapewatch demo"), table)


def _worker_counters(worker: WorkerProcess) -> dict[str, Counter[str]]:
    counters: dict[str, Counter[str]] = {}
    for (name, labels), value in worker.metrics().items():
        if name in ("tapewatch_documents_received_total", "tapewatch_deadletters_total"):
            label = next(iter(dict(labels).values()), "")
            counters.setdefault(name, Counter())[label] += value  # type: ignore[assignment]
    return counters


def run_demo(duration: float, console: Console | None = None) -> None:
    console = console or Console()
    documents = example_documents()
    with tempfile.TemporaryDirectory(prefix="tapewatch-demo-") as tmp, EmbeddedBroker() as broker:
        settings = StreamSettings(
            broker_url=broker.bootstrap, data_dir=Path(tmp), web_port=free_port(), app_id="tapewatch-demo"
        )
        worker = WorkerProcess(settings, Path(tmp) / "worker.log", loglevel="warn")
        with worker, DocumentProducer(settings) as producer:
            console.print(f"[dim]broker on {broker.bootstrap}; starting the worker...[/]")
            worker.wait_ready()
            state = DemoState()
            started = time.monotonic()
            feed = itertools.cycle(documents)
            try:
                with Live(console=console, refresh_per_second=4) as live:
                    while (now := time.monotonic()) - started < duration:
                        while state.sent < (now - started) * FEED_RATE:
                            doc = next(feed)
                            producer.send(doc.derive(id=f"{doc.id}-{state.sent}"))
                            state.sent += 1
                            if state.sent % MALFORMED_EVERY == 0:
                                producer.send_raw(None, b'{"title": "a record without source or time"')
                                state.malformed_sent += 1
                        if not worker.alive():
                            raise RuntimeError(f"the worker stopped:\n{worker.log_tail()}")
                        state.worker = _worker_counters(worker)
                        live.update(_view(state, started, duration, broker.bootstrap, worker.metrics_url))
                        time.sleep(0.25)
            except KeyboardInterrupt:
                console.print("[yellow]stopping...[/]")
    console.print("\ndemo finished; broker and worker stopped.")
