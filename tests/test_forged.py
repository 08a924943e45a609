"""Forged button data and group members who are not admins, through the real bot.

Every press is answered (no button left spinning), nothing forged reaches storage as an
error, and a member who is not a group admin changes nothing, whatever command or button of
the bot's own registry they try.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler

from bot.compose import callbacks
from handlers import register
from handlers.gate import BOT_ADMIN_COMMANDS, READ_ONLY_COMMANDS
from tests.live import Live, live_bot
from tests.test_callbacks import WORST

pytestmark = pytest.mark.asyncio(loop_scope="module")

GROUP = -100777
ADMIN = 61
MEMBER = 62
PRESSER = 63  # another member who is not an admin (the per-user limit counts each apart)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with live_bot(tmp_path_factory.mktemp("forged")) as running:
        world = running.emulator.world
        for user in (ADMIN, MEMBER, PRESSER):
            world.add_user(user, f"u{user}", language_code="ar")
        world.add_group(GROUP, "مجموعة الجيران", [ADMIN, MEMBER, PRESSER], [ADMIN], supergroup=True)
        yield running


def answered(live: Live, query_id: str) -> list[str]:
    return [
        str(c.params.get("text") or "")
        for c in live.emulator.calls
        if c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) == query_id
    ]


FORGED = [
    "sum:99999999999999999999999",  # past any integer column
    "sum:9999999999999999999",  # 19 digits, past SQLite's largest id
    "sum:0",
    "set:src:99999999999999999999",
    "set:src:99999",  # no such source
    "set:src:0",
    "set:unfilter:0123456789abcdef",  # no such keyword
    "set:level:nope",
    "set:quiet:9999-1",
    "more:u:999999:99",
    "more:a:0:0",
    "x",
    "set:",
    "عاجل",
]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_presses_are_answered_and_reach_no_error(
    live: Live, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = live.emulator.world
    user = live.user()  # each case its own user: the per-user limit is not under test here
    message = await live.say(user, "/settings")
    with caplog.at_level(logging.WARNING):
        update = await world.press_button(user, user, message.message_id, data)
        query_id = str(update["callback_query"]["id"])
        await world.wait_for(lambda: bool(answered(live, query_id)), 10)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    rows = live.query("SELECT count(*) FROM subscriber_sources WHERE chat_id = ?", user)
    assert rows == [(0,)]  # no switch was stored for a source that does not exist


def registry() -> tuple[list[str], list[str]]:
    """The bot's own commands and button patterns, from the registration the bot runs."""
    application = ApplicationBuilder().token("1:x").build()

    class Services:
        db = config = fetcher = sender = metrics = watcher = None

    register(application, Services())  # type: ignore[arg-type]
    commands: list[str] = []
    patterns: list[str] = []
    for group in application.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler):
                commands.extend(sorted(handler.commands))
            elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
                patterns.append(handler.pattern.pattern)  # type: ignore[union-attr]
    return commands, patterns


ARGUMENTS = {
    "start": "site",
    "language": "fr",
    "quiet": "23:00-07:00",
    "digest": "20:00",
    "filter": "add مطر",
}


def group_state(live: Live) -> list[object]:
    return [
        live.query("SELECT * FROM subscribers WHERE chat_id = ?", GROUP),
        live.query("SELECT * FROM subscriber_sources WHERE chat_id = ?", GROUP),
        live.query("SELECT * FROM subscriber_filters WHERE chat_id = ?", GROUP),
    ]


async def test_a_member_who_is_not_admin_changes_nothing(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    world = live.emulator.world
    subscribed = await live.say(ADMIN, "/subscribe", chat=GROUP)
    assert "تم الاشتراك" in subscribed.text
    settings = await live.say(ADMIN, "/settings", chat=GROUP)
    before = group_state(live)
    commands, patterns = registry()
    changing = [c for c in commands if c not in READ_ONLY_COMMANDS | BOT_ADMIN_COMMANDS]
    assert {"subscribe", "unsubscribe", "quiet", "filter", "topic"} <= set(changing)
    with caplog.at_level(logging.WARNING):
        for command in [*changing, "start"]:
            text = f"/{command} {ARGUMENTS.get(command, '')}".strip()
            reply = await live.say(MEMBER, text, chat=GROUP)
            assert "يغيرها مشرفوها فقط" in reply.text, (text, reply.text)
        presses = [b.pack() for b in WORST if not isinstance(b, callbacks.Summary | callbacks.More)]
        for pattern in patterns:  # every button pattern the bot listens to is tried
            assert any(re.match(pattern, d) for d in [*presses, "sum:1", "more:a:0:5"])
        in_group = len(world.bot_messages(GROUP))
        for data in presses:
            update = await world.press_button(PRESSER, GROUP, settings.message_id, data)
            query_id = str(update["callback_query"]["id"])
            await world.wait_for(lambda q=query_id: bool(answered(live, q)), 10)
            assert "يغيرها مشرفوها فقط" in answered(live, query_id)[0]
        assert len(world.bot_messages(GROUP)) == in_group  # no message to the whole group
    assert group_state(live) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
