"""Secrets stay out of the log at every level: `ajil run -v` through a webhook start."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.logs import redact
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from tests.conftest import TOKEN
from tests.live import ROOT, write_config
from tests.test_ops import free_port, wait_until


@pytest.mark.parametrize("configured", [None, "operator_chosen-Secret9"])
async def test_verbose_run_with_a_webhook_logs_no_secret(
    tmp_path: Path, configured: str | None
) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    port = free_port()
    hook = f"[telegram.webhook]\nurl = 'http://127.0.0.1:{port}/hook'\nport = {port}\n"
    if configured:
        hook += f"secret_token = '{configured}'\n"
    path = write_config(tmp_path, emulator, newsroom, sections=hook + "[http]\nport = 0\n")
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "run", "-v", "--config", str(path)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ},
        cwd=ROOT,
    )
    try:
        await wait_until(lambda: bool(emulator.world.webhook.get("url")), 60)
        secret = emulator.world.webhook["secret_token"]
        assert secret and (configured is None or secret == configured)
        await asyncio.sleep(1)  # a few more DEBUG lines: polls, SQL, scheduler
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
        await newsroom.stop()
        await emulator.stop()
    log = err.decode()
    assert "DEBUG" in log and "setWebhook" in log  # the lines that used to carry it
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert secret not in log


def test_secret_token_values_are_redacted_by_key() -> None:
    line = "Calling Bot API endpoint `setWebhook` with parameters `{'secret_token': 'abc_DEF-1'}`"
    assert "abc_DEF-1" not in redact(line)
    assert "abc_DEF-1" not in redact("https://x.ma/hook?secret_token=abc_DEF-1")
