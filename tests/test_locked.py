"""Another process holding the database's write lock delays the bot and crashes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from tests.live import live_bot


def hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        threading.Event().wait(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_a_write_lock_held_elsewhere_delays_and_crashes_nothing(tmp_path: Path) -> None:
    async with live_bot(tmp_path) as live:
        world = live.emulator.world
        user = live.user()
        held = threading.Event()
        holder = threading.Thread(
            target=hold_write_lock, args=(live.config.storage.database, 10, held)
        )
        holder.start()
        assert await asyncio.to_thread(held.wait, 5)
        await world.user_message(user, "/subscribe")  # a write that must wait its turn
        await asyncio.sleep(8)
        assert world.bot_messages(user) == []  # waiting, not answered "something went wrong"
        await asyncio.to_thread(holder.join)
        await world.wait_for(lambda: bool(world.bot_messages(user)), 20)
        assert "تم الاشتراك" in world.bot_messages(user)[0].text
        rows = live.query("SELECT active FROM subscribers WHERE chat_id = ?", user)
        assert rows == [(1,)]
        # Still running: a command after the lock is answered.
        later = await live.say(user, "/help")
        assert later.text
