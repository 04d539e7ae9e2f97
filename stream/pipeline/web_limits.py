"""The header timeout and connection limit on the worker's web server (Faust's aiohttp).

aiohttp cancels its keep-alive timer on the first byte of a request and has no other: a client that
sends a header line every few seconds holds a connection forever, and nothing bounds how many it opens.
Faust builds the aiohttp runner itself, so ``limit_web_server`` swaps in one whose connections are
``LimitedRequestHandler``s. (uvicorn servers get the same limits from ``common.http_guard``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from aiohttp.web import AppRunner, BaseRequest, Response, Server, StreamResponse
from aiohttp.web_protocol import RequestHandler

from common.http_guard import HeaderTimer, HttpLimits


async def busy(_request: BaseRequest) -> StreamResponse:
    """The answer on a connection beyond the limit: read in full (closing a socket with unread input
    resets it, and the client would never see the 503), then closed."""
    response = Response(status=503, text="too many connections; retry shortly", headers={"Retry-After": "1"})
    response.force_close()
    return response


class LimitedRequestHandler(RequestHandler):
    """One connection: closed when its request headers are not complete within ``header_timeout_s``,
    refused with 503 when ``max_connections`` are already open."""

    header_timeout_s = 10.0
    max_connections = 1000
    header_timer: HeaderTimer
    busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.busy = self._manager is not None and len(self._manager.connections) > self.max_connections
        self.header_timer = HeaderTimer(self._loop, self.header_timeout_s)
        self.header_timer.arm(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.header_timer.disarm()
        super().connection_lost(exc)

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[StreamResponse]],
    ) -> tuple[StreamResponse, bool]:
        self.header_timer.disarm()  # the headers are in; the handler bounds the body itself
        try:
            return await super()._handle_request(request, start_time, busy if self.busy else request_handler)
        finally:
            if self.transport is not None:
                self.header_timer.arm(self.transport)  # a kept-alive connection's next request


class LimitedServer(Server):
    handler_class: type[LimitedRequestHandler] = LimitedRequestHandler

    def __call__(self) -> RequestHandler:
        return self.handler_class(self, loop=self._loop, **self._kwargs)


class LimitedAppRunner(AppRunner):
    def __init__(self, app: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.handler_class = type(
            "Limited",
            (LimitedRequestHandler,),
            {"header_timeout_s": limits.header_timeout_s, "max_connections": limits.max_connections},
        )

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = LimitedServer  # built by aiohttp's Application; only its handler class changes
        server.handler_class = self.handler_class  # type: ignore[attr-defined]
        return server


def limit_web_server(app: faust.App, limits: HttpLimits) -> None:
    """Give the app's web server (Faust's aiohttp driver, before it starts) the limits."""
    web = app.web
    web._runner = LimitedAppRunner(web.web_app, limits, access_log=None)  # type: ignore[attr-defined]
