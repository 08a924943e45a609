"""End to end through `ajil run` and the emulator: a homepage's rotating «آخر الأخبار» bar
never alerts; its real «عاجل» block alerts each subscriber once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot import config as config_module
from bot.sandbox.emulator import Emulator
from tests.conftest import TOKEN
from tests.live import bot_with_subscribers, primed, query, start_ajil, until
from tests.sites import RotatingHomepage

USERS = [3101, 3102, 3103]
BREAKING = "انهيار جزئي لقنطرة على الطريق الجهوية"


async def test_a_rotating_latest_bar_never_alerts_and_the_urgent_block_alerts_once(
    tmp_path: Path, database_target: Path | str
) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    site = RotatingHomepage()
    await site.start()
    path = await bot_with_subscribers(
        tmp_path,
        emulator,
        f"[[sources]]\nname = 'site'\nurl = '{site.url}'\nkind = 'html'\ninterval = 15\n",
        USERS,
        database_target,
    )
    db_path = config_module.load(path, env={}).storage.database

    texts = lambda: [str(c.params.get("text", "")) for c in emulator.sends()]  # noqa: E731
    bot = await start_ajil(path)
    try:
        await until(lambda: primed(db_path), 60)
        site.break_news("/news/9100", BREAKING)
        await until(lambda: sum(BREAKING in t for t in texts()) >= len(USERS), 60)
        polls = site.requests
        # Two more polls: the bar keeps rotating, the urgent block stays as it is.
        await until(lambda: site.requests >= polls + 2, 60)
        await asyncio.sleep(2)  # anything those polls would send
        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 30)
        assert bot.returncode == 0, err.decode()[-2000:]
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        await site.stop()
        await emulator.stop()

    sent = texts()
    recipients = [int(c.params["chat_id"]) for c in emulator.sends() if BREAKING in str(c.params)]
    assert sorted(recipients) == USERS  # once each
    assert len(site.shown) >= 9  # the bar showed new headlines at every poll...
    assert not any(title in text for title in site.shown for text in sent)  # ...none alerted
    stored = dict(query(db_path, "SELECT title, urgent FROM items"))
    assert stored[BREAKING] == 1
    rotated = [title for title in site.shown if title in stored]
    assert rotated and all(stored[title] == 0 for title in rotated)
