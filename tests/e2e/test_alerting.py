"""End to end with the real servers: worker on the real broker, Prometheus (rendered rules),
Alertmanager (the shipped routing), and ``tapewatch alerts listen`` as its webhook.

A synthetic market hour with an Energy | Oil spike is fed at 60x speed, so a one-minute window
closes every second. Prometheus scrapes and evaluates every second, the rules hold for 2 s, and
the copy of the shipped Alertmanager config only has its webhook URL and group timings (1 s)
changed (see ``stream.monitoring.routed_to``).
"""

from __future__ import annotations

import threading
from datetime import time
from pathlib import Path

import pytest

from alerts.settings import AlertSettings
from stream.ingest.pacing import compressed, send_paced
from stream.monitoring import MonitoringStack, alertmanager_binary, prometheus_binary
from stream.producer import DocumentProducer
from stream.synthetic import Incident, MarketDay
from stream.topics import TopicNames, ensure_topics
from stream.worker_process import WorkerProcess
from tests.helpers import wait_until

SPIKE = "Energy | Oil"
WORKER_ALERT_ENV = {"TAPEWATCH_ALERT_WARMUP_WINDOWS": "15"}  # a shorter warm-up for a short day


@pytest.mark.timeout(420)
def test_a_spike_reaches_the_webhook_firing_then_resolved(broker, make_settings, tmp_path: Path) -> None:
    assert prometheus_binary() and alertmanager_binary(), "needs Debian's prometheus, prometheus-alertmanager"
    settings = make_settings(idle_close_s=3)
    ensure_topics(settings)
    day = MarketDay(
        start=time(10, 30), end=time(11, 15), incidents=[Incident.parse(f"{SPIKE}@10:52/10m/6x/85%")], seed=21
    )
    stack = MonitoringStack(
        workdir=tmp_path / "monitoring",
        targets=[f"{settings.web_host}:{settings.web_port}"],
        broker_url=settings.broker_url,
        alerts_topic=TopicNames(settings.topic_prefix).alerts,
        alert_settings=AlertSettings(for_s=2, keep_firing_s=3),
        interval_s=1,
        group_s=1,
    )
    worker = WorkerProcess(settings, tmp_path / "worker.log", env=WORKER_ALERT_ENV).start()
    stop = threading.Event()
    try:
        stack.start()
        worker.wait_ready()
        stack.wait_ready()

        def feed() -> None:
            with DocumentProducer(settings) as producer:
                send_paced(producer, day.documents(), compressed(day.begins, 60), progress=False, stop=stop)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()

        def notified(status: str) -> list[dict]:
            return [n for n in stack.notifications() if n["key"] == SPIKE and n["status"] == status]

        firing = wait_until(lambda: notified("firing"), 150, f"a firing notification for {SPIKE}")
        assert firing[0]["alertname"] == "NegativeSentimentSpike"
        assert firing[0]["severity"] in ("warning", "critical")
        evidence = firing[0]["evidence"]
        assert evidence is not None and evidence["key"] == SPIKE and evidence["state"] == "firing"
        assert evidence["evidence"] and all(e["title"] and e["score"] < 0 for e in evidence["evidence"])
        assert any(e["explanation"] for e in evidence["evidence"]), "the headlines come with their tokens"
        assert "var-topic=Energy+%7C+Oil" in firing[0]["dashboard"]

        resolved = wait_until(lambda: notified("resolved"), 120, f"the resolved notification for {SPIKE}")
        assert resolved[0]["ends_at"] is not None
    except BaseException:
        for name in ("prometheus", "alertmanager", "listener"):
            print(f"--- {name} ---\n{stack.log_tail(name)}")
        print(f"--- worker ---\n{worker.log_tail()}")
        raise
    finally:
        stop.set()
        worker.stop()
        stack.stop()
