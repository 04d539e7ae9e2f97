"""``tapewatch alerts listen``: an Alertmanager webhook receiver that adds the detector's evidence.

Each notified alert is printed (text or JSON lines) and, when a forward URL is set, posted on
with its evidence; a failed forward answers 502 so that Alertmanager retries the notification.
Every notification is answered within about ``listen_evidence_wait_s + FORWARD_TIMEOUT_S``, well inside
Alertmanager's webhook timeout, however many alerts it holds; the body is capped.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from pydantic import ValidationError

from alerts.evidence import EvidenceBook, Notification, alert_key, enrich, format_text
from alerts.settings import AlertSettings
from common.http_guard import HttpLimits, RequestGuard, serve
from common.records import Alert, InvalidRecord, decode_record
from common.topic_reader import TopicReader

log = logging.getLogger(__name__)

FORWARD_TIMEOUT_S = 5.0


class AlertsTopicReader(threading.Thread):
    """Reads the alerts topic from the start into an EvidenceBook; keeps retrying while the broker is away."""

    def __init__(self, book: EvidenceBook, broker_url: str, topic: str) -> None:
        super().__init__(name="tapewatch-alerts-reader", daemon=True)
        self.book, self.broker_url, self.topic = book, broker_url, topic
        self.stopping = threading.Event()

    def run(self) -> None:
        from kafka.errors import KafkaError

        while not self.stopping.is_set():
            try:
                with TopicReader(self.broker_url.split(","), self.topic, "tapewatch-alerts-listen") as reader:
                    if not reader.exists:  # the worker creates it; look again soon
                        self.stopping.wait(2)
                        continue
                    for record in reader.from_start().records(follow=True, stop=self.stopping):
                        self._add(record.value)
            except KafkaError as exc:
                log.warning(
                    "alerts topic %s unreachable at %s (%s); retrying", self.topic, self.broker_url, exc
                )
                self.stopping.wait(5)

    def _add(self, value: bytes | None) -> None:
        try:
            alert = decode_record(Alert, value)
        except InvalidRecord as error:
            log.warning("skipping an alerts-topic record: %s", error)
            return
        self.book.add(json.loads(alert.dumps()))


def create_listener(
    settings: AlertSettings,
    book: EvidenceBook,
    emit: Callable[[dict[str, Any]], None],
    limits: HttpLimits | None = None,
) -> FastAPI:
    """The webhook app, its token checked before the body is read (``RequestGuard``)."""
    app = FastAPI(title="tapewatch alerts listener", docs_url=None, redoc_url=None, openapi_url=None)
    forward = httpx.AsyncClient(timeout=FORWARD_TIMEOUT_S) if settings.forward_url else None

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/alertmanager")
    async def alertmanager(request: Request) -> dict[str, int]:
        try:
            notification = Notification.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise HTTPException(400, f"not an Alertmanager webhook body: {where}: {first['msg']}") from None
        keys = [alert_key(alert.labels) for alert in notification.alerts]
        firing = {
            key for alert, key in zip(notification.alerts, keys, strict=True) if alert.status == "firing"
        }
        await book.wait_for(firing - {""}, settings.listen_evidence_wait_s)
        evidence = book.firing_now(key for key in keys if key)
        records = [
            enrich(alert, evidence.get(key)) for alert, key in zip(notification.alerts, keys, strict=True)
        ]
        for record in records:
            emit(record)
        if forward is not None and settings.forward_url:
            try:
                answer = await forward.post(settings.forward_url, json={"alerts": records})
                answer.raise_for_status()
            except httpx.HTTPError as exc:
                raise HTTPException(502, f"forwarding to {settings.forward_url} failed: {exc}") from None
        return {"received": len(records)}

    limits = limits or HttpLimits.load()
    app.add_middleware(
        RequestGuard,
        token=settings.listen_token.get_secret_value() if settings.listen_token else None,
        max_body_bytes=settings.listen_max_body_bytes,
        body_timeout_s=limits.body_timeout_s,
        open_paths=("/healthz",),
    )
    return app


def printer(as_json: bool) -> Callable[[dict[str, Any]], None]:
    def emit(record: dict[str, Any]) -> None:
        sys.stdout.write((json.dumps(record) if as_json else format_text(record)) + "\n")
        sys.stdout.flush()

    return emit


def listen(settings: AlertSettings, broker_url: str, topic: str, as_json: bool) -> None:
    book = EvidenceBook()
    reader = AlertsTopicReader(book, broker_url, topic)
    reader.start()
    limits = HttpLimits.load()
    app = create_listener(settings, book, printer(as_json), limits)
    try:
        serve(app, settings.listen_host, settings.listen_port, limits)
    finally:
        reader.stopping.set()
