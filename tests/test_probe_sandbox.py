"""`ajil probe` on the sandbox's news site, whose empty urgent bar a Pusher channel fills (as
kifache's did): the `[[sources]]` blocks it prints, pasted into a config as they are, make
`ajil run` deliver a pushed urgent story to every subscriber, once."""

from __future__ import annotations

import asyncio
import signal
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import config as config_module
from bot import probe
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import CHANNEL, Newsroom
from bot.sandbox.pusher import PushServer
from tests.conftest import TOKEN
from tests.live import bot_with_subscribers, primed, start_ajil, until

USERS = [3301, 3302]


async def test_the_printed_config_reads_the_sandbox_push_channel(tmp_path: Path) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    push = PushServer()
    await push.start()
    site = Newsroom(push=push)
    await site.start()
    bot = None
    try:
        async with HttpFetcher(total_timeout=5, policy=FetchPolicy([site.url])) as fetcher:
            report = await probe.probe(site.url, fetcher, ZoneInfo("Africa/Casablanca"))
        assert report.usable and report.push is not None
        printed = report.toml()
        tables = tomllib.loads(printed)["sources"]
        pusher = [t for t in tables if t.get("kind") == "pusher"]
        assert len(pusher) == 1
        assert pusher[0]["ws_url"] == push.url and pusher[0]["channel"] == CHANNEL

        # The operator pastes the blocks as printed (an hourly interval, so that only the push
        # can bring the story in time).
        pasted = printed.replace("[[sources]]\n", "[[sources]]\ninterval = 3600\n")
        path = await bot_with_subscribers(tmp_path, emulator, pasted, USERS)
        config = config_module.load(path, env={})
        assert {s.kind for s in config.sources} >= {"pusher"}
        bot = await start_ajil(path)
        assert bot.stderr is not None
        log = asyncio.create_task(bot.stderr.read())  # read, so that the pipe never fills
        await until(
            lambda: primed(config.storage.database) and push.subscribers(CHANNEL) == 1,
            60,
            "the bot's first poll and its subscription",
        )
        story = site.publish_urgent()
        assert push.pushed[-1].subscribers == 1

        def sent() -> list[object]:
            return [c for c in emulator.sends() if story.title in str(c.params.get("text", ""))]

        await until(lambda: len(sent()) >= len(USERS), 30, "the pushed alert")
        await asyncio.sleep(1)  # anything a second source reading the same site would add
        bot.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.wait(), 30) == 0
        assert "caught up" not in (await log).decode("utf-8", "replace")  # pushed, not polled
        chats = sorted(int(c.params["chat_id"]) for c in sent())  # type: ignore[attr-defined]
        assert chats == USERS  # each once
    finally:
        if bot is not None and bot.returncode is None:
            bot.kill()
            await bot.wait()
        await site.stop()
        await push.stop()
        await emulator.stop()
