"""`ajil run`: refusing to start without a token, keeping the token secret, serving, stopping."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot import config as config_module
from bot.app import run
from bot.cli import main
from bot.sandbox.emulator import Emulator
from storage import Database, subscribers
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_missing_token_exits_2_saying_what_to_set(
    write_config, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AJIL_TELEGRAM_TOKEN", raising=False)
    path = write_config("[storage]\ndatabase = 'a.db'\n")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "AJIL_TELEGRAM_TOKEN" in err and "[telegram] token" in err
    assert "Traceback" not in err


async def _ajil(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
        cwd=ROOT,
    )


async def test_an_unreachable_api_is_retried_and_the_token_never_reaches_the_logs(
    write_config,
) -> None:
    """The Bot API down at start: the bot says so and asks again (1, 2, 4 ... 30 s apart)
    until it answers or the bot is stopped; SIGTERM meanwhile is a clean stop."""
    path = write_config(
        f"[telegram]\napi_url = 'http://127.0.0.1:{closed_port()}/bot'\n[http]\nport = 0\n"
    )
    proc = await _ajil("-v", "run", "--config", str(path), env={"AJIL_TELEGRAM_TOKEN": TOKEN})
    assert proc.stderr is not None
    seen: list[str] = []
    while sum("cannot reach the Bot API at http://127.0.0.1:" in line for line in seen) < 2:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, "".join(seen)  # the bot must not exit on its own
        seen.append(line.decode())
    assert proc.returncode is None
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = "".join(seen) + (out + err).decode()
    assert proc.returncode == 0, text
    assert "trying again in 1 s" in text and "trying again in 2 s" in text
    assert "stopped before the Bot API answered" in text
    assert TOKEN not in text
    assert TOKEN.split(":", 1)[1] not in text
    assert "Traceback" not in text


async def test_a_refused_token_is_a_configuration_error_and_stays_secret(write_config) -> None:
    emulator = Emulator("999:" + "z" * 35)  # a server that knows another token
    await emulator.start()
    try:
        path = write_config(f"[telegram]\napi_url = '{emulator.api_url}'\n[http]\nport = 0\n")
        proc = await _ajil("-v", "run", "--config", str(path), env={"AJIL_TELEGRAM_TOKEN": TOKEN})
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await emulator.stop()
    text = (out + err).decode()
    assert proc.returncode == 2
    assert "refused the token" in text
    assert TOKEN.split(":", 1)[1] not in text


async def test_start_then_the_subscribe_button(emulator: Emulator, write_config) -> None:
    path = write_config(
        f"[telegram]\ntoken = '{TOKEN}'\napi_url = '{emulator.api_url}'\n[http]\nport = 0\n"
    )
    config = config_module.load(path, env={})
    stop = asyncio.Event()
    bot = asyncio.create_task(run(config, stop))
    world = emulator.world
    try:
        world.add_user(501, "سلمى", language_code="ar")
        await world.user_message(501, "/start")
        await world.wait_for(lambda: len(world.bot_messages(501)) >= 1, timeout=20)
        welcome = world.bot_messages(501)[0]
        assert "عاجل" in welcome.text
        assert world.commands, "commands are published at start"
        await world.press_button(501, 501, welcome.message_id, "set:sub")
        await world.wait_for(lambda: len(world.bot_messages(501)) >= 2, timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(bot, 20)
    db = await Database.open(config.storage.database)
    try:
        subscriber = await subscribers.get(db, 501)
    finally:
        await db.close()
    assert subscriber is not None and subscriber.active and subscriber.chat_type == "private"


async def test_sigterm_stops_the_bot_cleanly_within_seconds(
    emulator: Emulator, write_config
) -> None:
    path = write_config(f"[telegram]\napi_url = '{emulator.api_url}'\n[http]\nport = 0\n")
    proc = await _ajil("run", "--config", str(path), env={"AJIL_TELEGRAM_TOKEN": TOKEN})
    assert proc.stderr is not None
    # Wait until it is polling, then ask it to stop.
    while b"running" not in (line := await asyncio.wait_for(proc.stderr.readline(), 30)):
        assert line, "ajil run ended before it was running"
    proc.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0
    assert b"stopped" in rest
    assert b"Traceback" not in rest


def test_corrupt_database_exits_2_naming_the_file(
    write_config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.db").write_bytes(b"\x00garbage" * 512)
    path = write_config(f"[telegram]\ntoken = '{TOKEN}'\n[storage]\ndatabase = 'broken.db'\n")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "broken.db") in err and "not a usable SQLite database" in err
    assert "Traceback" not in err
