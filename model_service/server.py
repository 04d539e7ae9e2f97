"""``tapewatch serve-model``: the classifier over HTTP, with dynamic batching.

``POST /v1/classify``, ``GET /v1/model``, ``/healthz``, ``/readyz``, ``/metrics`` and an OpenAPI
document at ``/openapi.json`` (browsable at ``/docs``). Bad requests get a 4xx that names the field
and the limit. A request that cannot be answered within its deadline (``X-Deadline-Ms``, or
``TAPEWATCH_MODEL_DEADLINE_MS``) is refused at once with 503 and Retry-After, before its body is read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from common.http_guard import (
    ASGIApp,
    HttpLimits,
    Message,
    Receive,
    RequestGuard,
    Scope,
    Send,
    header,
    send_json,
)
from common.http_guard import serve as serve_http
from common.metrics import exposition, process_registry
from model_service.admission import Refusal, WaitCalibration, admit
from model_service.batcher import DynamicBatcher, Overloaded, yield_to_the_event_loop
from model_service.classification import Classification
from model_service.engine import InferenceEngine
from model_service.entity_spans import AskedEntities, EntityQuery, with_asked
from model_service.metrics import ModelMetrics
from model_service.settings import ModelSettings
from model_service.user_topics import TopicsError

log = logging.getLogger(__name__)

OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc")
DEADLINE_HEADER = "X-Deadline-Ms"
DEADLINE_KEY = DEADLINE_HEADER.lower().encode()  # as ASGI hands headers over
ClassifyItem = tuple[str, list[EntityQuery]]  # a text and the entities to read in it


MAX_ENTITIES = 32


class EntityIn(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="The entity, echoed in the answer ($BTC)")
    names: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="How a text may name it (Bitcoin, BTC); default: the key itself",
    )

    def query(self) -> EntityQuery:
        return EntityQuery(self.key, tuple(n[:200] for n in self.names) or (self.key,))


class DocumentIn(BaseModel):
    id: str = Field(min_length=1, max_length=256, description="Caller's id, echoed in the result")
    text: str = Field(min_length=1, description="Title and/or body to classify")
    entities: list[str | EntityIn] | None = Field(
        None,
        max_length=MAX_ENTITIES,
        description=(
            'Entities to read the sentiment toward: a name as the text writes it ("SHIB"), or '
            "{key, names}. Each gets its own label from the same encoder pass"
        ),
    )

    def queries(self) -> list[EntityQuery]:
        return [EntityIn(key=e).query() if isinstance(e, str) else e.query() for e in self.entities or []]


class ClassifyRequest(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1, description="Documents to classify")
    explain: bool = Field(False, description="Return the words that drove each sentiment decision")


class TokenWeightOut(BaseModel):
    token: str
    weight: float


class EntityOut(BaseModel):
    key: str = Field(description="The key asked for, or for an entity found: $SYMBOL (linked) or name:<Name>")
    name: str = Field("", description="How the entity is called (Bitcoin, Celsius)")
    type: str = Field("other", description="person, organisation, place, product or other")
    mentions: list[tuple[int, int]] = Field(
        default_factory=list, description="[start, end] character offsets of each mention in the text as sent"
    )
    sentiment: str
    sentiment_score: float = Field(description="p(positive) - p(negative) toward the entity")
    probs: dict[str, float]
    mentioned: bool = Field(description="False: the text never names it, and the labels are the document's")
    explanation: list[TokenWeightOut] | None = None


class ClassificationOut(BaseModel):
    id: str
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_score: float = Field(description="p(positive) - p(negative), in [-1, 1]")
    probs: dict[str, float]
    model_version: str
    explanation: list[TokenWeightOut] | None = None
    entities: list[EntityOut] | None = Field(
        None,
        description="Per entity: those asked for, in the order asked, then those the model found in the "
        "text, each under one key (Bitcoin, BTC and $BTC are $BTC)",
    )
    user_topic: str | None = Field(
        None,
        description="The topic of the server's topics file (TAPEWATCH_TOPICS_PATH) it matched; null: none",
    )


class ClassifyResponse(BaseModel):
    model_version: str
    results: list[ClassificationOut]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[int, str, list[dict[str, Any]]]:
    details = [
        {"field": ".".join(str(part) for part in error["loc"][1:]) or "body", "problem": error["msg"]}
        for error in exc.errors()
    ]
    if any(error["type"] == "json_invalid" for error in exc.errors()):
        return 400, "the request body is not valid JSON", details
    first = details[0] if details else {"field": "body", "problem": "invalid"}
    return 422, f"{first['field']}: {first['problem']}", details


class Admission:
    """ASGI middleware answering a request at once when ``refusal(scope)`` gives a status, reason and
    headers; ``refused`` counts it. ``finished`` is told when a request it let in is done."""

    def __init__(
        self,
        app: ASGIApp,
        refusal: Callable[[Scope], tuple[int, str, dict[str, str] | None] | None],
        refused: Callable[[int], None],
        finished: Callable[[Scope], None],
    ) -> None:
        self.app, self.refusal, self.refused, self.finished = app, refusal, refused, finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timed = server_timed(send)
        answer = self.refusal(scope)
        if answer is None:
            try:
                await self.app(scope, receive, timed)
            finally:
                self.finished(scope)
            return
        status, problem, headers = answer
        self.refused(status)
        await send_json(timed, status, {"error": problem}, headers)


def server_timed(send: Send) -> Send:
    """``send`` adding a ``Server-Timing`` header: the server's share of the time a client waited."""
    started = time.perf_counter()

    async def timed(message: Message) -> None:
        if message["type"] == "http.response.start":
            took = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
            message = {**message, "headers": [*message.get("headers", []), (b"server-timing", took)]}
        await send(message)

    return timed


def create_app(
    settings: ModelSettings | None = None,
    engine: InferenceEngine | None = None,
    registry: CollectorRegistry | None = None,
    limits: HttpLimits | None = None,
    asked: AskedEntities | None = None,
) -> FastAPI:
    """The API app; loads the engine in the background (``/readyz`` says when) unless one is given.

    ``asked``: what each text is asked about besides the entities its request names (the watchlist's
    and its cashtags, as a worker asks; ``tapewatch serve-model`` passes the configured watchlist's).

    Its metrics live on ``registry`` (by default a new one with the process metrics), served at /metrics.
    """
    settings = settings or ModelSettings()
    registry = registry if registry is not None else process_registry()
    metrics = ModelMetrics.create(registry)
    state: dict[str, Any] = {"engine": engine, "batcher": None, "load_error": None}
    calibration = WaitCalibration()
    admitted = {"texts": 0}  # requests let in before their body, not yet in the batcher

    async def start_batcher(loaded: InferenceEngine) -> None:
        topics = None
        if settings.topics_path is not None:
            topics = await asyncio.to_thread(
                loaded.topic_source, settings.topics_path, settings.topics_check_s
            )

        def run(items: list[ClassifyItem], explain: list[bool]) -> list[Classification]:
            texts = [text for text, _ in items]
            entities = [queries for _, queries in items]
            matcher = topics.current(time.monotonic()) if topics is not None else None
            return loaded.classify(texts, explain, entities if any(entities) else None, matcher)

        batcher: DynamicBatcher[ClassifyItem, Classification] = DynamicBatcher(
            run, settings.max_batch_size, settings.max_wait_ms, settings.max_queue, metrics
        )
        await batcher.start()
        state["engine"], state["batcher"] = loaded, batcher

    async def load_in_background() -> None:
        try:
            loaded = await asyncio.to_thread(load_yielding, settings)
        except Exception as exc:
            log.exception("model failed to load")
            state["load_error"] = str(exc)
            return
        await start_engine(loaded)

    async def start_engine(loaded: InferenceEngine) -> None:
        try:
            await start_batcher(loaded)
        except TopicsError as exc:
            log.error("not serving: %s", exc)
            state["load_error"] = str(exc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loader = asyncio.create_task(start_engine(engine) if engine else load_in_background())
        yield
        loader.cancel()
        if state["batcher"] is not None:
            await state["batcher"].stop()

    app = FastAPI(
        title="tapewatch model service",
        version="1",
        summary="Topic and sentiment of financial news and posts, batched on one transformer.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message, details = _describe_validation(exc)
        metrics.requests.labels(status=str(status)).inc()
        return _error(status, message, details=details)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        metrics.requests.labels(status=str(exc.status)).inc()
        return _error(exc.status, exc.message, exc.headers)

    def ready_batcher() -> DynamicBatcher[ClassifyItem, Classification]:
        if state["load_error"]:
            raise ApiError(503, f"the model failed to load: {state['load_error']}")
        if state["batcher"] is None:
            raise ApiError(503, "the model is still loading", {"Retry-After": "2"})
        return state["batcher"]

    def check_limits(body: ClassifyRequest) -> None:
        if len(body.documents) > settings.max_request_items:
            raise ApiError(
                413,
                f"documents: {len(body.documents)} documents in one request; the limit is "
                f"{settings.max_request_items} (TAPEWATCH_MODEL_MAX_REQUEST_ITEMS)",
            )
        for index, document in enumerate(body.documents):
            if not document.text.strip():
                raise ApiError(422, f"documents.{index}.text: is blank")
            if len(document.text) > settings.max_text_chars:
                raise ApiError(
                    413,
                    f"documents.{index}.text: {len(document.text):,} characters; the limit is "
                    f"{settings.max_text_chars:,} (TAPEWATCH_MODEL_MAX_TEXT_CHARS)",
                )

    @app.post(
        "/v1/classify",
        response_model=ClassifyResponse,
        responses={400: {}, 401: {}, 408: {}, 413: {}, 422: {}, 503: {}},
    )
    async def classify(body: ClassifyRequest, request: Request) -> ClassifyResponse:
        """Topic, sentiment and (optionally) an explanation for each document.

        Send ``X-Deadline-Ms`` to be refused at once (503, Retry-After) when the answer would come later.
        """
        check_limits(body)
        batcher = ready_batcher()
        submitted(request.scope)
        spent = time.perf_counter() - request.state.arrived  # reading and parsing the body
        expected = spent + batcher.expected_wait(len(body.documents))
        refusal = admit(calibration.expected(expected), request.state.deadline_s)
        if refusal is not None:
            raise ApiError(503, *refused(refusal))
        request.state.expected_s = expected
        try:
            items = [
                (d.text, with_asked(d.queries(), asked(d.text) if asked else [])) for d in body.documents
            ]
            results = await batcher.submit(items, body.explain)
        except Overloaded as exc:
            raise ApiError(503, f"overloaded: {exc}", {"Retry-After": "1"}) from None
        metrics.requests.labels(status="200").inc()
        engine_now: InferenceEngine = state["engine"]
        return ClassifyResponse(
            model_version=engine_now.version,
            results=[
                _result_out(doc.id, result) for doc, result in zip(body.documents, results, strict=True)
            ],
        )

    @app.get("/v1/model")
    async def model_info() -> dict[str, Any]:
        """The loaded model: version, backend, labels, dev-split metrics and batching limits."""
        engine_now: InferenceEngine | None = state["engine"]
        if engine_now is None:
            ready_batcher()
        assert engine_now is not None
        return {
            **engine_now.describe(),
            "max_batch_size": settings.max_batch_size,
            "max_wait_ms": settings.max_wait_ms,
            "max_request_items": settings.max_request_items,
            "max_text_chars": settings.max_text_chars,
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up (the model may still be loading)."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """200 once the model is loaded and the batcher runs; 503 before (or if loading failed)."""
        if state["batcher"] is not None:
            return JSONResponse({"status": "ready", "model_version": state["engine"].version})
        reason = f"load failed: {state['load_error']}" if state["load_error"] else "loading"
        return JSONResponse({"status": reason}, status_code=503)

    @app.get("/metrics")
    async def serve_metrics() -> Response:
        body, content_type = exposition(registry)
        return Response(body, headers={"Content-Type": content_type})

    def counted(status: int) -> None:
        metrics.requests.labels(status=str(status)).inc()

    def refused(refusal: Refusal) -> tuple[str, dict[str, str]]:
        metrics.overloaded.inc()
        return refusal.message, {"Retry-After": str(refusal.retry_after_s)}

    def before_body(scope: Scope) -> tuple[int, str, dict[str, str] | None] | None:
        """The deadline check before the body is read (for one text), so a refusal costs nothing."""
        if scope["path"] != "/v1/classify":
            return None
        try:
            deadline_s = deadline_of(header(scope, DEADLINE_KEY), settings)
        except ValueError as exc:
            return 400, str(exc), None
        request_state = scope.setdefault("state", {})
        request_state.update(deadline_s=deadline_s, arrived=time.perf_counter())
        batcher = state["batcher"]
        if batcher is None:
            return None  # classify answers that the model is loading
        refusal = admit(calibration.expected(batcher.expected_wait(admitted["texts"] + 1)), deadline_s)
        if refusal is not None:
            return 503, *refused(refusal)
        admitted["texts"] += 1
        request_state["admitted"] = 1
        return None

    def submitted(scope: Scope) -> None:
        """The request is in the batcher now (or gone): no longer counted as on its way."""
        admitted["texts"] -= scope.get("state", {}).pop("admitted", 0)

    def finished(scope: Scope) -> None:
        """The answer is sent: how long it took, against what was expected when it was let in."""
        submitted(scope)
        request_state = scope.get("state", {})
        if "expected_s" in request_state:
            calibration.observed(request_state["expected_s"], time.perf_counter() - request_state["arrived"])

    app.add_middleware(Admission, refusal=before_body, refused=counted, finished=finished)
    app.add_middleware(  # added last, so it runs first: nothing is read before the token is checked
        RequestGuard,
        token=settings.token.get_secret_value() if settings.token else None,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=(limits or HttpLimits.load()).body_timeout_s,
        open_paths=OPEN_PATHS + (DOC_PATHS if settings.open_docs else ()),
        refused=counted,
    )
    return app


def load_yielding(settings: ModelSettings) -> InferenceEngine:
    """The engine, loaded at a low priority so the thread pools it starts have it too."""
    yield_to_the_event_loop()
    return InferenceEngine.load(settings, beside_event_loop=True)


def deadline_of(value: str | None, settings: ModelSettings) -> float:
    """The request's deadline in seconds: its ``X-Deadline-Ms`` header, or the configured default."""
    if value is None:
        return settings.deadline_ms / 1000
    try:
        milliseconds = float(value)
    except ValueError:
        milliseconds = math.nan
    if not (math.isfinite(milliseconds) and milliseconds > 0):
        raise ValueError(
            f"{DEADLINE_HEADER.lower()}: expected a positive number of milliseconds, got {value[:20]!r}"
        )
    return milliseconds / 1000


def _weights(explanation: list[tuple[str, float]] | None) -> list[TokenWeightOut] | None:
    return None if explanation is None else [TokenWeightOut(token=t, weight=w) for t, w in explanation]


def _result_out(doc_id: str, result: Classification) -> ClassificationOut:
    entities = None
    if result.entities is not None:
        entities = [
            EntityOut(
                key=key,
                name=found.name,
                type=found.type,
                mentions=found.mentions,
                sentiment=found.sentiment,
                sentiment_score=found.sentiment_score,
                probs=found.probs,
                mentioned=found.mentioned,
                explanation=_weights(found.explanation),
            )
            for key, found in result.entities.items()
        ]
    return ClassificationOut(
        id=doc_id, **result.labels(), explanation=_weights(result.explanation), entities=entities
    )


def serve(settings: ModelSettings, asked: AskedEntities | None = None) -> None:
    limits = HttpLimits.load()
    app = create_app(settings, limits=limits, asked=asked)
    serve_http(app, settings.host, settings.port, limits, log_level="info")


if __name__ == "__main__":
    serve(ModelSettings())
