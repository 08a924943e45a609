"""`ajil demo`: Ajil working on this machine with no token, no network and no configuration.

It starts the Bot API emulator, the sample news site (which publishes an urgent story about
every minute) with its push service, and the web chat, then runs the real bot with
`bot.app.run`, the same code path as `ajil run`: only the api_url and the sources differ. The
site works as kifache did: its urgent bar is empty in the page and filled from a Pusher
channel, so the demo's source is a `pusher` one and each urgent story reaches the chat the
moment it is published, not at the next poll. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import tempfile
from pathlib import Path

from pydantic import SecretStr

from bot.app import run
from bot.config import (
    AlertsConfig,
    Config,
    HttpConfig,
    SourceConfig,
    StorageConfig,
    TelegramConfig,
)
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from bot.sandbox.pusher import PushServer
from bot.sandbox.serve import DEFAULT_TOKEN
from bot.sandbox.webchat import USER_ID, WebChat

log = logging.getLogger("ajil.demo")
PUBLISH_EVERY = 60.0


def demo_config(
    api_url: str, site_url: str, database: Path, push: dict[str, str] | None = None
) -> Config:
    """The demo's configuration; `push` (Newsroom.push_config) makes its source a `pusher`."""
    return Config(
        telegram=TelegramConfig(token=SecretStr(DEFAULT_TOKEN), api_url=api_url, admins=[USER_ID]),
        storage=StorageConfig(database=database),
        alerts=AlertsConfig(),
        http=HttpConfig(port=0),  # health and metrics on any free port: nothing to collide with
        sources=[
            SourceConfig.model_validate(
                {
                    "name": "madina",
                    "title": "أخبار المدينة",
                    "url": site_url,
                    "kind": "pusher" if push else "auto",
                    "interval": 15,
                    **(push or {}),
                }
            ),
        ],
    )


async def publish_now_and_then(site: Newsroom, stop: asyncio.Event, publish: bool) -> None:
    """An urgent story about every minute, as a busy newsroom would."""
    while publish and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PUBLISH_EVERY * random.uniform(0.8, 1.2))
        if not stop.is_set():
            story = site.publish_urgent()
            log.info("sample site published: %s", story.title)


class Demo:
    """The demo's parts; `serve` runs them until `stop` is set."""

    def __init__(self) -> None:
        self.emulator = Emulator(DEFAULT_TOKEN)
        self.push = PushServer()
        self.site = Newsroom(push=self.push)
        self.chat = WebChat(self.emulator)

    async def serve(self, port: int, stop: asyncio.Event, publish: bool = True) -> None:
        with tempfile.TemporaryDirectory(prefix="ajil-demo-") as folder:
            await self.emulator.start()
            await self.push.start()
            await self.site.start()
            try:
                await self.chat.start(port)
            except OSError as exc:
                await self.site.stop()
                await self.push.stop()
                await self.emulator.stop()
                raise OSError(
                    f"port {port} is taken ({exc.strerror}); try ajil demo --port 8090"
                ) from None
            print(f"Ajil demo: open {self.chat.url} in your browser (Ctrl-C to stop)", flush=True)
            print(
                f"  sample news site: {self.site.url}   Bot API emulator: {self.emulator.api_url}"
                f"   push channel: {self.push.url}",
                flush=True,
            )
            publisher = asyncio.create_task(publish_now_and_then(self.site, stop, publish))
            config = demo_config(
                self.emulator.api_url,
                self.site.url,
                Path(folder) / "ajil.db",
                self.site.push_config(),
            )
            try:
                await run(config, stop)
            finally:
                stop.set()
                await publisher
                await self.chat.stop()
                await self.site.stop()
                await self.push.stop()
                await self.emulator.stop()


async def demo(port: int, stop: asyncio.Event | None = None) -> None:
    await Demo().serve(port, stop or asyncio.Event())
