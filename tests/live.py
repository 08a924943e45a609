"""The real bot (bot.app.run) against the emulator and the sample site, for end-to-end tests
of commands; shared by a test module so that the bot starts once."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bot import config as config_module
from bot.app import run
from bot.config import Config
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from bot.sandbox.world import SentMessage
from storage import Database, subscribers
from storage.dialect import to_postgres
from tests.conftest import TOKEN

ADMIN = 4242


@dataclass
class Live:
    emulator: Emulator
    newsroom: Newsroom
    config: Config
    _next_user: int = 100_000

    def user(self, language: str = "ar") -> int:
        """A new user (each test its own, so that no one hits the per-user command limit)."""
        self._next_user += 1
        self.emulator.world.add_user(
            self._next_user, f"user{self._next_user}", language_code=language
        )
        return self._next_user

    async def say(
        self, user: int, text: str, chat: int | None = None, timeout: float = 15
    ) -> SentMessage:
        """The user sends `text` (in their private chat, or in `chat`); the bot's next message."""
        where = chat if chat is not None else user
        before = len(self.emulator.world.bot_messages(where))
        await self.emulator.world.user_message(user, text, chat)
        return await self.next(where, before, timeout)

    async def press(
        self, user: int, message: SentMessage, data: str, chat: int | None = None
    ) -> SentMessage:
        where = chat if chat is not None else user
        before = len(self.emulator.world.bot_messages(where))
        edits = len(message.edits)
        await self.emulator.world.press_button(user, where, message.message_id, data)
        world = self.emulator.world
        await world.wait_for(
            lambda: len(world.bot_messages(where)) > before or len(message.edits) > edits, 15
        )
        if len(message.edits) > edits:
            return message
        return world.bot_messages(where)[before]

    async def next(self, chat: int, before: int, timeout: float = 15) -> SentMessage:
        world = self.emulator.world
        await world.wait_for(lambda: len(world.bot_messages(chat)) > before, timeout)
        return world.bot_messages(chat)[before]

    async def settled(self, message: SentMessage, timeout: float = 15) -> SentMessage:
        """`message` once final: a summary that must be fetched first comes as "⏳ working on
        it" and is then edited in place."""
        await self.emulator.world.wait_for(lambda: "⏳" not in message.text, timeout)
        return message

    def query(self, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
        return query(self.config.storage.database, sql, *args)


def query(database: Path | str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of one query (`?` placeholders) on the database a bot under test uses, a SQLite
    file or a PostgreSQL URL, from outside the bot, as an operator's shell would read it.
    Raises sqlite3.Error, or asyncpg's errors."""
    if isinstance(database, Path):
        with sqlite3.connect(database) as conn:
            return conn.execute(sql, args).fetchall()

    async def fetch() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(database, timeout=10)
        try:
            return [tuple(r) for r in await conn.fetch(to_postgres(sql)[0], *args)]
        finally:
            await conn.close()

    # Called from inside the tests' event loop: the query gets a loop of its own.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, fetch()).result()


def storage_section(database: Path | str) -> str:
    """The [storage] table that points a bot at this database."""
    return f"[storage]\ndatabase = '{database}'\n"


def write_config(
    folder: Path,
    emulator: Emulator,
    newsroom: Newsroom,
    telegram: str = "",
    sections: str = "",
    source: str = "",
) -> Path:
    """A config.toml for the bot against this emulator and sample site, in `folder`.

    `telegram` adds lines to [telegram], `sections` adds tables, `source` adds keys to the one
    source, named site.
    """
    path = folder / "config.toml"
    path.write_text(
        f"[telegram]\ntoken = '{TOKEN}'\napi_url = '{emulator.api_url}'\n{telegram}"
        f"{sections}[[sources]]\nname = 'site'\nurl = '{newsroom.url}'\n{source}",
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def live_bot(folder: Path, extra: str = "") -> AsyncIterator[Live]:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    for _ in range(3):
        newsroom.publish_urgent()
    path = write_config(
        folder,
        emulator,
        newsroom,
        telegram=f"admins = [{ADMIN}]\n",
        sections="[http]\nport = 0\n",
        source="title = 'أخبار المدينة'\n" + extra,
    )
    config = config_module.load(path, env={})
    stop = asyncio.Event()
    task = asyncio.create_task(run(config, stop))
    live = Live(emulator, newsroom, config)
    for _ in range(200):
        try:
            if live.query("SELECT count(*) FROM items")[0][0] >= 11:
                break
        except sqlite3.Error:
            pass
        await asyncio.sleep(0.1)
    try:
        yield live
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await newsroom.stop()
        await emulator.stop()


ROOT = Path(__file__).resolve().parents[1]


async def bot_with_subscribers(
    folder: Path,
    emulator: Emulator,
    sources: str,
    users: list[int],
    database: Path | str | None = None,
) -> Path:
    """A config.toml in `folder` for `ajil run` against `emulator` with the `[[sources]]`
    tables `sources`; `users` exist in the emulator and are subscribed (urgent alerts, Arabic)
    in the bot's database before it starts. `database`: a SQLite file or PostgreSQL URL (default:
    ajil.db beside the config). Returns the config's path."""
    path = folder / "config.toml"
    path.write_text(
        f"[telegram]\ntoken = '{TOKEN}'\napi_url = '{emulator.api_url}'\n[http]\nport = 0\n"
        + (storage_section(database) if database is not None else "")
        + sources,
        encoding="utf-8",
    )
    for user in users:
        emulator.world.add_user(user, f"u{user}")
    db = await Database.open(config_module.load(path, env={}).storage.database)
    await subscribers.add_many(db, [(u, "private", "ar") for u in users])
    await db.close()
    return path


async def start_ajil(config: Path) -> asyncio.subprocess.Process:
    """`ajil run` in its own process (so that it can be killed), stderr kept for the reasons."""
    import os
    import sys

    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ},
        cwd=ROOT,
    )


def primed(database: Path | str) -> bool:
    """Whether the bot's first poll of its source has been recorded."""
    try:
        rows = query(database, "SELECT primed FROM sources")
    except (sqlite3.Error, asyncpg.PostgresError):
        return False  # not created yet
    return bool(rows and rows[0][0])


async def until(
    condition: Callable[[], bool], timeout: float, what: str = "", step: float = 0.05
) -> None:
    """Wait until `condition()` holds, checking every `step` seconds; fails the test after
    `timeout` seconds, naming `what` it waited for."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(step)
