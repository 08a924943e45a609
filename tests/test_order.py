"""Per-chat order through the real Application: what a user sends is applied in that order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from telegram import Chat, Message, Update, User

from bot.updates import ChatOrderedProcessor, order_keys
from tests.live import Live, live_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with live_bot(tmp_path_factory.mktemp("order")) as running:
        yield running


async def test_subscribe_then_unsubscribe_always_ends_unsubscribed(live: Live) -> None:
    world = live.emulator.world
    users = [live.user() for _ in range(50)]
    for user in users:
        # Back to back: both updates reach the bot in the same getUpdates batch.
        await world.user_message(user, "/subscribe")
        await world.user_message(user, "/unsubscribe")
    await world.wait_for(lambda: all(len(world.bot_messages(u)) >= 2 for u in users), 60)
    placeholders = ",".join("?" * len(users))
    rows = live.query(
        f"SELECT chat_id, active FROM subscribers WHERE chat_id IN ({placeholders})", *users
    )
    assert len(rows) == len(users)
    assert all(active == 0 for _, active in rows), rows


def update(number: int, chat: int) -> Update:
    user = User(chat, "u", False)
    when = datetime(2026, 11, 29, tzinfo=UTC)
    return Update(number, message=Message(number, when, Chat(chat, "private"), from_user=user))


async def test_one_chats_backlog_holds_no_slot() -> None:
    processor = ChatOrderedProcessor(2)
    order: list[str] = []
    release = asyncio.Event()

    async def step(tag: str, wait: bool = False) -> None:
        order.append(f"start {tag}")
        if wait:
            await release.wait()
        order.append(f"end {tag}")

    first = asyncio.create_task(processor.process_update(update(1, 7), step("a1", wait=True)))
    backlog = [
        asyncio.create_task(processor.process_update(update(n, 7), step(f"a{n}")))
        for n in range(2, 10)
    ]
    await asyncio.sleep(0.01)
    # Chat 7's backlog waits for its first update without taking the second slot.
    await asyncio.wait_for(processor.process_update(update(10, 8), step("b1")), 1)
    assert order == ["start a1", "start b1", "end b1"]
    release.set()
    await asyncio.gather(first, *backlog)
    assert order[3:] == ["end a1"] + [
        f"{edge} a{n}" for n in range(2, 10) for edge in ("start", "end")
    ]
    assert order_keys(update(1, 7)) == (("chat", 7), ("user", 7))
    assert order_keys(None) == ()
