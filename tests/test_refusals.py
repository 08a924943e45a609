"""Telegram's answers about a message's content, in every wording, are recognised as such; a
plain-text report of any length reaches the admins."""

from __future__ import annotations

import pytest

from bot.alerts.botapi import BotApiClient, is_content_refusal
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import BUTTON_URL_WORDINGS
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
