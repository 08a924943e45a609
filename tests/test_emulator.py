"""The Bot API emulator answers as Telegram does; PTB's own classes parse what it returns."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from telegram import Bot, Message, Update, User
from telegram.error import BadRequest, Forbidden

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


async def test_every_kind_of_answer_parses_with_ptb(emulator: Emulator) -> None:
    from telegram import (
        BotCommand,
        CallbackQuery,
        ChatFullInfo,
        ChatMemberAdministrator,
        ChatMemberMember,
        ChatMemberOwner,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        InlineQuery,
        InlineQueryResultArticle,
        InputTextMessageContent,
        WebhookInfo,
    )

    world = emulator.world
    world.add_user(7, "Amine")
    world.add_user(8, "Nora")
    world.add_group(-50, "مجموعة الحي", members=[7, 8], admins=[7], supergroup=True)
    world.add_channel(-1009, "قناة عاجل")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("ملخص", callback_data="sum:1")]])
    async with Bot(TOKEN, base_url=emulator.api_url) as bot:
        photo = await bot.send_photo(
            7, "http://127.0.0.1/x.jpg", caption="<b>صورة</b>", parse_mode="HTML"
        )
        assert isinstance(photo, Message) and photo.photo and photo.caption == "صورة"
        sent = await bot.send_message(-50, "خبر", reply_markup=keyboard)
        assert sent.reply_markup == keyboard and sent.chat.type == "supergroup"
        post = await bot.send_message(-1009, "منشور")
        assert post.chat.type == "channel" and post.from_user is None
        edited = await bot.edit_message_reply_markup(-50, sent.message_id, reply_markup=None)
        assert isinstance(edited, Message)
        assert await bot.delete_message(-50, sent.message_id) is True
        assert await bot.set_my_commands([BotCommand("latest", "آخر الأخبار")], language_code="ar")
        commands = await bot.get_my_commands(language_code="ar")
        assert commands == (BotCommand("latest", "آخر الأخبار"),)
        assert await bot.get_my_commands() == ()
        assert await bot.send_chat_action(7, "typing") is True
        chat = await bot.get_chat(-50)
        assert isinstance(chat, ChatFullInfo) and chat.title == "مجموعة الحي"
        owner = await bot.get_chat_member(-50, 7)
        member = await bot.get_chat_member(-50, 8)
        assert isinstance(owner, ChatMemberOwner) and isinstance(member, ChatMemberMember)
        admins = await bot.get_chat_administrators(-50)
        assert [a.user.id for a in admins] == [7]
        me_there = await bot.get_chat_member(-1009, world.bot.id)
        assert isinstance(me_there, ChatMemberOwner | ChatMemberAdministrator)

        world_message = world.bot_messages(7)[0]
        await world.press_button(7, 7, world_message.message_id, "sum:1")
        await world.inline_query(8, "زلزال")
        updates = await bot.get_updates(timeout=1)
        query = next(u.callback_query for u in updates if u.callback_query)
        inline = next(u.inline_query for u in updates if u.inline_query)
        assert isinstance(query, CallbackQuery) and query.data == "sum:1"
        assert isinstance(inline, InlineQuery) and inline.query == "زلزال"
        assert await bot.answer_callback_query(query.id, text="…") is True
        result = InlineQueryResultArticle("1", "عنوان", InputTextMessageContent("نص"))
        assert await bot.answer_inline_query(inline.id, [result]) is True
        assert emulator.api.inline_answers[0]["results"][0]["title"] == "عنوان"

        info = await bot.get_webhook_info()
        assert isinstance(info, WebhookInfo) and info.url == ""
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", 7, 9999)
        with pytest.raises(BadRequest, match="Caption is too long"):
            await bot.send_photo(7, "http://127.0.0.1/x.jpg", caption="ع" * 1025)


async def test_faults_come_back_as_ptb_errors(emulator: Emulator) -> None:
    from telegram.error import ChatMigrated, Forbidden, RetryAfter

    world = emulator.world
    world.add_user(7, "Amine")
    world.add_group(-60, "g", members=[7], admins=[7])
    emulator.faults.blocked.add(7)
    emulator.faults.migrated[-60] = -10060
    emulator.faults.global_per_second = 1
    async with Bot(TOKEN, base_url=emulator.api_url) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(7, "x")
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-60, "x")
        assert migrated.value.new_chat_id == -10060
        emulator.faults.blocked.clear()
        emulator.faults.migrated.clear()
        await bot.send_message(7, "first")
        with pytest.raises(RetryAfter):
            await bot.send_message(-60, "second in the same second")


async def test_webhook_delivery_carries_the_secret(emulator: Emulator) -> None:
    from aiohttp import web

    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        emulator.world.add_user(7, "Amine")
        async with Bot(TOKEN, base_url=emulator.api_url) as bot:
            assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t_-")
            assert (await bot.get_webhook_info()).url.endswith("/hook")
            await emulator.world.user_message(7, "/start")
            for _ in range(50):
                if received:
                    break
                await asyncio.sleep(0.1)
            from telegram.error import Conflict

            with pytest.raises(Conflict):
                await bot.get_updates()
            with pytest.raises(BadRequest):
                await bot.set_webhook("http://127.0.0.1/x", secret_token="bad token!")
    finally:
        await runner.cleanup()
    secret, update = received[0]
    assert secret == "s3cr3t_-"
    assert Update.de_json(update, None).message.text == "/start"  # type: ignore[arg-type,union-attr]


async def test_the_control_api_acts_on_the_world(emulator: Emulator) -> None:
    """The control routes reach faults, the call log and the world through `World` alone."""
    base = f"http://127.0.0.1:{emulator.port}/control"
    async with httpx.AsyncClient() as client, Bot(TOKEN, base_url=emulator.api_url) as bot:
        answer = await client.post(f"{base}/users", json={"users": [{"id": 5, "first_name": "ع"}]})
        assert answer.status_code == 200 and 5 in emulator.world.users
        answer = await client.post(f"{base}/faults", json={"blocked": [5], "latency": 0})
        assert answer.status_code == 200 and emulator.faults.blocked == {5}
        unknown = await client.post(f"{base}/faults", json={"weather": "rain"})
        assert unknown.status_code == 400 and "weather" in unknown.text
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(5, "تجربة")
        calls = (await client.get(f"{base}/calls", params={"method": "sendMessage"})).json()
        assert [(str(c["chat_id"]), c["error"]) for c in calls["calls"]] == [("5", 403)]
        assert emulator.calls[-1].method == "sendMessage" and emulator.calls[-1].error == 403
        # A long wait for messages (30 s, the most) ends when the emulator stops: the world's
        # `closing` flag wakes it. Without the flag, stopping takes the whole 30 s.
        waiting = asyncio.create_task(
            client.get(f"{base}/chats/5/messages", params={"wait": "30"}, timeout=60)
        )
        await asyncio.sleep(0.2)
        await asyncio.wait_for(emulator.stop(), 20)
        assert (await waiting).json() == {"messages": []} and emulator.world.closing
