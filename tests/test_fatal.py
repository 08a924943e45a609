"""A fatal error at start is reported with its real cause and the documented exit status."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from tests.conftest import TOKEN
from tests.live import start_ajil, write_config


async def test_a_taken_health_port_exits_2_naming_it(tmp_path: Path) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write_config(tmp_path, emulator, newsroom, sections=f"[http]\nport = {port}\n")
        try:
            process = await start_ajil(path)
            _, err = await asyncio.wait_for(process.communicate(), 60)
        finally:
            await newsroom.stop()
            await emulator.stop()
    log = err.decode()
    assert process.returncode == 2, log
    assert f"cannot listen on 127.0.0.1:{port} for /healthz" in log
    assert "still running" not in log
