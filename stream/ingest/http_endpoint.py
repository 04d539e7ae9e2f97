"""``POST /ingest`` on the worker's web server: push documents (social posts, webhooks) over HTTP.

The body is one JSON document or a list of them. Valid ones go to the raw topic and are answered
with 202 once the broker has them; invalid ones are answered item by item with the reason, so a
client never loses a document without being told.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

import faust
from faust.web import Request, Response, View

from common.records import InvalidRecord
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.topics import PipelineTopics
from stream.prepare.dedupe import raw_topic_key
from stream.prepare.documents import document_from_fields
from stream.settings import StreamSettings

MAX_ITEMS = 1000


def add_ingest_page(
    app: faust.App, topics: PipelineTopics, settings: StreamSettings, metrics: PipelineMetrics
) -> None:
    def error(view: View, status: int, message: str, **extra: Any) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return view.json({"error": message, **extra}, status=status, headers=headers)

    @app.page("/ingest")
    class Ingest(View):
        async def post(self, request: Request) -> Response:
            if settings.ingest_token is not None:
                scheme, _, given = request.headers.get("Authorization", "").partition(" ")
                expected = settings.ingest_token.get_secret_value()
                if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
                    return error(self, 401, "missing or invalid bearer token")
            declared = int(request.headers.get("Content-Length") or 0)
            if declared > settings.max_ingest_bytes:
                return error(self, 413, f"body of {declared} bytes exceeds {settings.max_ingest_bytes}")
            body = await request.read()
            if len(body) > settings.max_ingest_bytes:
                return error(self, 413, f"body of {len(body)} bytes exceeds {settings.max_ingest_bytes}")
            try:
                data = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return error(self, 400, f"the body is not valid JSON: {exc}")
            items = data if isinstance(data, list) else [data]
            if not items or len(items) > MAX_ITEMS:
                return error(self, 400, f"send between 1 and {MAX_ITEMS} documents")
            accepted, rejected = [], []
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    rejected.append({"index": index, "error": "not_an_object: expected a JSON object"})
                    continue
                try:
                    accepted.append(document_from_fields(item))
                except InvalidRecord as exc:
                    metrics.deadletters.labels(reason=exc.reason.value).inc()
                    rejected.append({"index": index, "error": str(exc)})
            deliveries = [await topics.raw.send(key=raw_topic_key(d), value=d.dumps()) for d in accepted]
            for delivery in deliveries:
                await delivery
            status = 202 if accepted else 422
            return self.json({"accepted": [d.id for d in accepted], "rejected": rejected}, status=status)
