"""Async client of the model service: timeouts, retries with backoff, clear errors when it is down."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx

from model_service.classification import Classification, EntitySentiment
from model_service.entity_spans import EntityQuery

RETRY_STATUSES = {429, 502, 503, 504}


class ModelServiceError(RuntimeError):
    """The service answered, but refused the request (a 4xx): retrying will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"model service answered {status}: {message}")
        self.status = status


class ModelServiceUnavailable(ConnectionError):
    """The service could not be reached, or stayed overloaded, through every retry."""


class ModelClient:
    """``async with ModelClient(url) as client: await client.classify([(id, text), ...])``."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout, headers=headers)

    async def _request(self, method: str, path: str, json: Any = None) -> Any:
        last_problem = ""
        for attempt in range(self.retries + 1):
            delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
            try:
                response = await self._http.request(method, path, json=json)
            except httpx.TransportError as exc:  # refused, reset, timed out
                last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 400:
                    return response.json()
                message = _error_message(response)
                if response.status_code not in RETRY_STATUSES:
                    raise ModelServiceError(response.status_code, message)
                last_problem = f"{response.status_code} {message}"
                retry_after = response.headers.get("retry-after", "")
                # spread out, so that refused clients do not all come back at once
                if retry_after.replace(".", "", 1).isdigit():
                    delay = min(self.max_backoff, retry_after_delay(float(retry_after)))
            if attempt < self.retries:
                await asyncio.sleep(delay)
        raise ModelServiceUnavailable(
            f"model service at {self.url} unavailable after {self.retries + 1} attempts: {last_problem}"
        )

    async def classify(
        self,
        documents: Sequence[tuple[str, str]],
        explain: bool = False,
        entities: Sequence[Sequence[EntityQuery]] | None = None,
    ) -> list[Classification]:
        """Labels for ``(id, text)`` pairs, in order; with ``entities``, the sentiment toward each."""
        if not documents:
            return []
        sent: list[dict[str, Any]] = [{"id": i, "text": t} for i, t in documents]
        if entities is not None:
            for document, queries in zip(sent, entities, strict=True):
                document["entities"] = [{"key": q.key, "names": list(q.surfaces)} for q in queries]
        answer = await self._request("POST", "/v1/classify", {"documents": sent, "explain": explain})
        return [_classification(r) for r in answer["results"]]

    async def model_info(self) -> dict[str, Any]:
        return await self._request("GET", "/v1/model")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _weights(found: list[dict[str, Any]] | None) -> list[tuple[str, float]] | None:
    return [(e["token"], e["weight"]) for e in found] if found else None


def _classification(answer: dict[str, Any]) -> Classification:
    entities = None
    if answer.get("entities") is not None:
        entities = {
            e["key"]: EntitySentiment(
                e["sentiment"],
                e["sentiment_score"],
                e["probs"],
                e["mentioned"],
                _weights(e.get("explanation")),
                name=e.get("name", ""),
                type=e.get("type", "other"),
                mentions=[(int(a), int(b)) for a, b in e.get("mentions", [])],
            )
            for e in answer["entities"]
        }
    return Classification(
        topic=answer["topic"],
        topic_confidence=answer["topic_confidence"],
        sentiment=answer["sentiment"],
        sentiment_score=answer["sentiment_score"],
        probs=answer["probs"],
        model_version=answer["model_version"],
        explanation=_weights(answer.get("explanation")),
        entities=entities,
        user_topic=answer.get("user_topic"),
    )


def retry_after_delay(retry_after_s: float) -> float:
    """How long to wait when told ``Retry-After``: at least that, and up to half again at random."""
    return retry_after_s * (1 + random.random() / 2)


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:200]
