"""The sender's records, one Telegram answer at a time, in process and fast: the real Sender and
BotApiClient against the Bot API emulator (its faults switched on per test), deliveries put in
the outbox directly (no news site, no watcher).

tests/test_sender_outcomes.py checks the same records through the whole alert pipeline; these
are the quick ones a mutation run of bot/alerts/sender.py runs for each mutant (docs/TESTING.md):
each row's state, attempts (the tries before this one plus this one), Telegram's reason, message
id and retry time, what a shutdown puts back, and the /metrics counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.botapi import BotApiClient
from bot.alerts.sender import RETRY_CAP_S, Sender, SenderSettings, retry_delay
from bot.i18n import translator
from bot.ops.metrics import Metrics
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import BUTTON_URL_WORDINGS
from storage import Database, items, leases, notices, sources, subscribers
from storage.models import NewItem, Priority
from storage.sources import SourceSpec
from tests.conftest import TOKEN

ADMIN = 900
CANT_PARSE = "Bad Request: can't parse entities: unsupported start tag at byte offset 0"
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_FOUND = "Bad Request: chat not found"
TITLE = "انقطاع التيار الكهربائي عن أحياء وسط المدينة"
# Refusals the admins' notice does not trip (it quotes the title, and 300 characters of a
# broadcast): a button URL of the first item, and a word at the end of a long broadcast.
BUTTON_REFUSED = "Bad Request: inline keyboard button URL 'https://site.ma/1' is invalid"
LONG_BROADCAST = "تنبيه للمشتركين: " + "تتوقف الخدمة ليلا للصيانة. " * 14 + "كلمة-مرفوضة"


@dataclass
class Run:
    db: Database
    emulator: Emulator
    sender: Sender
    metrics: Metrics

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.emulator.world.bot_messages(chat_id)]


@contextlib.asynccontextmanager
async def running(
    db: Database,
    *,
    expire_after: timedelta = timedelta(hours=6),
    token: str = TOKEN,
    paid: bool = False,
    clock: Callable[[], float] = time.monotonic,
    fence: Callable[[], bool] | None = None,
    client_type: type[BotApiClient] = BotApiClient,
    before: Callable[[Emulator], None] = lambda emulator: None,
    source_titles: dict[str, str] | None = None,
    gone: tuple[str, ...] = (),
) -> AsyncIterator[Run]:
    """A sender draining `db`'s outbox into a fresh emulator until the block ends; then it
    stops as `ajil run` stops it (shutdown puts back what it holds)."""
    emulator = Emulator(TOKEN)
    await emulator.start()
    emulator.world.add_user(ADMIN, "admin", language_code="ar")
    before(emulator)
    settings = SenderSettings(
        rate=30,
        paid=paid,
        zone=ZoneInfo("Africa/Casablanca"),
        expire_after=expire_after,
        admins=(ADMIN,),
        source_titles=source_titles,
    )
    client = client_type(emulator.api_url, token, connections=8)
    metrics = Metrics()
    sender = Sender(db, client, settings, clock, metrics=metrics, worker="sender/test", fence=fence)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop, gone))
    try:
        yield Run(db, emulator, sender, metrics)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await client.close()
        await emulator.stop()


async def _users(db: Database, emulator: Emulator | None, ids: list[int]) -> None:
    if emulator is not None:
        for user_id in ids:
            emulator.world.add_user(user_id, f"u{user_id}", language_code="ar")
    await subscribers.add_many(db, [(i, "private", "ar") for i in ids])


async def _item(
    db: Database, n: int = 1, title: str = TITLE, url: str | None = None, at: datetime | None = None
) -> int:
    (state,) = await sources.sync(db, [SourceSpec("site", "https://site.ma/", "rss")])
    now = at or datetime.now(UTC)
    (item_id,) = await items.insert_new(
        db,
        [
            NewItem(
                uid=f"https://site.ma/{n}",
                source_id=state.id,
                url=url or f"https://site.ma/{n}",
                title=title,
                normalized_title=title,
                published_at=now,
                fetched_at=now,
                urgent=True,
            )
        ],
    )
    assert item_id is not None
    return item_id


async def _deliveries(
    db: Database,
    chats: list[int],
    *,
    item_id: int | None = None,
    notice_id: int | None = None,
    attempts: int = 0,
    created_ago: timedelta = timedelta(0),
    due_in: timedelta = timedelta(0),
    priority: int = Priority.URGENT,
) -> dict[int, int]:
    """Put one delivery per chat in the outbox as the fan-out would (chat -> delivery id):
    `attempts` tries already made, queued `created_ago`, due `due_in` from now."""
    now = datetime.now(UTC)
    created = int((now - created_ago).timestamp())
    due = int((now + due_in).timestamp())
    ids = {}
    async with db.transaction() as conn:
        for chat in chats:
            cursor = await conn.execute(
                "INSERT INTO deliveries (item_id, notice_id, chat_id, priority, queue_at,"
                " not_before, attempts, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    item_id,
                    notice_id,
                    chat,
                    priority,
                    due * 1000,
                    due,
                    attempts,
                    created,
                    created,
                ),
            )
            ids[chat] = int((await cursor.fetchall())[0][0])
    return ids


async def _rows(db: Database) -> dict[int, tuple[Any, ...]]:
    """delivery id -> (state, attempts, last_error, message_id, not_before)."""
    rows = await db.reader.execute_fetchall(
        "SELECT id, state, attempts, last_error, message_id, not_before FROM deliveries"
    )
    return {row[0]: tuple(row[1:]) for row in rows}


async def _until(
    db: Database, wanted: Callable[[dict[int, tuple[Any, ...]]], bool]
) -> dict[int, tuple[Any, ...]]:
    """The rows once `wanted` holds of them (15 s at most: each test's own work takes under
    two seconds, and a mutation run waits this long for each mutant that stops the sender)."""
    rows: dict[int, tuple[Any, ...]] = {}
    for _ in range(300):
        rows = await _rows(db)
        if wanted(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the deliveries never got there: {rows}")


def _states(rows: dict[int, tuple[Any, ...]], ids: dict[int, int]) -> dict[int, str]:
    return {chat: rows[delivery][0] for chat, delivery in ids.items()}


def _count(metrics: Metrics, state: str) -> float:
    value = metrics.registry.get_sample_value("ajil_deliveries_total", {"outcome": state})
    return value or 0.0


# -- sent ------------------------------------------------------------------------------------


async def test_a_send_records_its_message_id_and_one_more_attempt(db: Database) -> None:
    item = await _item(db)
    async with running(db) as run:
        await _users(db, run.emulator, [1, 2])
        first = await _deliveries(db, [1], item_id=item)
        again = await _deliveries(db, [2], item_id=item, attempts=2)  # tried twice before
        run.sender.wake()
        rows = await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    (one,) = run.emulator.world.bot_messages(1)
    (two,) = run.emulator.world.bot_messages(2)
    assert TITLE in one.text and one.html is not None
    assert rows[first[1]][:4] == ("sent", 1, None, one.message_id)
    assert rows[again[2]][:4] == ("sent", 3, None, two.message_id)
    assert one.disable_notification is False and not one.paid and one.thread_id is None
    assert run.sender.sent == 2
    assert _count(run.metrics, "sent") == 2


async def test_an_alert_shows_the_sources_title_and_the_time_in_the_bots_zone(
    db: Database,
) -> None:
    """The sender composes with its settings: the configured title of the source (not its
    name) and the item's time in the configured zone (Africa/Casablanca, UTC+01 outside
    Ramadan), not the machine's."""
    item = await _item(db, at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    casablanca, utc = "10:30", "09:30"  # Morocco is at UTC+01 outside Ramadan
    async with running(db, source_titles={"site": "جريدة الموقع"}) as run:
        await _users(db, run.emulator, [1])
        await _deliveries(db, [1], item_id=item)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    (message,) = run.emulator.world.bot_messages(1)
    assert "جريدة الموقع" in message.text and "site" not in message.text.replace("site.ma", "")
    assert casablanca in message.text and utc not in message.text


async def test_a_dead_senders_claims_are_sent_at_once_not_when_their_claim_runs_out(
    db: Database,
) -> None:
    """A new leader's sender puts back at its start the deliveries the workers named gone
    had claimed (their claims would last another hour), then sends them; another worker's
    live claim stays its own."""
    item = await _item(db)
    await _users(db, None, [1, 2])
    ids = await _deliveries(db, [1, 2], item_id=item)
    held_until = int(time.time()) + 3600
    async with db.transaction() as conn:
        for chat, worker in ((1, "sender/dead"), (2, "sender/alive")):
            await conn.execute(
                "UPDATE deliveries SET state = 'sending', claimed_by = ?, claim_expires_at = ?"
                " WHERE id = ?",
                (worker, held_until, ids[chat]),
            )

    def users(emulator: Emulator) -> None:
        for user_id in (1, 2):
            emulator.world.add_user(user_id, f"u{user_id}", language_code="ar")

    async with running(db, gone=("sender/dead",), before=users) as run:
        rows = await _until(db, lambda r: r[ids[1]][0] == "sent")
    assert len(run.emulator.world.bot_messages(1)) == 1
    assert rows[ids[2]][0] == "sending" and run.emulator.world.bot_messages(2) == []


async def test_a_broadcast_is_sent_in_each_chats_language_with_its_text(db: Database) -> None:
    body = "تحديث: الخدمة تعود غدا"
    notice = await notices.create(db, "broadcast", body)
    await subscribers.add_many(db, [(1, "private", "ar"), (2, "private", "fr")])

    def users(emulator: Emulator) -> None:
        emulator.world.add_user(1, "u1", language_code="ar")
        emulator.world.add_user(2, "u2", language_code="fr")

    async with running(db, before=users) as run:
        await _deliveries(db, [1, 2], notice_id=notice)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    for chat, language in ((1, "ar"), (2, "fr")):
        (message,) = run.emulator.world.bot_messages(chat)
        header = translator(language)("broadcast-header")
        assert body in message.text and header in message.text, (language, message.text)


async def test_a_digest_is_sent_in_the_chats_language_with_times_in_the_bots_zone(
    db: Database,
) -> None:
    entry = {
        "title": TITLE,
        "url": "https://site.ma/1",
        "source": "site",
        "at": "2026-11-02T09:30:00+00:00",
    }
    notice = await notices.create(db, "digest", json.dumps([entry], ensure_ascii=False))
    await subscribers.add_many(db, [(1, "private", "fr")])

    def user(emulator: Emulator) -> None:
        emulator.world.add_user(1, "u1", language_code="fr")

    async with running(db, before=user) as run:
        await _deliveries(db, [1], notice_id=notice)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    (message,) = run.emulator.world.bot_messages(1)
    assert translator("fr")("digest-title") in message.text and TITLE in message.text
    assert "10:30" in message.text and "09:30" not in message.text  # Casablanca, UTC+01


async def test_what_a_send_asks_of_telegram(db: Database) -> None:
    """An urgent alert rings, another is silent; no link preview; a forum's chosen topic; paid
    broadcast when set. The sender leads the fleet here (a fence that holds): it sends."""
    item = await _item(db)
    await leases.acquire(db, "leader", "sender/test", int(time.time()), 600)

    def forum(emulator: Emulator) -> None:
        emulator.world.add_group(-100, "منتدى", [], [], forum=True)

    async with running(db, paid=True, fence=lambda: True, before=forum) as run:
        await _users(db, run.emulator, [1, 2])
        await subscribers.add_many(db, [(-100, "supergroup", "ar")])
        await subscribers.set_preferences(db, -100, topic_id=7)
        await _deliveries(db, [1, -100], item_id=item)
        await _deliveries(db, [2], item_id=item, priority=Priority.NORMAL)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    (urgent,), (normal,) = run.emulator.world.bot_messages(1), run.emulator.world.bot_messages(2)
    (topic,) = run.emulator.world.bot_messages(-100)
    assert not urgent.disable_notification and normal.disable_notification
    assert urgent.thread_id is None and topic.thread_id == 7
    assert all(m.paid and not m.link_preview for m in (urgent, normal, topic))


async def test_a_fenced_sender_sends_only_while_its_lease_holds_at_the_step_and_the_send(
    db: Database,
) -> None:
    """The fence (the fleet's leader lease) is asked before a send is started and again at the
    last moment before it goes: here it says no at the first step, then yes at the step and no
    at the send (the lease lapsed in between), then yes. The delivery is put back each time,
    untried, and goes once, with one attempt, when the lease holds at both checks."""
    item = await _item(db)
    await leases.acquire(db, "leader", "sender/test", int(time.time()), 600)
    script = [False, True, False]
    answers: list[bool] = []

    def fence() -> bool:
        answers.append(script.pop(0) if script else True)
        return answers[-1]

    async with running(db, fence=fence) as run:
        await _users(db, run.emulator, [1])
        ids = await _deliveries(db, [1], item_id=item)
        run.sender.wake()
        rows = await _until(db, lambda r: r[ids[1]][0] == "sent")
    assert rows[ids[1]][:2] == ("sent", 1)
    assert answers[:5] == [False, True, False, True, True]  # step, step, send, step, send
    assert len(run.texts(1)) == 1


async def test_claims_waiting_for_their_chats_go_each_after_its_chats_second(
    db: Database,
) -> None:
    """Two alerts for each of five private chats, claimed at once: each chat's first goes, the
    five seconds wait their chat's second (more waiting than the low mark of the queue, so the
    step does not claim meanwhile), then go; in the sender's own decisions, each chat's two
    sends are a second apart or more; and the step slept while they waited."""
    first, second = await _item(db, 1), await _item(db, 2, "حريق محدود في مستودع للأخشاب")
    chats = [1, 2, 3, 4, 5]
    await _users(db, None, chats)
    ids = await _deliveries(db, chats, item_id=first, due_in=timedelta(seconds=-1))
    later = await _deliveries(db, chats, item_id=second)

    def setup(emulator: Emulator) -> None:
        for user_id in chats:
            emulator.world.add_user(user_id, f"u{user_id}", language_code="ar")

    reads = [0]

    def clock() -> float:
        reads[0] += 1
        return time.monotonic()

    async with running(db, clock=clock, before=setup) as run:
        run.sender.wake()
        rows = await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
        times = {chat: run.sender.chats.sent_times(chat) for chat in chats}
    # While claims wait for their chats the step sleeps until the first is due (0.25 s at
    # most), never spins: a spinning step starves the event loop (the bot's commands too). A
    # step reads the clock a few times; even 15 s of steps every 0.05 s stay far below this,
    # and a step spinning for the one second of waiting reads it tens of thousands of times.
    assert reads[0] < 3000, reads
    assert all(rows[i][:2] == ("sent", 1) for i in [*ids.values(), *later.values()])
    assert all(len(t) == 2 and t[1] - t[0] >= 1.0 for t in times.values()), times
    assert all(len(run.texts(chat)) == 2 for chat in chats)


async def test_a_fenced_sender_claims_nothing_while_another_worker_holds_the_lease(
    db: Database,
) -> None:
    """Its fence says yes (a clock that ran late), but the database's lease is another
    worker's: the sender's claims ask for the lease, so it takes nothing. Witness: the sender
    stepped (it reads its clock after each claim) three times after the deliveries were due;
    then, once the lease is its own, the same deliveries go."""
    item = await _item(db)
    await leases.acquire(db, "leader", "sender/other", int(time.time()), 600)
    reads = [0]

    def clock() -> float:
        reads[0] += 1
        return time.monotonic()

    async with running(db, clock=clock, fence=lambda: True) as run:
        await _users(db, run.emulator, [1, 2])
        ids = await _deliveries(db, [1, 2], item_id=item)
        after = reads[0]
        run.sender.wake()
        for _ in range(300):
            if reads[0] >= after + 3:
                break
            await asyncio.sleep(0.05)
        assert reads[0] >= after + 3, "the sender did not step"
        assert set(_states(await _rows(db), ids).values()) == {"pending"}
        await leases.release(db, "leader", "sender/other")
        await leases.acquire(db, "leader", "sender/test", int(time.time()), 600)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    assert len(run.texts(1)) == len(run.texts(2)) == 1


async def test_the_sender_never_holds_more_than_its_window_claimed(db: Database) -> None:
    """Forty chats, each answer taking a second: the queue runs low while the first sends are
    in flight, and the sender claims again only the room its window leaves (queued, in flight,
    answered but not yet written all count). Each send sees at most `window` rows claimed, so a
    crash can re-send at most that many (the module's promise); the first sees the window full."""
    item = await _item(db)
    seen: list[int] = []

    class Counting(BotApiClient):
        async def send_message(
            self, params: dict[str, Any], on_wire: Callable[[], None] | None = None
        ) -> int:
            if params["chat_id"] != ADMIN:
                rows = await db.reader.execute_fetchall(
                    "SELECT count(*) FROM deliveries WHERE state = 'sending'"
                )
                seen.append(rows[0][0])
            return await super().send_message(params, on_wire)

    chats = list(range(1, 41))
    async with running(db, client_type=Counting) as run:
        run.emulator.faults.latency = 1.0
        await _users(db, run.emulator, chats)
        await _deliveries(db, chats, item_id=item)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    window = run.sender.settings.window
    assert len(seen) == len(chats)
    assert seen[0] == window and max(seen) == window


# -- Telegram down: retried with backoff while still news, then expired ----------------------


async def test_a_failed_try_is_retried_later_with_its_backoff_and_reason(db: Database) -> None:
    item = await _item(db)
    async with running(db) as run:
        run.emulator.faults.outage_until = time.monotonic() + 3600
        await _users(db, run.emulator, [1, 2])
        ids = await _deliveries(db, [1], item_id=item)
        ids |= await _deliveries(db, [2], item_id=item, attempts=3)
        before = time.time()
        run.sender.wake()
        rows = await _until(db, lambda r: all(s[1] > 0 and s[1] != 3 for s in r.values()))
        after = time.time()
    one, two = rows[ids[1]], rows[ids[2]]
    assert one[:4] == ("pending", 1, "HTTP 502, not JSON", None)
    assert two[:4] == ("pending", 4, "HTTP 502, not JSON", None)
    # Due again 2 s after the first failed try, 16 s after the fourth (whole seconds).
    assert int(before) + 2 <= one[4] <= int(after) + 2
    assert int(before) + 16 <= two[4] <= int(after) + 16
    assert run.texts(1) == [] and run.texts(2) == []
    assert _count(run.metrics, "pending") == 2


def test_the_backoff_doubles_up_to_a_minute() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
    assert RETRY_CAP_S == 60


async def test_a_try_that_would_be_retried_past_the_news_window_expires(db: Database) -> None:
    """Retried while the next try still falls within `expire_after` of the queueing: with an
    hour and a delivery queued 59 min 50 s ago, a third try (8 s later) is still made, a
    fourth (16 s later) is not: that delivery is recorded as expired."""
    item = await _item(db)
    async with running(db, expire_after=timedelta(hours=1)) as run:
        run.emulator.faults.outage_until = time.monotonic() + 3600
        await _users(db, run.emulator, [1, 2])
        old = timedelta(minutes=59, seconds=50)
        later = await _deliveries(db, [1], item_id=item, attempts=2, created_ago=old)
        expired = await _deliveries(db, [2], item_id=item, attempts=3, created_ago=old)
        run.sender.wake()
        rows = await _until(db, lambda r: r[later[1]][1] == 3 and r[expired[2]][1] == 4)
    assert rows[later[1]][:4] == ("pending", 3, "HTTP 502, not JSON", None)
    assert rows[expired[2]][:4] == ("expired", 4, "HTTP 502, not JSON", None)
    assert _count(run.metrics, "expired") == 1


# -- Telegram says no --------------------------------------------------------------------------


async def test_a_blocked_chat_is_dropped_and_switched_off_with_telegrams_words(
    db: Database,
) -> None:
    item = await _item(db)
    async with running(db) as run:
        await _users(db, run.emulator, [1, 2])
        await _users(db, None, [3])  # a chat Telegram does not know: a 400, not a 403
        run.emulator.faults.blocked.add(1)
        ids = await _deliveries(db, [1, 2, 3], item_id=item, attempts=1)
        run.sender.wake()
        rows = await _until(db, lambda r: all(s[0] in ("dropped", "sent") for s in r.values()))
    assert rows[ids[1]][:4] == ("dropped", 2, BLOCKED, None)
    assert rows[ids[3]][:4] == ("dropped", 2, NOT_FOUND, None)
    unknown = await subscribers.get(db, 3)
    assert unknown is not None and not unknown.active and unknown.deactivated_why == NOT_FOUND
    assert rows[ids[2]][0] == "sent"
    gone = await subscribers.get(db, 1)
    assert gone is not None and not gone.active and gone.deactivated_why == BLOCKED
    kept = await subscribers.get(db, 2)
    assert kept is not None and kept.active


async def test_any_other_refusal_is_recorded_as_failed_with_its_reason(db: Database) -> None:
    """An answer the sender has no rule for (here 401: a token Telegram does not know) fails
    that delivery, once, with Telegram's words; nothing is retried or switched off."""
    item = await _item(db)
    async with running(db, token="123456789:AAH-not-the-bots-token") as run:
        await _users(db, run.emulator, [1])
        ids = await _deliveries(db, [1], item_id=item, attempts=1)
        run.sender.wake()
        rows = await _until(db, lambda r: r[ids[1]][0] != "pending" and r[ids[1]][1] > 1)
    assert rows[ids[1]][:4] == ("failed", 2, "Unauthorized", None)
    subscriber = await subscribers.get(db, 1)
    assert subscriber is not None and subscriber.active


class _BuggyClient(BotApiClient):
    """A client with a bug: it raises what the sender does not expect (neither an answer of
    Telegram nor a transport error)."""

    async def send_message(
        self, params: dict[str, Any], on_wire: Callable[[], None] | None = None
    ) -> int:
        raise RuntimeError("a bug in the client")


async def test_an_unexpected_error_fails_the_delivery_once_with_its_repr(db: Database) -> None:
    item = await _item(db)
    async with running(db, client_type=_BuggyClient) as run:
        await _users(db, run.emulator, [1])
        ids = await _deliveries(db, [1], item_id=item, attempts=2)
        run.sender.wake()
        rows = await _until(db, lambda r: r[ids[1]][0] == "failed")
    assert rows[ids[1]][:4] == ("failed", 3, "RuntimeError('a bug in the client')", None)
    assert _count(run.metrics, "failed") == 1


async def test_a_429_pauses_and_the_message_goes_after_without_an_attempt_lost(
    db: Database,
) -> None:
    item = await _item(db)
    async with running(db) as run:
        await _users(db, run.emulator, [1])
        run.emulator.faults.storm_until = time.monotonic() + 1
        ids = await _deliveries(db, [1], item_id=item)
        run.sender.wake()
        rows = await _until(db, lambda r: r[ids[1]][0] == "sent")
    assert rows[ids[1]][:3] == ("sent", 1, None)
    assert len(run.texts(1)) == 1


async def test_a_group_that_became_a_supergroup_is_followed(db: Database) -> None:
    item = await _item(db)

    def upgraded(emulator: Emulator) -> None:
        emulator.world.add_group(-5, "مجموعة", [], [])
        emulator.world.add_channel(-1005, "مجموعة")
        emulator.faults.migrated[-5] = -1005

    async with running(db, before=upgraded) as run:
        await subscribers.add_many(db, [(-5, "group", "ar")])
        ids = await _deliveries(db, [-5], item_id=item)
        run.sender.wake()
        rows = await _until(db, lambda r: r[ids[-5]][0] == "sent")
    assert rows[ids[-5]][1] == 1
    assert len(run.texts(-1005)) == 1 and run.texts(-5) == []
    assert await subscribers.get(db, -5) is None
    moved = await subscribers.get(db, -1005)
    assert moved is not None and moved.active


# -- refused content -------------------------------------------------------------------------


async def test_a_refused_alert_is_stopped_and_its_own_try_counted(db: Database) -> None:
    """The refused delivery reads broken after one try, with Telegram's reason; the deliveries
    not due yet (a later batch, a chat in its quiet hours) are stopped in the database, never
    tried; another item's alert goes on; the admins are told once."""
    item = await _item(db)
    other = await _item(db, 2, "حريق محدود في مستودع للأخشاب")
    async with running(db) as run:
        run.emulator.faults.button_url_refusals["site.ma/1"] = BUTTON_URL_WORDINGS[1]
        await _users(db, run.emulator, [1, 2, 3])
        waiting = await _deliveries(db, [2, 3], item_id=item, due_in=timedelta(hours=1))
        fine = await _deliveries(db, [2], item_id=other)
        tried = await _deliveries(db, [1], item_id=item, attempts=1)
        run.sender.wake()
        rows = await _until(db, lambda r: r[tried[1]][0] == "broken" and r[fine[2]][0] == "sent")
        # One transaction: the moment the row reads broken, it carries its own try.
        assert rows[tried[1]][:4] == ("broken", 2, BUTTON_REFUSED, None)
    assert rows[waiting[2]][:4] == ("broken", 0, BUTTON_REFUSED, None)
    assert rows[waiting[3]][:4] == ("broken", 0, BUTTON_REFUSED, None)
    assert run.texts(1) == [] and len(run.texts(2)) == 1
    (notice,) = run.emulator.world.bot_messages(ADMIN)
    assert TITLE in notice.text and "https://site.ma/1" in notice.text  # what, and why
    assert notice.html is not None and not notice.link_preview  # HTML, no preview
    assert _count(run.metrics, "broken") == 1
    assert run.sender.sent == 1


async def test_a_claimed_delivery_of_a_refused_alert_waiting_for_its_chat_is_stopped_untried(
    db: Database,
) -> None:
    """One claim holds another alert for chat 2, then the refused alert for chats 1 and 2.
    The refused alert's turn for chat 2 comes while chat 1's answer is on its way (0.3 s): chat
    2's own limit (1 s) sends it back to wait, and it is still waiting when the refusal comes
    (the sender's clock stands still half a second after chat 2's first message until the test
    has seen the refusal). Once the chat is ready again, that delivery is
    not sent but stopped, untried (attempts as before), and the chat got one message, not two."""
    bad = await _item(db)
    fine = await _item(db, 2, "حريق محدود في مستودع للأخشاب")
    await _users(db, None, [1, 2])
    first = await _deliveries(db, [2], item_id=fine, due_in=timedelta(seconds=-1))
    held = await _deliveries(db, [1, 2], item_id=bad)
    senders: list[Sender] = []
    released = False

    def clock() -> float:
        now = time.monotonic()
        if senders and not released and (to_2 := senders[0].chats.sent_times(2)):
            return min(now, to_2[0] + 0.5)
        return now

    def setup(emulator: Emulator) -> None:
        for user_id in (1, 2):
            emulator.world.add_user(user_id, f"u{user_id}", language_code="ar")
        emulator.faults.button_url_refusals["site.ma/1"] = BUTTON_URL_WORDINGS[1]
        emulator.faults.latency = 0.3  # the refusal comes after the next claim's turn

    async with running(db, clock=clock, before=setup) as run:
        senders.append(run.sender)  # before the sender's first step
        rows = await _until(db, lambda r: r[held[1]][0] == "broken" and r[first[2]][0] == "sent")
        assert rows[held[1]][:3] == ("broken", 1, BUTTON_REFUSED)
        assert len(run.sender.chats.sent_times(2)) == 1  # the refused alert waits for chat 2
        released = True
        rows = await _until(db, lambda r: r[held[2]][2] == "the alert's content was refused")
    assert rows[held[2]][:4] == ("broken", 0, "the alert's content was refused", None)
    assert rows[first[2]][:2] == ("sent", 1)
    assert len(run.sender.chats.sent_times(2)) == 1
    assert len(run.texts(2)) == 1 and run.texts(1) == []


async def test_a_refused_broadcast_is_stopped_for_the_chats_not_yet_due(db: Database) -> None:
    """As for an alert: the broadcast's deliveries the sender has not claimed are stopped in
    the database (after a restart they are not tried); a broadcast of another text goes on."""
    async with running(db) as run:
        run.emulator.faults.refuse_texts.append("كلمة-مرفوضة")
        await _users(db, run.emulator, [1, 2, 3])
        notice = await notices.create(db, "broadcast", LONG_BROADCAST)
        fine_notice = await notices.create(db, "broadcast", "تحديث: الخدمة تعود غدا")
        waiting = await _deliveries(db, [2, 3], notice_id=notice, due_in=timedelta(hours=1))
        # Due a second later: claimed after the refusal, and sent (another text).
        fine = await _deliveries(db, [2], notice_id=fine_notice, due_in=timedelta(seconds=1))
        tried = await _deliveries(db, [1], notice_id=notice)
        run.sender.wake()
        rows = await _until(db, lambda r: r[tried[1]][0] == "broken")
        assert rows[tried[1]][:4] == ("broken", 1, CANT_PARSE, None)
        rows = await _until(db, lambda r: r[fine[2]][0] == "sent")
    assert rows[waiting[2]][:4] == ("broken", 0, CANT_PARSE, None)
    assert rows[waiting[3]][:4] == ("broken", 0, CANT_PARSE, None)
    assert run.texts(1) == [] and len(run.texts(ADMIN)) == 1


async def test_a_refused_digest_stops_nothing_else(db: Database) -> None:
    entry = {
        "title": TITLE,
        "url": "https://site.ma/1",
        "source": "site",
        "at": "2026-05-01T09:00:00+00:00",
    }
    digest = json.dumps([entry], ensure_ascii=False)
    async with running(db) as run:
        run.emulator.faults.refuse_texts.append(TITLE)
        await _users(db, run.emulator, [1, 2, 3])
        mine = await notices.create(db, "digest", digest)
        theirs = await notices.create(db, "digest", digest)
        fine = await notices.create(db, "digest", "[]")  # another chat's, due a second later
        later = await _deliveries(db, [2], notice_id=theirs, due_in=timedelta(hours=1))
        next_one = await _deliveries(db, [3], notice_id=fine, due_in=timedelta(seconds=1))
        tried = await _deliveries(db, [1], notice_id=mine)
        run.sender.wake()
        rows = await _until(
            db, lambda r: r[tried[1]][0] == "broken" and r[next_one[3]][0] == "sent"
        )
    assert rows[tried[1]][:4] == ("broken", 1, CANT_PARSE, None)
    assert rows[later[2]][0] == "pending"
    (notice,) = run.texts(ADMIN)
    assert translator("ar")("digest-title") in notice  # the admins read which message
    assert _count(run.metrics, "broken") == 1


async def test_a_message_that_cannot_be_composed_is_broken_untried(db: Database) -> None:
    async with running(db) as run:
        await _users(db, run.emulator, [1])
        notice = await notices.create(db, "digest", "{not json")
        ids = await _deliveries(db, [1], notice_id=notice, attempts=1)
        run.sender.wake()
        rows = await _until(db, lambda r: r[ids[1]][0] == "broken")
    state, attempts, reason, message_id, _ = rows[ids[1]]
    assert (state, attempts, message_id) == ("broken", 1, None)
    assert reason.startswith("compose: ")
    assert run.texts(1) == []


# -- shutdown --------------------------------------------------------------------------------


async def test_a_shutdown_puts_back_what_was_claimed_and_not_sent(db: Database) -> None:
    """Three alerts for one private chat: one goes, the chat's one-second limit holds the
    others in the sender (its clock stands still); stopping then puts them back as they were
    (pending, attempts kept)."""
    first, second, third = await _item(db, 1), await _item(db, 2), await _item(db, 3)
    async with running(db, clock=lambda: 1000.0) as run:
        await _users(db, run.emulator, [1])
        ids = [
            (await _deliveries(db, [1], item_id=item, attempts=n))[1]
            for n, item in enumerate((first, second, third))
        ]
        run.sender.wake()
        await _until(db, lambda r: any(s[0] == "sent" for s in r.values()))
    rows = await _rows(db)
    assert [rows[i][:2] for i in ids] == [("sent", 1), ("pending", 1), ("pending", 2)]
    claimed = await db.reader.execute_fetchall(
        "SELECT count(*) FROM deliveries WHERE state = 'sending'"
    )
    assert claimed[0][0] == 0
    assert len(run.texts(1)) == 1


# -- two refusals at once, a late answer, an outage's log --------------------------------------


async def test_refusals_in_flight_at_once_stop_the_alert_once(db: Database) -> None:
    """Both chats' sends are in flight (each answer takes 0.3 s) when the first refusal comes
    back: each row carries its own try, the admins are told once. Telegram's reason quotes the
    button's URL, here long: the row keeps its first 300 characters."""
    url = "https://site.ma/1?" + "x" * 400
    item = await _item(db, url=url)
    async with running(db) as run:
        run.emulator.faults.latency = 0.3
        run.emulator.faults.button_url_refusals["site.ma/1"] = BUTTON_URL_WORDINGS[1]
        await _users(db, run.emulator, [1, 2])
        ids = await _deliveries(db, [1, 2], item_id=item)
        run.sender.wake()
        rows = await _until(db, lambda r: all(s[:2] == ("broken", 1) for s in r.values()))
    reason = f"Bad Request: inline keyboard button URL '{url}' is invalid"
    assert rows[ids[1]][:4] == rows[ids[2]][:4] == ("broken", 1, reason[:300], None)
    assert len(run.texts(ADMIN)) == 1
    assert _count(run.metrics, "broken") == 2


async def _taken_over_while_answered(run: Run, refused: int) -> None:
    """Let the sender claim every row, then hand them all to another worker while the answers
    are on their way; return once the `refused` delivery reads broken."""
    run.sender.wake()
    await _until(run.db, lambda r: all(s[0] == "sending" for s in r.values()))
    async with run.db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET claimed_by = 'sender/other'")
    await _until(run.db, lambda r: r[refused][0] == "broken")


async def test_answers_for_deliveries_another_worker_took_over_are_not_written(
    db: Database,
) -> None:
    """While the answers are on their way (1 s), another worker claims both rows (this one was
    paused past its claim): the sender's late outcomes must not overwrite that worker's rows.
    The sent one stays that worker's; the refused alert is still stopped, untried by it."""
    item = await _item(db, 1)
    other = await _item(db, 2, "حريق محدود في مستودع للأخشاب")
    async with running(db) as run:
        run.emulator.faults.latency = 1.0
        run.emulator.faults.button_url_refusals["site.ma/1"] = BUTTON_URL_WORDINGS[1]
        await _users(db, run.emulator, [1, 2])
        refused = await _deliveries(db, [1], item_id=item)
        fine = await _deliveries(db, [2], item_id=other)
        await _taken_over_while_answered(run, refused[1])
    rows = await _rows(db)  # the sender has stopped: every outcome it had is flushed
    assert rows[fine[2]][:2] == ("sending", 0)
    assert rows[refused[1]][:3] == ("broken", 0, BUTTON_REFUSED)
    assert len(run.texts(2)) == 1


async def test_a_late_refusal_of_a_broadcast_another_worker_took_over_is_not_written(
    db: Database,
) -> None:
    """As for an alert: the broadcast's refused row, claimed meanwhile by another worker, is
    stopped with the rest of that text's deliveries but keeps that worker's attempts (the stop
    writes the refused try fenced by this worker); the other broadcast sent stays theirs."""
    async with running(db) as run:
        run.emulator.faults.latency = 1.0
        run.emulator.faults.refuse_texts.append("كلمة-مرفوضة")
        await _users(db, run.emulator, [1, 2])
        notice = await notices.create(db, "broadcast", LONG_BROADCAST)
        fine_notice = await notices.create(db, "broadcast", "تحديث: الخدمة تعود غدا")
        refused = await _deliveries(db, [1], notice_id=notice)
        fine = await _deliveries(db, [2], notice_id=fine_notice)
        await _taken_over_while_answered(run, refused[1])
    rows = await _rows(db)  # the sender has stopped: every outcome it had is flushed
    assert rows[fine[2]][:2] == ("sending", 0)
    assert rows[refused[1]][:3] == ("broken", 0, CANT_PARSE)
    assert len(run.texts(2)) == 1


async def test_an_outage_is_logged_once_and_its_end_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Three deliveries fail in one outage: one warning, with the reason, not one per
    delivery; when the Bot API answers again (their retry, 2 s later), one line says so."""
    item = await _item(db)
    caplog.set_level(logging.INFO, logger="bot.alerts.sender")
    async with running(db) as run:
        run.emulator.faults.outage_until = time.monotonic() + 1
        await _users(db, run.emulator, [1, 2, 3])
        await _deliveries(db, [1, 2, 3], item_id=item)
        run.sender.wake()
        await _until(db, lambda r: all(s[0] == "sent" for s in r.values()))
    failing = [r.getMessage() for r in caplog.records if "fails" in r.getMessage()]
    assert failing == ["sender: the Bot API fails (HTTP 502, not JSON); deliveries are retried"]
    again = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(again) == 1 and again[0].startswith("sender: the Bot API answers again after ")
