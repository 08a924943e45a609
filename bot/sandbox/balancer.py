"""A round-robin load balancer on 127.0.0.1, standing in for nginx in front of several workers'
webhooks (deploy/nginx-ajil-fleet.conf) in tests and benchmarks.

Each POST goes to the next worker in turn; a worker that refuses the connection is skipped for
the next one, as nginx's `proxy_next_upstream error` does. A request a worker accepted and then
failed is not sent again (an update is not idempotent): its error goes back to the Bot API,
which posts the update again later.
"""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web

_HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}


class Balancer:
    def __init__(self, ports: list[int], path: str = "/hook") -> None:
        self.ports = ports
        self.path = path
        self._turn = itertools.cycle(range(len(ports)))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        self.forwarded: Counter[int] = Counter()  # requests each worker (by port) answered
        self.answered_by: list[int] = []  # the port of the worker that answered each request
        self.skipped = 0  # connection refused: passed to the next worker

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post(self.path, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        self.port = sockets[0].getsockname()[1] if sockets else 0

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        for _ in range(len(self.ports)):
            port = self.ports[next(self._turn)]
            try:
                async with self._session.post(
                    f"http://127.0.0.1:{port}{self.path}", data=body, headers=headers
                ) as answer:
                    text = await answer.read()
                    self.forwarded[port] += 1
                    self.answered_by.append(port)
                    return web.Response(status=answer.status, body=text)
            except aiohttp.ClientConnectorError:
                self.skipped += 1
                continue
        return web.Response(status=502, text="no worker answers")
