"""Telegram's answers about a message's content, in every wording, are recognised as such; a
plain-text report of any length reaches the admins."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.alerts.botapi import BotApiClient, is_content_refusal
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import BUTTON_URL_WORDINGS
from storage import notices, outbox
from storage.models import Priority
from tests.alerting import Pipeline, pipeline
from tests.conftest import TOKEN

CONTENT = [
    'Bad Request: can\'t parse entities: unsupported start tag "x" at byte offset 3',
    "Can't parse entities: can't find end tag corresponding to start tag \"b\"",  # PTB's form
    "Bad Request: message is too long",
    "Message is too long",
    "Bad Request: MESSAGE_TOO_LONG",
    "Bad Request: message text is empty",
    "Bad Request: text must be non-empty",
    "Bad Request: BUTTON_DATA_INVALID",
    "Bad Request: strings must be encoded in UTF-8",
    "Bad Request: ENTITIES_TOO_LONG",
    *(f"Bad Request: {w.replace('{url}', 'https://x.ma/أ b')}" for w in BUTTON_URL_WORDINGS),
]
OTHER = [
    (400, "Bad Request: chat not found"),
    (400, "Bad Request: group chat was upgraded to a supergroup chat"),
    (403, "Forbidden: bot was blocked by the user"),
    (429, "Too Many Requests: retry after 5"),
    (400, "Bad Request: message to edit not found"),
]


@pytest.mark.parametrize("description", CONTENT)
def test_content_refusals_in_every_wording(description: str) -> None:
    assert is_content_refusal(400, description)


@pytest.mark.parametrize(("code", "description"), OTHER)
def test_other_answers_are_not_content_refusals(code: int, description: str) -> None:
    assert not is_content_refusal(code, description)


async def test_a_plain_report_of_any_length_is_cut_to_fit(emulator: Emulator) -> None:
    emulator.world.add_user(4242, "admin")
    client = BotApiClient(emulator.api_url, TOKEN, connections=2)
    try:
        report = "\x1b[31mHTTP 503 " + "خطأ في الخادم " * 600 + "\ud800"
        await client.send_message({"chat_id": 4242, "text": report})
    finally:
        await client.close()
    (sent,) = emulator.world.bot_messages(4242)
    assert sent.text.startswith("[31mHTTP 503") and sent.text.endswith("…")
    assert len(sent.text.encode("utf-16-le")) // 2 <= 4096


async def test_a_refused_broadcast_stops_for_everyone_and_the_admins_hear_once(
    tmp_path: Path,
) -> None:
    async with pipeline(tmp_path, rate=10) as p:
        users = list(range(1, 9))
        await p.add_users(users)
        # Refused for a mark at its end, past what the admins' notice quotes.
        p.emulator.faults.refuse_texts = ["#refuse-me"]
        async with p.db.transaction():
            notice = await notices.create(p.db, "broadcast", "نص مرفوض " * 300 + "#refuse-me")
            await outbox.enqueue_notice(p.db, notice, None, Priority.URGENT)
        p.sender.wake()
        await p.until(lambda: bool(p.texts(900)))
        await p.until(lambda: _states(p) == {"broken": len(users)})
        await asyncio.sleep(1.0)  # any second notice would be on its way by now
        (told,) = p.texts(900)
        assert "تعذر إرسال" in told and "نص مرفوض" in told and len(told) < 1000
        assert len(p.emulator.sends()) == 1  # only the notice


def _states(p: Pipeline) -> dict[str, int]:
    with sqlite3.connect(p.db.path) as conn:
        return dict(conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state"))
