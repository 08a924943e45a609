"""End to end through `ajil run` and the emulator: a site that pushes its urgent stories on a
Pusher channel (as kifache did). Three urgent stories, each pushed; each reaches every
subscriber once. The push service drops the connection and is out while the second story is
published (the server replays nothing): the bot catches it up from the site once it is back.
The site re-pushing a story already polled sends nothing twice.

The source's interval is an hour: after its first poll, only pushes and the catch-up polls
that follow a reconnection can bring anything, so what arrives is theirs."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import aiohttp

from bot import config as config_module
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import CHANNEL, EVENT, Newsroom
from bot.sandbox.pusher import PushServer
from tests.conftest import TOKEN
from tests.live import bot_with_subscribers, primed, start_ajil, until

USERS = [3201, 3202, 3203]


class LogLines:
    """The bot's stderr, read as it comes."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self.task = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode("utf-8", "replace"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


async def test_pushed_stories_reach_every_subscriber_once_across_a_forced_disconnect(
    tmp_path: Path,
) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    push = PushServer()
    await push.start()
    site = Newsroom(push=push)
    await site.start()
    path = await bot_with_subscribers(
        tmp_path, emulator, site.push_source_toml(interval=3600), USERS
    )
    db_path = config_module.load(path, env={}).storage.database

    def sent(title: str) -> int:
        return sum(title in str(c.params.get("text", "")) for c in emulator.sends())

    bot = await start_ajil(path)
    assert bot.stderr is not None
    log = LogLines(bot.stderr)
    control = aiohttp.ClientSession(f"http://127.0.0.1:{push.port}")
    try:
        await until(lambda: primed(db_path) and push.subscribers(CHANNEL) == 1, 60, "start")

        # 1. Pushed: out to everyone, before any poll could have seen it.
        first = site.publish_urgent()
        assert push.pushed[-1].subscribers == 1
        await until(lambda: sent(first.title) >= len(USERS), 30, "the first alert")

        # 2. The push service drops the bot and stays out while the story is published: the
        # push reaches no one, and nothing replays it. The bot catches up from the site.
        async with control.post("/control/push/disconnect", json={"down": True}) as answer:
            assert (await answer.json())["closed"] == 1
        second = site.publish_urgent()
        assert push.pushed[-1].subscribers == 0
        accepted = push.accepted
        async with control.post("/control/push/up"):
            pass
        await until(lambda: push.accepted > accepted, 90, "the reconnection")
        await until(lambda: sent(second.title) >= len(USERS), 60, "the caught-up alert")
        assert log.count("caught up from the site after reconnecting: 1 new") == 1

        # The site pushes that story again (already polled): nothing is sent twice.
        await push.wait_for_subscribers(CHANNEL, 1)
        push.trigger(CHANNEL, EVENT, {"message": site.bar_entry(second)})
        await until(lambda: log.count(f"«{second.title}» (already seen)") == 1, 30, "the repush")

        # 3. Pushed on the new connection.
        third = site.publish_urgent()
        assert push.pushed[-1].subscribers == 1
        await until(lambda: sent(third.title) >= len(USERS), 30, "the third alert")
        # Dropped again (come back at once): the catch-up poll lists all three: none goes
        # out again.
        async with control.post("/control/push/disconnect", json={"code": 4200}):
            pass
        await until(lambda: log.count("caught up from the site") == 2, 60, "the catch-up")
        await asyncio.sleep(1)  # what that poll would send

        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 30) == 0
        for story in (first, second, third):
            for user in USERS:
                to_user = [
                    c
                    for c in emulator.sends()
                    if c.params.get("chat_id") in (user, str(user))
                    and story.title in str(c.params.get("text", ""))
                ]
                assert len(to_user) == 1, (story.title, user, len(to_user))
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        log.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await log.task
        await control.close()
        await site.stop()
        await push.stop()
        await emulator.stop()
