"""What every tapewatch HTTP server puts between a client and its handlers.

A client that sends headers slowly is cut off (``HeaderTimeoutProtocol``); the token is checked before
the body is read, and the body is bounded in size and in time (``RequestGuard``); the number of
connections is bounded (uvicorn's ``limit_concurrency``). ``serve`` runs an ASGI app with all of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from common.auth import bearer_matches
from common.settings import ComponentSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpLimits(ComponentSettings):
    """Limits shared by the model service, the alert listener and the worker's web server."""

    model_config = SettingsConfigDict(env_prefix="TAPEWATCH_HTTP_", extra="ignore")

    header_timeout_s: float = Field(10.0, gt=0, description="Time a client has to send a request's headers")
    body_timeout_s: float = Field(30.0, gt=0, description="Time a client has to send a request's body")
    max_connections: int = Field(
        1000, ge=1, description="Open connections beyond this are answered 503 (the listen backlog waits)"
    )


class HeaderTimer:
    """Closes a connection whose request headers are not complete within ``timeout_s``: armed when the
    connection opens and after each response, disarmed when the headers are in. Both the uvicorn and
    the aiohttp servers use it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
        self.loop, self.timeout_s = loop, timeout_s
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, transport: asyncio.BaseTransport) -> None:
        self.disarm()
        if not transport.is_closing():
            self._handle = self.loop.call_later(self.timeout_s, self._close, transport)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _close(self, transport: asyncio.BaseTransport) -> None:
        self._handle = None
        if not transport.is_closing():
            transport.close()


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, closing a connection whose request headers are not complete in time.

    uvicorn times out only idle keep-alive connections: one that sends a byte every few seconds and
    never ends its headers is otherwise held open forever.
    """

    header_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.header_timer = HeaderTimer(self.loop, self.header_timeout_s)
        self.header_timer.arm(transport)

    def on_headers_complete(self) -> None:
        self.header_timer.disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.header_timer.arm(self.transport)  # a kept-alive connection's next request gets the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self.header_timer.disarm()
        super().connection_lost(exc)


def content_length_refusal(declared: str | None, max_bytes: int) -> tuple[int, str] | None:
    """The status and reason to refuse a declared ``Content-Length`` with (400 not a number, 413 too
    large), or None: checked before a byte of the body is read."""
    if declared is None:
        return None
    if not declared.isdigit():
        return 400, f"Content-Length {declared[:20]!r} is not a number"
    if int(declared) > max_bytes:
        return 413, f"Content-Length {declared}; the limit is {max_bytes} bytes"
    return None


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """A complete JSON response, sent straight on the ASGI channel (before or instead of the app)."""
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def header(scope: Scope, name: bytes) -> str | None:
    """One request header (Latin-1, as HTTP sends it), or None."""
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), None)


class RequestGuard:
    """ASGI middleware: the bearer token before anything is read, then a body bounded in bytes and time.

    Paths in ``open_paths`` need no token (health checks, the metrics Prometheus scrapes). A refused
    request is answered here, whatever the app had started to do with it, and its status passed to
    ``refused`` (for a metric).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        max_body_bytes: int,
        body_timeout_s: float,
        open_paths: Collection[str] = (),
        refused: Callable[[int], None] = lambda _status: None,
    ) -> None:
        self.app, self.token, self.open_paths = app, token, frozenset(open_paths)
        self.max_body_bytes, self.body_timeout_s = max_body_bytes, body_timeout_s
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"authorization")
        guarded = self.token is not None and scope["path"] not in self.open_paths
        if guarded and not bearer_matches(given, self.token or ""):
            problem = "invalid bearer token" if given else "missing bearer token"
            await self._refuse(
                send, 401, f"{problem} (Authorization: Bearer ...)", {"WWW-Authenticate": "Bearer"}
            )
            return
        refusal = content_length_refusal(header(scope, b"content-length"), self.max_body_bytes)
        if refusal is not None:
            await self._refuse(send, *refusal)
            return
        await self._bounded(scope, receive, send)

    async def _refuse(
        self, send: Send, status: int, problem: str, headers: dict[str, str] | None = None
    ) -> None:
        self.refused(status)
        await send_json(send, status, {"error": problem}, headers)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        refusal: list[tuple[int, str]] = []
        state = {"read": 0, "done": False, "started": False}

        async def bounded_receive() -> Message:
            if state["done"]:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                refusal.append((408, f"the body did not arrive within {self.body_timeout_s:g} s"))
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                state["done"] = not message.get("more_body", False)
                if state["read"] > self.max_body_bytes:
                    refusal.append((413, f"the body exceeds {self.max_body_bytes} bytes"))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if refusal:
                if not state["started"]:
                    state["started"] = True
                    status, problem = refusal[0]
                    await self._refuse(send, status, problem, {"Connection": "close"})
                return
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if not refusal:
                raise
        if refusal and not state["started"]:
            await guarded_send({})


def serve(app: ASGIApp, host: str, port: int, limits: HttpLimits, log_level: str = "warning") -> None:
    """Run ``app`` under uvicorn with the header timeout and the connection limit."""
    import uvicorn

    protocol = type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout_s": limits.header_timeout_s})
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=protocol,
        limit_concurrency=limits.max_connections,
        log_level=log_level,
    )
