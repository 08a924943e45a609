"""A Bot API server on 127.0.0.1 that behaves like Telegram's, for tests and the demo.

The bot is pointed at it through `[telegram] api_url`; nothing in the bot knows it is not
talking to Telegram. Requests are accepted as GET or POST, with query, form or JSON parameters,
and answered in Telegram's envelope: `ok`, `result` or `error_code`, `description` and
`parameters`. Faults (rate limits, blocked users, migrations, latency, dropped connections)
are switched on through `faults`; `world` is the state tests act on and look at; `calls` is a
timestamped log of every Bot API call. With a webhook set, updates are POSTed to it with the
X-Telegram-Bot-Api-Secret-Token header instead of waiting for getUpdates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox.control import add_control_routes
from bot.sandbox.faults import Faults, Refusal
from bot.sandbox.methods import BotApi
from bot.sandbox.params import read_params
from bot.sandbox.world import Call, World

__all__ = ["Call", "Emulator"]

SENDING = frozenset({"sendMessage", "sendPhoto"})


class Emulator:
    """Serves one bot's Bot API on 127.0.0.1."""

    def __init__(self, token: str, bot_username: str = "AjilBot") -> None:
        self.world = World(token, bot_username)
        self.api = BotApi(self.world)
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def faults(self) -> Faults:
        """The faults switched on (the world's)."""
        return self.world.faults

    @property
    def calls(self) -> list[Call]:
        """Every Bot API call so far, in order of arrival (the world's log)."""
        return self.world.calls

    @property
    def api_url(self) -> str:
        """The value for `[telegram] api_url`."""
        return f"http://127.0.0.1:{self.port}/bot"

    def sends(self, method: str = "sendMessage") -> list[Call]:
        """Successful calls of a sending method, in order."""
        return [c for c in self.calls if c.method == method and c.error is None]

    async def start(self, port: int = 0, app: web.Application | None = None) -> None:
        app = app or web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        add_control_routes(app, self.world)
        # A client that hangs up (a bot stopping mid long-poll) ends its handler, as on Telegram.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the emulator's server did not open a socket"
        self.port = sockets[0].getsockname()[1]
        self._webhook_task = asyncio.create_task(self._deliver_webhooks())

    async def stop(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner is not None:
            # Wake long polls so the server can close without waiting for their timeouts.
            self.world.closing = True
            await self.world.touch()
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        arrived = time.time()
        if request.match_info["token"] != self.world.token:
            return _error(Refusal(401, "Unauthorized"))
        try:
            params = await read_params(request)
        except Refusal as exc:
            return _error(exc)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if time.monotonic() < self.faults.outage_until:
            self.calls.append(Call(arrived, method, params, 502))
            return web.Response(
                status=502,
                text="<html><body>502 Bad Gateway</body></html>",
                content_type="text/html",
            )
        handler = self.api.find(method)
        if handler is None:
            self.calls.append(Call(arrived, method, params, 404))
            return _error(Refusal(404, "Not Found: method not found"))
        if method in SENDING and self.faults.take_drop():
            # The connection goes away without an answer: the client cannot know if it was sent.
            if request.transport is not None:
                request.transport.abort()
            self.calls.append(Call(arrived, method, params, 0))
            return web.Response(status=499)
        try:
            result = await handler(params)
        except Refusal as exc:
            self.calls.append(Call(arrived, method, params, exc.code))
            return _error(exc)
        self.calls.append(Call(arrived, method, params))
        return web.json_response({"ok": True, "result": result})

    async def _deliver_webhooks(self) -> None:
        """POST pending updates to the webhook, one at a time, as Telegram does."""
        world = self.world
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await world.wait_for(lambda: bool(world.webhook["url"] and world.updates), 60)
                except TimeoutError:
                    continue
                update = world.updates[0]
                headers = {}
                if world.webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = world.webhook["secret_token"]
                try:
                    async with session.post(
                        world.webhook["url"],
                        json=update,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        delivered = response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    delivered = False
                if delivered and world.updates and world.updates[0] is update:
                    world.updates.pop(0)
                elif not delivered:
                    await asyncio.sleep(0.5)


def _error(error: Refusal) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)
