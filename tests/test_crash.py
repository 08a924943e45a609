"""kill -9 in the middle of a broadcast: after a restart every subscriber has the alert, and
the only duplicates are the messages that were in flight (at most the sender's window)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from bot import config as config_module
from bot.app import sender_settings
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from storage import Database, subscribers
from tests.conftest import TOKEN
from tests.live import primed, query, start_ajil, storage_section, until, write_config

ROOT = Path(__file__).resolve().parents[1]
USERS = list(range(1000, 1300))


async def test_kill_9_mid_broadcast_loses_nothing(
    tmp_path: Path, database_target: Path | str
) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    path = write_config(
        tmp_path,
        emulator,
        newsroom,
        sections="[alerts]\nmessages_per_second = 25\n[http]\nport = 0\n"
        + storage_section(database_target),
        source="interval = 15\n",
    )
    config = config_module.load(path, env={})
    db_path = config.storage.database
    for user in USERS:
        emulator.world.add_user(user, f"u{user}")
    db = await Database.open(db_path)
    await subscribers.add_many(db, [(u, "private", "ar") for u in USERS])
    await db.close()
    window = sender_settings(config).window

    bot = await start_ajil(path)
    try:
        await until(lambda: primed(db_path), 30)
        newsroom.publish_urgent()
        await until(lambda: len(emulator.sends()) >= 60, 60)
        bot.kill()  # SIGKILL: no chance to flush anything
        await bot.wait()
        sent_before = len(emulator.sends())
        assert sent_before < len(USERS), "the broadcast was still going"

        bot = await start_ajil(path)
        received = lambda: Counter(int(c.params["chat_id"]) for c in emulator.sends())  # noqa: E731
        await until(lambda: set(received()) >= set(USERS), 90)
        await asyncio.sleep(1.0)  # anything else it would send
        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 20)
        assert bot.returncode == 0, err.decode()[-2000:]
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        await newsroom.stop()
        await emulator.stop()

    counts = received()
    duplicates = sum(n - 1 for n in counts.values())
    assert all(counts[u] >= 1 for u in USERS)
    print(f"kill -9 after {sent_before} sends: {duplicates} duplicates (window {window})")
    assert duplicates <= window, f"{duplicates} duplicates, window {window}"
    states = dict(query(db_path, "SELECT state, count(*) FROM deliveries GROUP BY state"))
    assert states == {"sent": len(USERS)}
