"""Servers on 127.0.0.1 that play hostile (open redirects, compression bombs) or keep watch
(a canary records every request it gets), for the fetch-policy and SSRF tests."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

BODY = "<html><body><p>نص تجريبي عن حي الأمل</p></body></html>".encode()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Server:
    url: str
    port: int
    requests: list[str] = field(default_factory=list)
    # /held answers only once this is set: a page that waits as long as the test wants.
    release: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def serve(extra: dict[str, Handler] | None = None) -> AsyncIterator[Server]:
    """A server on 127.0.0.1 with the routes below and `extra` (path -> handler); every
    request's path and query is recorded in `Server.requests`."""
    server = Server("", 0)

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        server.requests.append(request.path_qs)
        return await handler(request)

    app = web.Application(middlewares=[record])

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="text/html", charset="utf-8")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def encoded(request: web.Request) -> web.Response:
        layers = request.query.get("layers", "gzip")
        size = int(request.query.get("mb", "1")) * 1024 * 1024
        body = b"\0" * size
        for layer in layers.split(","):
            body = gzip.compress(body) if layer == "gzip" else zlib.compress(body)
        return web.Response(body=body, headers={"Content-Encoding": layers})

    async def raw_deflate(_: web.Request) -> web.Response:
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = packer.compress(BODY) + packer.flush()
        return web.Response(body=body, headers={"Content-Encoding": "deflate"})

    async def held(_: web.Request) -> web.Response:
        await server.release.wait()
        return web.Response(body=BODY, content_type="text/html", charset="utf-8")

    app.router.add_get("/page", page)
    app.router.add_get("/held", held)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/encoded", encoded)
    app.router.add_get("/raw-deflate", raw_deflate)
    for path, handler in (extra or {}).items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{server.port}"
    try:
        yield server
    finally:
        await runner.cleanup()
