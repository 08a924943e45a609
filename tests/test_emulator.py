"""The Bot API emulator answers as Telegram does; PTB's own classes parse what it returns."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from telegram import Bot, Message, Update, User
from telegram.error import BadRequest

from bot.sandbox.emulator import Emulator
from bot.sandbox.telegram_html import EntityParseError, parse_html, utf16_length
from tests.conftest import TOKEN


def test_html_keeps_visible_text_and_links() -> None:
    parsed = parse_html('<b>عاجل</b>: <a href="https://x.ma/?a=1&amp;b=2">خبر</a> &lt;3 &amp; 5')
    assert parsed.text == "عاجل: خبر <3 & 5"
    assert parsed.links == ("https://x.ma/?a=1&b=2",)


@pytest.mark.parametrize(
    "source",
    ["<div>x</div>", "<b>x</i>", "<b>x", "a < b", "</b>", "&nbsp;", "<b><i>x</b></i>"],
)
def test_html_refuses_what_telegram_refuses(source: str) -> None:
    with pytest.raises(EntityParseError, match="can't parse entities"):
        parse_html(source)


def test_length_is_counted_in_utf16_units() -> None:
    assert utf16_length("عاجل") == 4
    assert utf16_length("🔴") == 2


async def test_responses_parse_with_ptb_classes(emulator: Emulator) -> None:
    world = emulator.world
    world.add_user(7, "Amine", language_code="fr")
    async with Bot(TOKEN, base_url=emulator.api_url) as bot:
        me = await bot.get_me()
        assert isinstance(me, User) and me.is_bot and me.username == "AjilBot"
        sent = await bot.send_message(7, "<b>مرحبا</b>", parse_mode="HTML")
        assert isinstance(sent, Message) and sent.text == "مرحبا" and sent.chat.id == 7
        edited = await bot.edit_message_text("<i>تحديث</i>", 7, sent.message_id, parse_mode="HTML")
        assert isinstance(edited, Message) and edited.text == "تحديث"
        await world.user_message(7, "/latest 3")
        (update,) = await bot.get_updates(timeout=1)
        assert isinstance(update, Update)
        assert update.message is not None and update.message.text == "/latest 3"
        assert update.message.entities[0].type == "bot_command"
        # Confirming the offset forgets the update.
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(404, "x")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(7, "ع" * 4097)
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(7, "<div>x</div>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(7, "<b> </b>", parse_mode="HTML")


async def test_long_polling_waits_for_the_next_update(emulator: Emulator) -> None:
    world = emulator.world
    world.add_user(8, "Nora")
    async with Bot(TOKEN, base_url=emulator.api_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.2)
        assert not poll.done()
        await world.user_message(8, "مرحبا")
        updates = await asyncio.wait_for(poll, 5)
    assert updates[0].message.text == "مرحبا"


async def test_envelope_and_wrong_token(emulator: Emulator) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.get(f"http://127.0.0.1:{emulator.port}/bot1:nope/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        unknown = await client.post(f"{emulator.api_url}{TOKEN}/noSuchMethod")
        assert unknown.json()["error_code"] == 404
        as_json = await client.post(f"{emulator.api_url}{TOKEN}/getme", json={})
        assert as_json.json()["ok"] is True
