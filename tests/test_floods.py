"""Floods and slow pages stay cheap (issue 13, point 1), through the real bot and the emulator:
summaries of slow pages hold no update slot, the per-user limit covers every kind of update,
and the command metric has a closed set of labels.

The "slow" article pages of the sample site wait on a gate that the test opens: /help and an
alert are shown to go through while the summaries are still waiting (order, not timing).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from bot import config as config_module
from bot.app import run
from bot.sandbox.emulator import Emulator
from bot.sandbox.newsroom import Newsroom
from bot.sandbox.world import SentMessage
from handlers.guard import COMMANDS_PER_MINUTE
from tests.conftest import TOKEN
from tests.live import Live, write_config

pytestmark = pytest.mark.asyncio(loop_scope="module")
WORKING, STILL, SLOW_DOWN = "جارٍ إعداد الملخص", "ما زلت أعد ملخصك السابق", "مهلا"


class SlowNewsroom(Newsroom):
    """The sample site, whose article pages asked with ?slow=… answer only once `gate` opens
    (a site answering after 19 s, or made slow on purpose)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def _article(self, request: web.Request) -> web.Response:
        if "slow" in request.query:
            self.waiting += 1
            try:
                await self.gate.wait()
            finally:
                self.waiting -= 1
        return await super()._article(request)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def slow_bot(folder: Path) -> AsyncIterator[tuple[Live, asyncio.Event, asyncio.Task[None]]]:
    """The real bot (bot.app.run, the task) against the emulator and a SlowNewsroom; the event
    stops it."""
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = SlowNewsroom()
    await newsroom.start()
    newsroom.publish_urgent()
    path = write_config(
        folder,
        emulator,
        newsroom,
        sections=f"[http]\nport = {free_port()}\n",
        source="interval = 15\n",
    )
    config = config_module.load(path, env={})
    stop = asyncio.Event()
    task = asyncio.create_task(run(config, stop))
    running = Live(emulator, newsroom, config)
    for _ in range(200):
        with contextlib.suppress(sqlite3.Error):
            if running.query("SELECT count(*) FROM items")[0][0] >= 11:
                break
        await asyncio.sleep(0.1)
    try:
        yield running, stop, task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)  # a second time (already done) is harmless
        newsroom.gate.set()
        await newsroom.stop()
        await emulator.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with slow_bot(tmp_path_factory.mktemp("floods")) as (running, _, _):
        try:
            yield running
        finally:
            running.newsroom.gate.set()  # type: ignore[attr-defined]


def texts(live: Live, chat: int) -> list[str]:
    return [m.text for m in live.emulator.world.bot_messages(chat)]


async def replies(live: Live, chat: int, count: int, timeout: float = 30) -> list[SentMessage]:
    world = live.emulator.world
    await world.wait_for(lambda: len(world.bot_messages(chat)) >= count, timeout)
    return world.bot_messages(chat)


async def marker(live: Live, user: int) -> dict[str, Any]:
    """A button press from `user` (over the limit by then), answered once every earlier update
    of that user has been handled (the bot keeps each user's updates in order)."""
    world = live.emulator.world
    target = world.bot_messages(user)[0]
    press = await world.press_button(user, user, target.message_id, "more:a:0:5")
    query_id = press["callback_query"]["id"]
    answered = live.emulator.api.answered_callbacks
    await world.wait_for(lambda: any(a.get("callback_query_id") == query_id for a in answered), 30)
    return next(a for a in answered if a.get("callback_query_id") == query_id)


async def test_slow_summaries_hold_no_slot_and_the_alert_goes_out(live: Live) -> None:
    world, site = live.emulator.world, live.newsroom
    reader = live.user()
    subscriber = live.user()
    assert "✅" in (await live.say(subscriber, "/subscribe")).text
    flooders = [live.user() for _ in range(3)]
    story = site.stories[0]
    for n in range(16):
        for user in flooders:
            await world.user_message(
                user, f"/summary {site.url}article/{story.id}/?slow={user}-{n}"
            )
    await world.user_message(reader, "/help")
    help_reply = (await replies(live, reader, 1))[0]
    assert "/latest" in help_reply.text
    urgent = site.publish_urgent()
    # Each flooder: "working on it" for the first link, "still working" for the 15 others,
    # all answered while the slow page has not answered yet.
    for user in flooders:
        answers = await replies(live, user, 16)
        assert WORKING in answers[0].text
        assert all(STILL in m.text for m in answers[1:]), [m.text for m in answers]
        assert len(world.bot_messages(user)) == 16
    # The poll of the same site is not stuck behind the slow pages: the alert goes out.
    await world.wait_for(lambda: any(urgent.title in t for t in texts(live, subscriber)), 60)
    assert not site.gate.is_set()
    assert site.waiting >= 1  # a slow page was still being waited for meanwhile
    assert all(WORKING in world.bot_messages(u)[0].text for u in flooders)
    site.gate.set()
    for user in flooders:
        final = await live.settled(world.bot_messages(user)[0], 60)
        assert WORKING not in final.text
        assert len(world.bot_messages(user)) == 16  # edited in place, nothing more sent
    summaries = [world.bot_messages(u)[0].text for u in flooders]
    assert any(story.title in text and "📝" in text for text in summaries), summaries


async def test_edited_messages_count_toward_the_limit(live: Live) -> None:
    world = live.emulator.world
    user = live.user()
    sent = await world.user_message(user, "/help")
    await replies(live, user, 1)
    for _ in range(COMMANDS_PER_MINUTE + 5):  # each edit would answer /help again
        await world.push_update(
            "edited_message", {**sent["message"], "edit_date": int(time.time())}
        )
    answer = await marker(live, user)
    assert not answer.get("text")
    answers = texts(live, user)
    assert len(answers) == COMMANDS_PER_MINUTE + 1, answers  # 20 answers and one notice
    assert SLOW_DOWN in answers[-1]


async def test_inline_queries_count_toward_the_limit(live: Live) -> None:
    world = live.emulator.world
    user = live.user()
    await world.user_message(user, "/help")
    await replies(live, user, 1)
    queries = [
        (await world.inline_query(user, f"خبر {n}"))["inline_query"]["id"]
        for n in range(COMMANDS_PER_MINUTE + 5)
    ]
    await marker(live, user)
    answered = {a["inline_query_id"] for a in live.emulator.api.inline_answers}
    # The /help and 19 queries fit in the minute; the other queries get no answer at all.
    assert [q in answered for q in queries] == [True] * 19 + [False] * 6
    notice = (await replies(live, user, 2))[-1]  # the one notice, in the chat, for the press
    assert SLOW_DOWN in notice.text and len(texts(live, user)) == 2


async def test_a_button_over_the_limit_is_answered_and_writes_nothing(live: Live) -> None:
    world = live.emulator.world
    user = live.user()
    for _ in range(COMMANDS_PER_MINUTE):
        await world.user_message(user, "/help")
    await replies(live, user, COMMANDS_PER_MINUTE)
    await world.user_message(user, "/subscribe")
    await world.user_message(user, "/subscribe")
    for _ in range(3):
        assert not (await marker(live, user)).get("text")  # answered: the button stops spinning
    answers = texts(live, user)
    assert len(answers) == COMMANDS_PER_MINUTE + 1 and SLOW_DOWN in answers[-1], answers
    assert live.query("SELECT count(*) FROM subscribers WHERE chat_id = ?", user) == [(0,)]


async def test_unknown_commands_are_one_label(live: Live) -> None:
    world = live.emulator.world
    users = [live.user() for _ in range(3)]
    for user in users:
        for n in range(15):
            await world.user_message(user, f"/made_up_{user}_{n} x")
        await world.user_message(user, "/HELP@AjilBot")
    for user in users:
        await replies(live, user, 16)
    port = live.config.http.port
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    labels = {
        line.split('command="', 1)[1].split('"', 1)[0]
        for line in metrics.splitlines()
        if line.startswith("ajil_command_seconds_count{")
    }
    assert "other" in labels and "help" in labels
    assert not any(label.startswith("made_up") for label in labels), labels
    registered = {"start", "subscribe", "unsubscribe", "stop", "help", "latest", "urgent"}
    registered |= {"summary", "search", "sources", "settings", "language", "quiet", "digest"}
    registered |= {"filter", "topic", "stats", "broadcast", "source", "other"}
    assert labels <= registered, labels
    other = next(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('ajil_command_seconds_count{command="other"}')
    )
    assert other >= 45


async def test_a_summary_in_progress_is_cancelled_at_shutdown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slow_bot(tmp_path) as (bot, stop, running):
        world, site = bot.emulator.world, bot.newsroom
        user = bot.user()
        story = site.stories[0]
        await world.user_message(user, f"/summary {site.url}article/{story.id}/?slow=1")
        working = (await replies(bot, user, 1))[0]
        for _ in range(300):  # the site's counter wakes no one: look every 0.05 s
            if site.waiting:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        assert site.waiting == 1  # type: ignore[attr-defined]
        stop.set()
        await asyncio.wait_for(running, 30)
        # The bot stopped with the page still unanswered: the summary's task was cancelled,
        # not left to fail against a closed fetcher and bot client; the placeholder stays.
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("on-demand-")]
        assert not site.gate.is_set()  # type: ignore[attr-defined]
        assert not [r.getMessage() for r in caplog.records if r.name == "handlers.reading"]
    assert WORKING in working.text and not working.edits
