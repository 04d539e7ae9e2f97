"""``POST /ingest`` on the worker's web server: push documents (social posts, webhooks) over HTTP.

The body is one JSON document or a list of them. The token is checked before the body is read; the
body is bounded in bytes and in time. Each item is answered: ``accepted`` (the broker has it),
``rejected`` (invalid, with the reason) or ``not_sent`` (valid, but the broker refused it: send it
again), so a client always knows exactly which of its documents are in.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.web import Request, Response, View

from common.auth import bearer_matches
from common.http_guard import HttpLimits, content_length_refusal
from common.records import Document, InvalidRecord, parse_json
from stream.pipeline.metrics import PipelineMetrics
from stream.pipeline.topics import PipelineTopics
from stream.prepare.dedupe import raw_topic_key
from stream.prepare.documents import document_from_fields
from stream.settings import StreamSettings

MAX_ITEMS = 1000
RETRY_AFTER_S = 5  # what a client is told to wait when the broker refused some documents


class Refusal(Exception):
    """A request refused as a whole, with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The request body, refused (413) as soon as it outgrows ``max_bytes`` and (408) when it does not
    arrive within ``timeout_s``: a slow client cannot hold the handler."""
    refusal = content_length_refusal(request.headers.get("Content-Length"), max_bytes)
    if refusal is not None:
        raise Refusal(*refusal)
    chunks: list[bytes] = []
    size = 0

    async def read_all() -> None:
        nonlocal size
        while chunk := await request.content.readany():  # type: ignore[attr-defined]
            size += len(chunk)
            if size > max_bytes:
                raise Refusal(413, f"body exceeds {max_bytes} bytes")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read_all(), timeout_s)
    except TimeoutError:
        raise Refusal(408, f"the body did not arrive within {timeout_s:g} s") from None
    return b"".join(chunks)


def validated(items: list[Any], metrics: PipelineMetrics) -> tuple[list[tuple[int, Document]], list[dict]]:
    """The items that are documents, by index, and a reason for each that is not."""
    documents: list[tuple[int, Document]] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append({"index": index, "error": "not_an_object: expected a JSON object"})
            continue
        try:
            documents.append((index, document_from_fields(item)))
        except InvalidRecord as exc:
            metrics.deadletters.labels(reason=exc.reason.value).inc()
            rejected.append({"index": index, "error": str(exc)})
    return documents, rejected


async def sent_to_broker(
    topics: PipelineTopics, documents: list[tuple[int, Document]]
) -> tuple[list[dict], list[dict]]:
    """Each document sent to the raw topic: the ones the broker acknowledged, and the ones it did not."""

    async def send(document: Document) -> None:
        delivery = await topics.raw.send(key=raw_topic_key(document), value=document.dumps())
        await delivery

    outcomes = await asyncio.gather(*(send(d) for _, d in documents), return_exceptions=True)
    accepted, not_sent = [], []
    for (index, document), outcome in zip(documents, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            problem = f"{type(outcome).__name__}: {outcome}"
            not_sent.append({"index": index, "id": document.id, "error": problem})
        else:
            accepted.append({"index": index, "id": document.id})
    return accepted, not_sent


def add_ingest_page(
    app: faust.App,
    topics: PipelineTopics,
    settings: StreamSettings,
    metrics: PipelineMetrics,
    limits: HttpLimits,
) -> None:
    @app.page("/ingest")
    class Ingest(View):
        async def post(self, request: Request) -> Response:
            try:
                items = await self.items(request)
            except Refusal as exc:
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return self.json({"error": str(exc)}, status=exc.status, headers=headers)
            documents, rejected = validated(items, metrics)
            accepted, not_sent = await sent_to_broker(topics, documents)
            answer = {"accepted": accepted, "rejected": rejected, "not_sent": not_sent}
            if not_sent:
                return self.json(answer, status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
            return self.json(answer, status=202 if accepted else 422)

        async def items(self, request: Request) -> list[Any]:
            if settings.ingest_token is not None and not bearer_matches(
                request.headers.get("Authorization"), settings.ingest_token.get_secret_value()
            ):
                raise Refusal(401, "missing or invalid bearer token (Authorization: Bearer ...)")
            body = await read_body(request, settings.max_ingest_bytes, limits.body_timeout_s)
            try:
                data = parse_json(body)
            except InvalidRecord as exc:
                metrics.deadletters.labels(reason=exc.reason.value).inc()
                raise Refusal(400, f"the body is not valid JSON: {exc.detail}") from None
            items = data if isinstance(data, list) else [data]
            if not items or len(items) > MAX_ITEMS:
                raise Refusal(413 if items else 400, f"send between 1 and {MAX_ITEMS} documents")
            return items
