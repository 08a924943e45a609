"""The demo's web chat: a Telegram-like page on 127.0.0.1 where a person talks to the real bot
through the emulator, as one user in a private chat.

  GET  /              the page (bot/sandbox/webchat.html)
  POST /api/send      {"text"}: the user sends a message or a command
  POST /api/press     {"message_id", "data"}: the user presses an inline button
  GET  /api/messages  ?after=MESSAGE_ID&since=TIME&wait=SECONDS: new or changed messages
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from importlib import resources

from aiohttp import web

from bot.sandbox.control import message_json
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import CASABLANCA
from bot.sandbox.world import SentMessage

USER_ID = 7001
MAX_TEXT = 4096


class WebChat:
    def __init__(self, emulator: Emulator, user_id: int = USER_ID, name: str = "زائر") -> None:
        self.emulator = emulator
        self.user_id = user_id
        if user_id not in emulator.world.users:
            emulator.world.add_user(user_id, name, language_code="ar")
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._page = resources.files("bot.sandbox").joinpath("webchat.html").read_text("utf-8")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/press", self._press)
        app.router.add_get("/api/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the web chat did not open a socket"
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self.emulator.world.touch()
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, _: web.Request) -> web.Response:
        return web.Response(text=self._page, content_type="text/html", charset="utf-8")

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        text = str(body.get("text", "")).strip()[:MAX_TEXT]
        if not text:
            raise web.HTTPBadRequest(text="empty message")
        await self.emulator.world.user_message(self.user_id, text)
        return web.json_response({"ok": True})

    async def _press(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            await self.emulator.world.press_button(
                self.user_id, self.user_id, int(body["message_id"]), str(body["data"])
            )
        except (KeyError, ValueError):
            raise web.HTTPNotFound(text="no such message") from None
        return web.json_response({"ok": True})

    async def _messages(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", "0"))
        since = float(request.query.get("since", "0"))
        wait = min(float(request.query.get("wait", "0")), 30.0)
        world = self.emulator.world

        def fresh() -> list[SentMessage]:
            return [
                m
                for m in world.messages.get(self.user_id, [])
                if m.message_id > after or m.changed_at > since
            ]

        if wait and not fresh():
            with contextlib.suppress(TimeoutError):
                await world.wait_for(lambda: bool(fresh()) or self._runner is None, wait)
        # Taken after the wait, so that an edit seen now is not sent again on the next call.
        now = time.time()
        messages = []
        for message in fresh():
            data = message_json(message)
            # Morocco's clock, from Python's tzdata like the bot's own times (a browser's ICU
            # data may disagree about Africa/Casablanca).
            data["clock"] = datetime.fromtimestamp(message.date, CASABLANCA).strftime("%H:%M")
            messages.append(data)
        return web.json_response({"now": now, "messages": messages})
