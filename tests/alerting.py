"""A running alert pipeline for tests: the emulator, the sample news site, the database, the
real Watcher and Sender, and helpers to make subscribers and wait for deliveries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot import config as config_module
from bot.alerts.botapi import BotApiClient
from bot.alerts.fanout import FanOutWalker
from bot.alerts.sender import Sender
from bot.alerts.watcher import Watcher
from bot.app import sender_settings
from bot.config import Config
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from storage import Database, subscribers
from storage import sources as source_store
from storage.models import AlertLevel
from storage.sources import SourceSpec
from tests.conftest import TOKEN


@dataclass
class Pipeline:
    config: Config
    db: Database
    emulator: Emulator
    newsroom: Newsroom
    watcher: Watcher
    sender: Sender
    stop: asyncio.Event

    async def add_users(
        self, ids: list[int], level: AlertLevel = "urgent", lang: str = "ar"
    ) -> None:
        for user_id in ids:
            self.emulator.world.add_user(user_id, f"u{user_id}", language_code=lang)
        await subscribers.add_many(self.db, [(i, "private", lang) for i in ids])  # type: ignore[misc]
        if level != "urgent":
            for user_id in ids:
                await subscribers.set_preferences(self.db, user_id, alert_level=level)

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.emulator.world.bot_messages(chat_id)]

    async def until(self, condition: Callable[[], bool], timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("timed out waiting for the condition")
            await asyncio.sleep(0.05)

    async def prime_and_publish(self, **publish: object) -> None:
        """First poll (records, alerts nothing), then a new urgent story and a poll."""
        await self.watcher.poll("site")
        self.newsroom.publish_urgent(**publish)  # type: ignore[arg-type]
        await self.watcher.poll("site")


@contextlib.asynccontextmanager
async def pipeline(tmp: Path, extra: str = "", rate: int = 30) -> AsyncIterator[Pipeline]:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    text = (
        f"[telegram]\ntoken = '{TOKEN}'\napi_url = '{emulator.api_url}'\nadmins = [900]\n"
        f"[alerts]\nmessages_per_second = {rate}\n"
        f"[[sources]]\nname = 'site'\ntitle = 'أخبار المدينة'\nurl = '{newsroom.url}'\n"
        "interval = 15\n" + extra
    )
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = config_module.load(path, env={})
    db = await Database.open(config.storage.database)
    await source_store.sync(db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources])
    await subscribers.sync_channels(db, [(c.chat_id, c.level) for c in config.channels])
    fetcher = HttpFetcher(policy=FetchPolicy(s.url for s in config.sources))
    settings = sender_settings(config)
    client = BotApiClient(emulator.api_url, TOKEN, connections=settings.concurrency + 4)
    sender = Sender(db, client, settings)
    walker = FanOutWalker(db, config.schedule.zone, sender.wake)

    def new_alerts() -> None:
        walker.wake()
        sender.wake()

    watcher = Watcher(db, config, fetcher, new_alerts, clock=lambda: datetime.now(UTC))
    emulator.world.add_user(900, "admin", language_code="ar")
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    walking = asyncio.create_task(walker.run(stop))
    try:
        yield Pipeline(config, db, emulator, newsroom, watcher, sender, stop)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await asyncio.wait_for(walking, 30)
        await client.close()
        await fetcher.aclose()
        await db.close()
        await newsroom.stop()
        await emulator.stop()
