"""``tapewatch demo``: the embedded stack in one command, with a live terminal view.

Starts the broker and a worker (with its model process), and Prometheus, Alertmanager and the webhook
listener when their binaries are on the PATH. Feeds a synthetic market day with one injected
negative spike, compressed to fit ``duration``, and shows per-topic volume, mean sentiment and
negative ratio as windows close, the detector's alerts, and what Prometheus and Alertmanager fire.
Stops everything on exit: after ``duration`` or on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from alerts.settings import AlertSettings
from common.processes import free_port
from common.records import Alert, TrendPoint, decode_record
from common.topic_reader import TopicReader
from stream.devstack.broker import EmbeddedBroker
from stream.devstack.monitoring import MonitoringStack, alertmanager_binary, prometheus_binary
from stream.devstack.worker_process import WorkerProcess
from stream.ingest.pacing import compressed, send_paced
from stream.ingest.producer import DocumentProducer
from stream.ingest.synthetic import Incident, MarketDay
from stream.settings import StreamSettings
from stream.topics import TopicNames, ensure_topics

SPIKE = "Energy | Oil@14:00/15m/6x/85%"
NEGATIVE_WINDOW = 0.5  # a closed window at or above this negative share is highlighted
# Event time runs ~35x faster than real time here, so Prometheus's timings shrink with it.
DEMO_RULES = AlertSettings(for_s=2, keep_firing_s=5)


def demo_day() -> MarketDay:
    """The demo's feed: 40 minutes for the baselines, then the spike (60 documents a minute)."""
    return MarketDay(
        start=dt_time(13, 20), end=dt_time(14, 30), per_minute=60, incidents=[Incident.parse(SPIKE)], seed=7
    )


@dataclass
class TopicRow:
    documents: int = 0
    last: TrendPoint | None = None
    history: deque[float] = field(default_factory=lambda: deque(maxlen=12))


@dataclass
class DemoState:
    window_s: int  # the short windows the table shows; the baseline windows are left out
    topics: dict[str, TopicRow] = field(default_factory=dict)
    events: deque[str] = field(default_factory=lambda: deque(maxlen=10))
    event_time: datetime | None = None

    def add(self, point: TrendPoint) -> None:
        if (
            point.key.startswith("$")
            or (point.window_end - point.window_start).total_seconds() != self.window_s
        ):
            return
        row = self.topics.setdefault(point.key, TopicRow())
        row.documents += point.count
        row.last = point
        row.history.append(point.negative_ratio)
        if self.event_time is None or point.window_end > self.event_time:
            self.event_time = point.window_end

    def alert(self, alert: Alert) -> None:
        if alert.state == "firing":
            headline = alert.evidence[0].title if alert.evidence else ""
            self.events.appendleft(
                f"{alert.window_end:%H:%M} [bold red]{alert.severity.upper()} {escape(alert.subject)}[/]: "
                f"{alert.negative_ratio:.0%} negative of {alert.count} (baseline {alert.baseline:.0%}, "
                f"z {alert.zscore:.1f})\n      [italic]{headline}[/]"
            )
        else:
            self.events.appendleft(f"{alert.window_end:%H:%M} [green]resolved {escape(alert.subject)}[/]")


SPARK = " ▁▂▃▄▅▆▇█"


def _spark(values: deque[float]) -> str:
    return "".join(SPARK[min(8, int(v * 8.999))] for v in values)


def stack_panel(stack: MonitoringStack | None) -> Panel:
    if stack is None:
        return Panel(
            "[dim]prometheus and prometheus-alertmanager are not on the PATH (Debian: apt-get install "
            "prometheus prometheus-alertmanager); the detector's alerts above still work.[/]",
            title="Prometheus and Alertmanager",
        )
    try:
        active = stack.firing()
    except OSError:
        active = []
    lines = [
        f"Prometheus [bold]{stack.prometheus_url}/alerts[/]   Alertmanager [bold]{stack.alertmanager_url}[/]",
    ]
    for alert in active:
        labels = alert["labels"]
        subject = labels.get("topic") or labels.get("ticker") or labels.get("entity", "")
        lines.append(f"  {alert['state']:8} {labels['alertname']} {labels.get('severity', '')} {subject}")
    notes = stack.notifications()
    lines.append(f"webhook (tapewatch alerts listen) received {len(notes)} notifications")
    lines.extend(
        f"  {n['status']:8} {n['severity']:8} {n['key']}" + (" + evidence" if n["evidence"] else "")
        for n in notes[-4:]
    )
    return Panel("\n".join(lines), title="Prometheus and Alertmanager")


def render(state: DemoState, header: str, sent: int, stack: MonitoringStack | None = None) -> Group:
    table = Table(expand=True, title="topics (1-minute windows, event time)")
    for column, justify in (
        ("topic", "left"),
        ("docs", "right"),
        ("last window", "right"),
        ("mean sentiment", "right"),
        ("negative", "right"),
        ("negative, last 12 min", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    ranked = sorted(
        state.topics.items(), key=lambda item: -(item[1].last.negative_ratio if item[1].last else 0)
    )
    for topic, row in ranked:
        last = row.last
        assert last is not None
        style = "bold red" if last.negative_ratio >= NEGATIVE_WINDOW and last.count >= 5 else ""
        table.add_row(
            topic,
            str(row.documents),
            str(last.count),
            f"{last.mean_score:+.2f}",
            f"{last.negative_ratio:.0%}",
            _spark(row.history),
            style=style,
        )
    events = "\n".join(state.events) or "[dim]none yet (the detector learns each topic's baseline first)[/]"
    clock = f"{state.event_time:%H:%M} UTC" if state.event_time else "--:--"
    return Group(
        Panel(f"{header}\nevent time {clock}, documents sent {sent}", title="tapewatch demo"),
        table,
        Panel(events, title="detector alerts (tapewatch.alerts)"),
        stack_panel(stack),
    )


def run_demo(duration: float, console: Console | None = None) -> None:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="tapewatch-demo-") as tmp, EmbeddedBroker() as broker:
        settings = StreamSettings(
            broker_url=broker.bootstrap,
            data_dir=Path(tmp),
            web_port=free_port(),
            app_id="tapewatch-demo",
            idle_close_s=3,
        )
        ensure_topics(settings)
        worker = WorkerProcess(settings, Path(tmp) / "worker.log", loglevel="warn")
        stop = threading.Event()
        with worker, DocumentProducer(settings) as producer, contextlib.ExitStack() as services:
            console.print(
                f"[dim]broker on {broker.bootstrap}; starting the worker and loading the model...[/]"
            )
            stack = None
            if prometheus_binary() and alertmanager_binary():
                stack = services.enter_context(
                    MonitoringStack.for_worker(settings, Path(tmp) / "monitoring", DEMO_RULES)
                )
            worker.wait_ready(180)
            if stack is not None:
                stack.wait_ready()
            started = time.monotonic()
            feed_seconds = max(10.0, duration - 25)  # leave time for the last windows to close
            scenario = demo_day()
            documents = list(scenario.documents())
            speed = (scenario.ends - scenario.begins).total_seconds() / feed_seconds
            state = DemoState(settings.window_s)

            def feed() -> None:
                schedule = compressed(scenario.begins, speed)
                send_paced(producer, documents, schedule, progress=False, stop=stop)

            feeder = threading.Thread(target=feed, name="demo-feed", daemon=True)
            feeder.start()
            names = TopicNames(settings.topic_prefix)
            readers = [
                TopicReader(settings.bootstrap_servers, topic, "tapewatch-demo", poll_ms=125).from_start()
                for topic in (names.trends, names.alerts)
            ]
            header = (
                f"broker [bold]{broker.bootstrap}[/]  worker metrics [bold]{worker.metrics_url}[/]\n"
                f"synthetic day {scenario.begins:%H:%M}-{scenario.ends:%H:%M} UTC at {speed:.0f}x, "
                f"injected spike: {SPIKE}"
            )
            try:
                with Live(console=console, refresh_per_second=4) as live:
                    while time.monotonic() - started < duration:
                        for record in (record for reader in readers for record in reader.poll()):
                            if record.topic == names.alerts:
                                state.alert(decode_record(Alert, record.value))
                            else:
                                state.add(decode_record(TrendPoint, record.value))
                        if not worker.alive():
                            raise RuntimeError(f"the worker stopped:\n{worker.log_tail()}")
                        remaining = duration - (time.monotonic() - started)
                        live.update(
                            render(
                                state,
                                f"{header}\n{remaining:.0f} s left, Ctrl-C stops",
                                producer.acknowledged,
                                stack,
                            )
                        )
            except KeyboardInterrupt:
                console.print("[yellow]stopping...[/]")
            finally:
                stop.set()
                feeder.join(5)
                for reader in readers:
                    reader.close()
    console.print("\ndemo finished; broker and worker stopped.")
