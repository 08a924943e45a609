"""End to end through `ajil run` (its own process) and the emulator: alerts with hostile
headlines and links reach every subscriber as valid messages, a 40-letter Arabic keyword's
screen opens and its remove button works, and a button URL refused in each of Telegram's
wordings stops that alert for everyone with exactly one admin notice per alert."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from bot import config as config_module
from bot.compose.bidi import without_marks
from bot.compose.limits import ELLIPSIS, utf16_units
from bot.sandbox.emulator import Emulator
from bot.sandbox.faults import BUTTON_URL_WORDINGS
from bot.sandbox.newsroom import Newsroom
from bot.sandbox.world import SentMessage
from storage import Database, subscribers
from storage.subscribers import keyword_id
from tests.conftest import TOKEN
from tests.live import Live, primed, query, start_ajil, storage_section, until, write_config

ADMIN = 4242
USERS = [501, 502, 503]
FRENCH = 504
LONG_HEADLINE = ("تفاصيل جديدة حول " * 330)[:5600]
KEYWORD = "زلزال" * 8  # 40 Arabic letters: 80 bytes in UTF-8


def alerts(emulator: Emulator, chat: int) -> list[SentMessage]:
    return [m for m in emulator.world.bot_messages(chat) if m.text.startswith("\u200f🔴")]


def notices(emulator: Emulator) -> list[SentMessage]:
    return [m for m in emulator.world.bot_messages(ADMIN) if "تعذر إرسال تنبيه" in m.text]


def states(database: Path | str, title_like: str) -> Counter[str]:
    rows = query(
        database,
        "SELECT d.state FROM deliveries d JOIN items i ON i.id = d.item_id WHERE i.title LIKE ?",
        title_like,
    )
    return Counter(row[0] for row in rows)


async def test_hostile_alerts_keywords_and_refused_buttons_end_to_end(
    tmp_path: Path, database_target: Path | str
) -> None:
    emulator = Emulator(TOKEN)
    await emulator.start()
    newsroom = Newsroom()
    await newsroom.start()
    path = write_config(
        tmp_path,
        emulator,
        newsroom,
        telegram=f"admins = [{ADMIN}]\n",
        sections="[http]\nport = 0\n" + storage_section(database_target),
        source="title = 'أخبار المدينة'\ninterval = 15\n",
    )
    config = config_module.load(path, env={})
    database = config.storage.database
    for user in [*USERS, FRENCH, ADMIN]:
        emulator.world.add_user(user, f"u{user}", language_code="fr" if user == FRENCH else "ar")
    db = await Database.open(database)
    await subscribers.add_many(db, [(u, "private", "ar") for u in USERS])
    await subscribers.add_many(db, [(FRENCH, "private", "fr")])
    await db.close()
    everyone = [*USERS, FRENCH]
    base = newsroom.url.rstrip("/")

    bot = await start_ajil(path)
    try:
        await until(lambda: primed(database), 60)

        # 1. A 5,600-character headline, a link with raw Arabic and spaces, a javascript: link.
        newsroom.publish_urgent(title=LONG_HEADLINE)
        newsroom.publish_urgent(
            title="تعليق الدراسة بسبب العاصفة",
            link=f"{base}/أخبار/تعليق الدراسة بسبب العاصفة.html",
        )
        newsroom.publish_urgent(title="رابط لا يفتح", link="javascript:alert(1)")
        await until(lambda: all(len(alerts(emulator, u)) >= 3 for u in USERS), 60)
        await until(lambda: len(emulator.world.bot_messages(FRENCH)) >= 3, 30)
        for user in everyone:
            received = emulator.world.bot_messages(user)[:3]
            assert len(received) == 3
            by_title = {_headline(m): m for m in received}
            long = next(m for t, m in by_title.items() if t.startswith("تفاصيل"))
            assert long.text.count(ELLIPSIS) == 1 and utf16_units(long.text) <= 4096
            arabic = by_title["تعليق الدراسة بسبب العاصفة"]
            url = _buttons(arabic)[0]["url"]
            assert (
                url
                == base
                + "/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D8%AA%D8%B9%D9%84%D9%8A%D9%82"
                + (
                    "%20%D8%A7%D9%84%D8%AF%D8%B1%D8%A7%D8%B3%D8%A9%20%D8%A8%D8%B3%D8%A8%D8%A8%20"
                    "%D8%A7%D9%84%D8%B9%D8%A7%D8%B5%D9%81%D8%A9.html"
                )
            )
            javascript = by_title["رابط لا يفتح"]
            assert [b.get("url") for b in _buttons(javascript)] == [None]  # summary only
            assert all(_buttons(m)[-1]["callback_data"].startswith("sum:") for m in received)
        assert notices(emulator) == []
        assert states(database, "تفاصيل%") == {"sent": 4}

        # 2. A 40-letter Arabic keyword: its screen opens, its remove button works.
        live = Live(emulator, newsroom, config, _next_user=900_000)
        user = USERS[0]
        added = await live.say(user, f"/filter add {KEYWORD}")
        assert KEYWORD in added.text
        settings = await live.say(user, "/settings")
        screen = await live.press(user, settings, "set:filters")
        remove = f"set:unfilter:{keyword_id(KEYWORD)}"
        assert _buttons(screen)[0]["callback_data"] == remove
        assert KEYWORD in screen.text and len(remove.encode()) <= 64
        after = await live.press(user, screen, remove)
        assert KEYWORD not in after.text
        assert live.query("SELECT count(*) FROM subscriber_filters WHERE chat_id = ?", user) == [
            (0,)
        ]

        # 3. Button URLs refused in each of Telegram's wordings: one alert per wording.
        emulator.faults.button_url_refusals = {
            f"/refused-{n}/": wording for n, wording in enumerate(BUTTON_URL_WORDINGS)
        }
        for n in range(len(BUTTON_URL_WORDINGS)):
            newsroom.publish_urgent(title=f"خبر مرفوض رقم {n}", link=f"{base}/refused-{n}/")
        await until(lambda: len(notices(emulator)) >= len(BUTTON_URL_WORDINGS), 60)
        await asyncio.sleep(3.0)  # time for any duplicate notice to arrive
        told = notices(emulator)
        assert len(told) == len(BUTTON_URL_WORDINGS), [m.text for m in told]
        for n in range(len(BUTTON_URL_WORDINGS)):
            assert sum(f"خبر مرفوض رقم {n}" in without_marks(m.text) for m in told) == 1
            assert set(states(database, f"خبر مرفوض رقم {n}")) == {"broken"}
        assert all(utf16_units(m.text) <= 4096 for m in told)

        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), 30)
        assert bot.returncode == 0, err.decode()[-2000:]
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        await newsroom.stop()
        await emulator.stop()


def _headline(message: SentMessage) -> str:
    return without_marks(message.text.splitlines()[1])


def _buttons(message: SentMessage) -> list[dict[str, str]]:
    assert message.reply_markup is not None
    return [b for row in message.reply_markup["inline_keyboard"] for b in row]
