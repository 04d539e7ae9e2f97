"""End to end with the real servers: worker on the real broker, Prometheus (rendered rules),
Alertmanager (the shipped routing), and ``tapewatch alerts listen`` as its webhook.

A synthetic market hour with an Energy | Oil spike (and a few malformed records) is fed at 60x
speed, so a one-minute window closes every second. Prometheus scrapes and evaluates every second,
the rules hold for 2 s, and the copy of the shipped Alertmanager config only has its webhook URL and
group timings (1 s) changed (see ``alerts.alertmanager.routed_to``). One run serves both tests.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time as dt_time

import pytest
from kafka import KafkaProducer

from alerts.settings import AlertSettings
from stream.devstack.monitoring import MonitoringStack, alertmanager_binary, get_json, prometheus_binary
from stream.devstack.worker_process import WorkerProcess
from stream.grafana.dashboards import panel_queries
from stream.ingest.pacing import compressed, send_paced
from stream.ingest.producer import DocumentProducer
from stream.ingest.synthetic import Incident, MarketDay
from stream.topics import TopicNames, ensure_topics
from tests.helpers import ROOT, unique_settings, wait_until

SPIKE = "Energy | Oil"
# Prometheus's timings shortened so that a 50-minute day fires and resolves, and fewer negative authors
# so that the spike's tickers (a few documents a minute each) alert too and the ticker dashboard has
# data; the worker's detector and the rendered rules share them.
ALERTS = AlertSettings(min_authors=3, for_s=2, keep_firing_s=3)
WORKER_ENV = {
    "TAPEWATCH_ALERT_MIN_AUTHORS": str(ALERTS.min_authors),
    "TAPEWATCH_LAG_INTERVAL_S": "2",  # the consumer lag metric every 2 s instead of 10
}
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
# A topic defined by example (written in other words than the synthetic templates), so the user topic
# panels and variable have data: its documents are counted under topic:Oil supply.
TOPICS_FILE = """
topics:
  - name: Oil supply
    examples:
      - "Saudi Arabia pledges to pump more crude next month"
      - "Barrel prices climb after a pipeline outage in Libya"
      - "Cartel members agree to trim production again"
      - "US crude stockpiles fall for a third week"
    keywords: [OPEC, crude]
"""


@dataclass
class Run:
    stack: MonitoringStack
    started: float
    resolved: list[dict]


@pytest.fixture(scope="module")
def run(broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    assert prometheus_binary() and alertmanager_binary(), "needs Debian's prometheus, prometheus-alertmanager"
    tmp = tmp_path_factory.mktemp("e2e")
    settings = unique_settings(broker, tmp, idle_close_s=3)
    ensure_topics(settings)
    # strong and long enough that its thin tickers ($XOM, $CVX) stay significant for 8 windows (8 s here),
    # well over the rules' 2 s for: (a 10-minute 6x spike gave $XOM 1 to 3 windows)
    spike = Incident.parse(f"{SPIKE}@10:45/15m/8x/90%")
    day = MarketDay(start=dt_time(10, 20), end=dt_time(11, 10), per_minute=60, incidents=[spike], seed=21)
    stack = MonitoringStack.for_worker(settings, tmp / "monitoring", ALERTS)
    (tmp / "topics.yml").write_text(TOPICS_FILE)
    env = {**WORKER_ENV, "TAPEWATCH_TOPICS_PATH": str(tmp / "topics.yml")}
    worker = WorkerProcess(settings, tmp / "worker.log", env=env).start()
    stop = threading.Event()
    try:
        stack.start()
        worker.wait_ready()
        stack.wait_ready()
        started = time.time()
        malformed = KafkaProducer(bootstrap_servers=settings.broker_url)
        for payload in (b"{not json", b'{"schema_version": 99}'):
            malformed.send(TopicNames(settings.topic_prefix).raw, value=payload)
        malformed.close()

        def feed() -> None:
            with DocumentProducer(settings) as producer:
                send_paced(producer, day.documents(), compressed(day.begins, 60), progress=False, stop=stop)

        threading.Thread(target=feed, daemon=True).start()

        def resolved() -> list[dict]:
            return [n for n in stack.notifications() if n["key"] == SPIKE and n["status"] == "resolved"]

        found = wait_until(resolved, 240, f"the resolved notification for {SPIKE}")
        yield Run(stack, started, found)
    except BaseException:
        for name in ("prometheus", "alertmanager", "listener"):
            print(f"--- {name} ---\n{stack.log_tail(name)}")
        print(f"--- worker ---\n{worker.log_tail()}")
        raise
    finally:
        stop.set()
        worker.stop()
        stack.stop()


@pytest.mark.timeout(420)
def test_a_spike_reaches_the_webhook_firing_with_evidence_then_resolved(run: Run) -> None:
    notes = run.stack.notifications()
    firing = [n for n in notes if n["key"] == SPIKE and n["status"] == "firing"]
    assert firing, f"no firing notification for {SPIKE}: {notes}"
    first = firing[0]
    assert first["alertname"] == "NegativeSentimentSpike" and first["severity"] in ("warning", "critical")
    evidence = first["evidence"]
    assert evidence is not None and evidence["key"] == SPIKE and evidence["state"] == "firing"
    assert evidence["evidence"] and all(e["title"] and e["score"] < 0 for e in evidence["evidence"])
    assert any(e["explanation"] for e in evidence["evidence"]), "the headlines come with their tokens"
    assert "var-topic=Energy+%7C+Oil" in first["dashboard"]
    assert notes.index(first) < notes.index(run.resolved[0]) and run.resolved[0]["ends_at"] is not None


def interpolate(expr: str, ticker: str) -> str:
    """What Grafana sends: the topic, user topic and horizon variables at "All" (.*), the chosen ticker,
    the rate interval."""
    expr = expr.replace("${ticker}", ticker).replace("$topic", ".*").replace("$horizon", ".*")
    expr = expr.replace("$user_topic", ".*")
    return expr.replace("$__rate_interval", "20s")


@pytest.mark.timeout(120)
def test_every_dashboard_panel_returns_data_from_the_real_prometheus(run: Run) -> None:
    prometheus = run.stack.prometheus_url

    def series(expr: str) -> list:
        query = urllib.parse.urlencode({"query": expr, "start": run.started, "end": time.time(), "step": "1"})
        answer = get_json(f"{prometheus}/api/v1/query_range?{query}")
        assert answer["status"] == "success", f"{expr}: {answer}"
        return answer["data"]["result"]

    fired = series('ALERTS{alertname="NegativeTickerSentimentSpike", alertstate="firing"}')
    tickers = sorted({s["metric"]["ticker"] for s in fired}) or ["XOM"]
    ticker = tickers[0]
    empty = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        model = json.loads(path.read_text())
        queries = list(panel_queries(model))
        for variable in model.get("templating", {}).get("list", []):
            match = re.fullmatch(r"label_values\((.*), \w+\)", variable["query"])
            assert match, variable["query"]
            queries.append((f"variable {variable['name']}", match.group(1)))
        for title, expr in queries:
            if not series(interpolate(expr, ticker)):
                empty.append(f"{path.stem}: {title}: {interpolate(expr, ticker)}")
    assert not empty, "panels without data:\n" + "\n".join(empty)
