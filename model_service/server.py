"""``tapewatch serve-model``: the classifier over HTTP, with dynamic batching.

``POST /v1/classify``, ``GET /v1/model``, ``/healthz``, ``/readyz``, ``/metrics`` and an OpenAPI
document at ``/openapi.json`` (browsable at ``/docs``). Bad requests get a 4xx that names the field
and the limit; an overloaded batcher answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from common.metrics import exposition, process_registry
from model_service.batcher import DynamicBatcher, Overloaded
from model_service.engine import Classification, InferenceEngine
from model_service.metrics import ModelMetrics
from model_service.settings import ModelSettings

log = logging.getLogger(__name__)


class DocumentIn(BaseModel):
    id: str = Field(min_length=1, max_length=256, description="Caller's id, echoed in the result")
    text: str = Field(min_length=1, description="Title and/or body to classify")


class ClassifyRequest(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1, description="Documents to classify")
    explain: bool = Field(False, description="Return the words that drove each sentiment decision")


class TokenWeightOut(BaseModel):
    token: str
    weight: float


class ClassificationOut(BaseModel):
    id: str
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_score: float = Field(description="p(positive) - p(negative), in [-1, 1]")
    probs: dict[str, float]
    model_version: str
    explanation: list[TokenWeightOut] | None = None


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


def create_app(
    settings: ModelSettings | None = None,
    engine: InferenceEngine | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """The API app; loads the engine in the background (``/readyz`` says when) unless one is given.

    Its metrics live on ``registry`` (by default a new one with the process metrics), served at /metrics.
    """
    settings = settings or ModelSettings()
    registry = registry if registry is not None else process_registry()
    metrics = ModelMetrics.create(registry)
    state: dict[str, Any] = {"engine": engine, "batcher": None, "load_error": None}

    async def start_batcher(loaded: InferenceEngine) -> None:
        batcher: DynamicBatcher[Classification] = DynamicBatcher(
            loaded.classify, settings.max_batch_size, settings.max_wait_ms, settings.max_queue, metrics
        )
        await batcher.start()
        state["engine"], state["batcher"] = loaded, batcher

    async def load_in_background() -> None:
        try:
            loaded = await asyncio.to_thread(InferenceEngine.load, settings)
        except Exception as exc:
            log.exception("model failed to load")
            state["load_error"] = str(exc)
            return
        await start_batcher(loaded)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loader = asyncio.create_task(start_batcher(engine) if engine else load_in_background())
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

    def require_token(request: Request) -> None:
        if settings.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if not header:
            raise ApiError(
                401, "missing bearer token (Authorization: Bearer ...)", {"WWW-Authenticate": "Bearer"}
            )
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), settings.token.get_secret_value().encode()
        ):
            raise ApiError(401, "invalid bearer token", {"WWW-Authenticate": "Bearer"})

    def ready_batcher() -> DynamicBatcher[Classification]:
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
        dependencies=[Depends(require_token)],
        responses={400: {}, 401: {}, 413: {}, 422: {}, 503: {}},
    )
    async def classify(body: ClassifyRequest) -> ClassifyResponse:
        """Topic, sentiment and (optionally) an explanation for each document."""
        check_limits(body)
        batcher = ready_batcher()
        try:
            results = await batcher.submit([d.text for d in body.documents], body.explain)
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

    @app.get("/v1/model", dependencies=[Depends(require_token)])
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

    return app


def _result_out(doc_id: str, result: Classification) -> ClassificationOut:
    explanation = None
    if result.explanation is not None:
        explanation = [TokenWeightOut(token=t, weight=w) for t, w in result.explanation]
    return ClassificationOut(id=doc_id, **result.labels(), explanation=explanation)  # type: ignore[arg-type]


def serve(settings: ModelSettings) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    serve(ModelSettings())
