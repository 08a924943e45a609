"""Every command and button, in three languages, in private chats and groups, and bad input,
through the real bot and the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.compose.bidi import without_marks
from storage.subscribers import keyword_id
from tests.live import ADMIN, Live, live_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")
AR, FR, EN, MEMBER, GROUP_ADMIN = 20, 21, 22, 23, 24
GROUP, FORUM = -500, -100600


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with live_bot(tmp_path_factory.mktemp("commands")) as running:
        world = running.emulator.world
        world.add_user(AR, "سلمى", language_code="ar")
        world.add_user(FR, "Amine", language_code="fr")
        world.add_user(EN, "Sam", language_code="en-GB")
        world.add_user(MEMBER, "عضو", language_code="ar")
        world.add_user(GROUP_ADMIN, "مشرف", language_code="ar")
        world.add_user(ADMIN, "المدير", language_code="ar")
        world.add_group(GROUP, "حي الأمل", members=[MEMBER, GROUP_ADMIN], admins=[GROUP_ADMIN])
        world.add_group(FORUM, "منتدى", members=[GROUP_ADMIN], admins=[GROUP_ADMIN], forum=True)
        yield running


def subscribed(live: Live, chat: int) -> bool:
    rows = live.query("SELECT active FROM subscribers WHERE chat_id = ?", chat)
    return bool(rows and rows[0][0])


@pytest.mark.parametrize(
    ("user", "first_line", "subscribe_label"),
    [
        (AR, "مرحبا بك في عاجل 🔴", "🔔 اشترك في التنبيهات العاجلة"),
        (FR, "Bienvenue sur Ajil 🔴", "🔔 Recevoir les alertes urgentes"),
        (EN, "Welcome to Ajil 🔴", "🔔 Get breaking alerts"),
    ],
)
async def test_start_in_each_language(
    live: Live, user: int, first_line: str, subscribe_label: str
) -> None:
    welcome = await live.say(user, "/start")
    assert welcome.text.splitlines()[0].strip("\u200f") == first_line
    keyboard = welcome.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert keyboard[0][0]["text"] == subscribe_label
    done = await live.press(user, welcome, keyboard[0][0]["callback_data"])
    assert "✅" in done.text and subscribed(live, user)
    listing = await live.press(user, welcome, keyboard[1][0]["callback_data"])
    assert "1. " in without_marks(listing.text)


async def test_commands_are_published_in_each_language(live: Live) -> None:
    commands = live.emulator.world.commands
    by_language = {
        key.split("|")[1]: [c["command"] for c in value] for key, value in commands.items()
    }
    assert set(by_language) == {"", "ar", "fr", "en"}
    assert "latest" in by_language["fr"]
    french = next(v for k, v in commands.items() if k.endswith("|fr"))
    assert any(c["description"] == "Dernières nouvelles" for c in french)


async def test_deep_link_and_named_sources(live: Live) -> None:
    AR = live.user()
    assert "أخبار المدينة" in (await live.say(AR, "/start site")).text
    unknown = await live.say(AR, "/subscribe nosuch")
    assert "لا يوجد مصدر باسم «nosuch»" in without_marks(unknown.text) and "site" in unknown.text
    assert "✅" in (await live.say(AR, "/subscribe")).text


async def test_what_users_type_is_shown_as_text_never_as_markup(live: Live) -> None:
    user = live.user()
    unknown = await live.say(user, "/subscribe <b>x&y")  # an unbalanced tag, a bare &
    assert "«<b>x&y»" in without_marks(unknown.text)
    assert "&lt;b&gt;x&amp;y" in without_marks(unknown.html or "")


async def test_unsubscribe_and_stop(live: Live) -> None:
    await live.say(EN, "/subscribe")
    assert "Alerts stopped" in (await live.say(EN, "/unsubscribe")).text
    assert not subscribed(live, EN)
    assert "not subscribed" in (await live.say(EN, "/stop")).text
    await live.say(EN, "/subscribe")
    assert subscribed(live, EN)


async def test_help_lists_every_command_and_admin_part_for_admins(live: Live) -> None:
    text = (await live.say(FR, "/help")).text
    for command in (
        "/start",
        "/subscribe",
        "/unsubscribe",
        "/latest",
        "/urgent",
        "/summary",
        "/search",
        "/sources",
        "/settings",
        "/language",
        "/quiet",
        "/digest",
        "/filter",
        "/help",
    ):
        assert command in text
    assert "/stats" not in text
    assert "/stats" in (await live.say(ADMIN, "/help")).text


async def test_search_ignores_hamza_teh_marbuta_and_diacritics(live: Live) -> None:
    AR = live.user()
    story = next(s for s in live.newsroom.stories if s.title.startswith("انقطاع التيار"))
    for query in ("إنقطاع الكهربائى", "المدينه", "اَلتَّيَّار", "أحياء"):
        found = await live.say(AR, f"/search {query}")
        assert story.title in found.text, query
    none = await live.say(AR, "/search <b>لاشيءهنا</b>")
    assert "لا نتائج" in none.text and "&lt;" not in none.text.replace("<", "")


async def test_sources_show_their_state(live: Live) -> None:
    text = (await live.say(live.user(), "/sources")).text
    assert "✅ أخبار المدينة — آخر تحديث" in text.replace("\u200f", "")


async def test_settings_keyboard(live: Live) -> None:
    settings = await live.say(FR, "/settings")
    assert "Réglages" in settings.text and "Français" in settings.text
    keyboard = settings.reply_markup["inline_keyboard"]  # type: ignore[index]
    level_all = next(b for row in keyboard for b in row if b["callback_data"] == "set:level:all")
    edited = await live.press(FR, settings, level_all["callback_data"])
    assert "tous les nouveaux titres" in edited.text
    assert live.query("SELECT alert_level FROM subscribers WHERE chat_id = ?", FR)[0][0] == "all"
    arabic = await live.press(FR, edited, "set:lang:ar")
    assert "الإعدادات" in arabic.text
    sources = await live.press(FR, arabic, "set:sources")
    toggle = sources.reply_markup["inline_keyboard"][0][0]  # type: ignore[index]
    assert toggle["text"].startswith("✅")
    off = await live.press(FR, sources, toggle["callback_data"])
    assert off.reply_markup["inline_keyboard"][0][0]["text"].startswith("🔕")  # type: ignore[index]
    assert "🔕" in (await live.say(FR, "/sources")).text
    await live.press(FR, off, toggle["callback_data"])  # back on
    await live.say(FR, "/language fr")


async def test_language_command(live: Live) -> None:
    user = live.user("en")
    assert "Usage: /language" in (await live.say(user, "/language xx")).text
    assert "Le français est choisi." in (await live.say(user, "/language fr")).text
    assert "Utilisation : /language" in (await live.say(user, "/language")).text
    assert "English it is." in (await live.say(user, "/language en")).text
    assert "تم اختيار العربية" in (await live.say(user, "/language العربية")).text


async def test_quiet_digest_and_filters(live: Live) -> None:
    AR = live.user()
    assert "23:00" in (await live.say(AR, "/quiet 23:00-07:00")).text
    assert live.query("SELECT quiet_start, quiet_end FROM subscribers WHERE chat_id = ?", AR)[
        0
    ] == (1380, 420)
    assert "الاستعمال" in (await live.say(AR, "/quiet 25:00-07:00")).text
    assert "إلغاء" in (await live.say(AR, "/quiet off")).text
    assert "٢٠:٣٠" not in (reply := (await live.say(AR, "/digest ٢٠:٣٠")).text) and "20:30" in reply
    assert "الاستعمال" in (await live.say(AR, "/digest tomorrow")).text
    assert "إلغاء" in (await live.say(AR, "/digest off")).text
    assert "«زلزال»" in (await live.say(AR, "/filter add زلزال")).text
    assert "زلزال" in (await live.say(AR, "/filter list")).text
    assert "حذف" in (await live.say(AR, "/filter remove زلزال")).text
    assert "لا كلمات" in (await live.say(AR, "/filter list")).text
    assert "الاستعمال" in (await live.say(AR, "/filter add <>")).text


async def test_admin_commands_and_refusals(live: Live) -> None:
    AR = live.user()
    await live.say(AR, "/subscribe")
    assert "خاص بمشرفي البوت" in (await live.say(AR, "/stats")).text
    assert "خاص بمشرفي البوت" in (await live.say(AR, "/broadcast مرحبا")).text
    assert "خاص بمشرفي البوت" in (await live.say(AR, "/source off site")).text
    assert live.query("SELECT disabled FROM sources WHERE name='site'")[0][0] == 0
    stats = await live.say(ADMIN, "/stats")
    assert "المشتركون" in stats.text and "أخبار المدينة" in stats.text
    assert "الاستعمال" in (await live.say(ADMIN, "/broadcast")).text
    too_long = await live.say(ADMIN, "/broadcast " + "نص " * 1500)
    assert "الرسالة طويلة" in too_long.text and "3500" in too_long.text
    before = len(live.emulator.world.bot_messages(AR))
    queued = await live.say(ADMIN, "/broadcast صيانة قصيرة الليلة على الساعة 23:00")
    assert "في طريقها" in queued.text
    note = await live.next(AR, before, timeout=20)
    assert "📣" in note.text and "صيانة قصيرة" in note.text
    assert "الاستعمال" in (await live.say(ADMIN, "/source off nosuch")).text
    assert "تم تغيير" in (await live.say(ADMIN, "/source off site")).text
    assert "⏸" in (await live.say(AR, "/sources")).text
    await live.say(ADMIN, "/source on site")


async def test_groups_admins_only_and_addressed_commands(live: Live) -> None:
    refused = await live.say(MEMBER, "/subscribe", chat=GROUP)
    assert "مشرفوها فقط" in refused.text and not subscribed(live, GROUP)
    settings = await live.say(MEMBER, "/settings", chat=GROUP)  # reading them is allowed
    assert "مشرفوها فقط" not in settings.text
    world = live.emulator.world
    update = await world.press_button(MEMBER, GROUP, settings.message_id, "set:level:all")
    query = str(update["callback_query"]["id"])

    def answer() -> str:
        return next(
            (
                str(c.params.get("text") or "")
                for c in live.emulator.calls
                if c.method == "answerCallbackQuery"
                and str(c.params.get("callback_query_id")) == query
            ),
            "",
        )

    await world.wait_for(lambda: bool(answer()), 10)
    assert "مشرفوها فقط" in answer()  # changing them is not, told in the member's notification
    assert "✅" in (await live.say(GROUP_ADMIN, "/subscribe", chat=GROUP)).text
    assert subscribed(live, GROUP)
    listing = await live.say(MEMBER, "/latest@AjilBot 2", chat=GROUP)
    assert "1. " in without_marks(listing.text)
    before = len(live.emulator.world.bot_messages(GROUP))
    await live.emulator.world.user_message(MEMBER, "/latest@SomeOtherBot", GROUP)
    await live.emulator.world.user_message(MEMBER, "/help@AjilBot", GROUP)
    answer = await live.next(GROUP, before)
    assert "/subscribe" in answer.text  # the help, not an answer to the other bot's command


async def test_a_migrated_group_keeps_its_subscription(live: Live) -> None:
    world = live.emulator.world
    world.add_group(-700, "قديمة", members=[GROUP_ADMIN], admins=[GROUP_ADMIN])
    await live.say(GROUP_ADMIN, "/subscribe", chat=-700)
    world.migrate(-700, -1000700)
    chat = world.chats[-700]
    await world.push_update(
        "message",
        {
            "message_id": world.new_message_id(),
            "date": 0,
            "chat": chat.to_api(),
            "from": world.users[GROUP_ADMIN].to_api(),
            "migrate_to_chat_id": -1000700,
        },
    )
    for _ in range(50):
        if subscribed(live, -1000700):
            break
        await asyncio.sleep(0.1)
    assert subscribed(live, -1000700)


async def test_forum_topic_is_chosen_with_topic(live: Live) -> None:
    before = len(live.emulator.world.bot_messages(FORUM))
    await live.emulator.world.user_message(GROUP_ADMIN, "/topic", FORUM, thread_id=77)
    await live.next(FORUM, before)
    assert live.query("SELECT topic_id FROM subscribers WHERE chat_id = ?", FORUM)[0][0] == 77


async def test_inline_mode_returns_matching_headlines(live: Live) -> None:
    api = live.emulator.api
    count = len(api.inline_answers)
    await live.emulator.world.inline_query(AR, "الكهربائى")
    await live.emulator.world.wait_for(lambda: len(api.inline_answers) > count, 15)
    results = api.inline_answers[-1]["results"]
    assert results and results[0]["type"] == "article"
    assert any("انقطاع التيار" in r["title"] for r in results)


@pytest.mark.parametrize(
    "command",
    [
        "/latest " + "9" * 5000,
        "/search " + "ع" * 5000,
        "/quiet \u202e23:00-07:00",
        "/filter add \u200b",
        "/summary <a href='x'>1</a>",
        "/digest 20:00 extra",
        "/language <b>ar</b>",
        "/latest -1",
        "/urgent 2 3",
    ],
)
async def test_hostile_arguments_get_usage(live: Live, command: str) -> None:
    reply = await live.say(live.user(), command)
    assert "الاستعمال" in reply.text


async def test_unknown_command_points_to_help(live: Live) -> None:
    assert "/help" in (await live.say(live.user(), "/weather")).text


async def test_too_many_commands_get_one_polite_wait(live: Live) -> None:
    world = live.emulator.world
    world.add_user(99, "عجول")
    for _ in range(24):
        await world.user_message(99, "/help")
    await world.wait_for(lambda: any("مهلا" in m.text for m in world.bot_messages(99)), 20)
    import asyncio

    await asyncio.sleep(1)
    texts = [m.text for m in world.bot_messages(99)]
    assert sum("مهلا" in t for t in texts) == 1
    assert len(texts) == 21  # twenty answers, then the one warning


async def test_quiet_hours_and_keywords_from_the_settings_keyboard(live: Live) -> None:
    user = live.user("en")
    await live.say(user, "/filter add earthquake")
    await live.say(user, "/filter add flood")
    settings = await live.say(user, "/settings")
    quiet = await live.press(user, settings, "set:quiet:1380-420")
    assert "23:00–07:00" in quiet.text
    assert live.query("SELECT quiet_start, quiet_end FROM subscribers WHERE chat_id = ?", user)[
        0
    ] == (1380, 420)
    words = await live.press(user, quiet, "set:filters")
    buttons = [b["callback_data"] for row in words.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    remove = f"set:unfilter:{keyword_id('earthquake')}"  # the keyword's id, not the word
    assert remove in buttons
    after = await live.press(user, words, remove)
    assert "earthquake" not in after.text and "flood" in after.text
    home = await live.press(user, after, "set:home")
    cleared = await live.press(user, home, "set:quiet:off")
    assert live.query("SELECT quiet_start FROM subscribers WHERE chat_id = ?", user)[0][0] is None
    assert "Settings" in cleared.text


# Each command, in each language: the reply is that language's catalog text.
MATRIX = [
    ("/help", "help", {}),
    ("/search", "usage-search", {}),
    ("/latest abc", "usage-latest", {}),
    ("/urgent abc", "usage-urgent", {}),
    ("/summary", "usage-summary", {}),
    ("/quiet nonsense", "usage-quiet", {}),
    ("/digest nonsense", "usage-digest", {}),
    ("/filter", "usage-filter", {}),
    ("/language", "usage-language", {}),
    ("/stats", "admin-only", {}),
    ("/broadcast x", "admin-only", {}),
    ("/source off site", "admin-only", {}),
    ("/nosuchcommand", "unknown-command", {}),
    ("/subscribe", "subscribed", {}),
    ("/unsubscribe", "unsubscribed", {}),
]


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
async def test_every_command_answers_in_the_users_language(live: Live, language: str) -> None:
    from bot.i18n import translator

    t = translator(language)  # type: ignore[arg-type]
    user = live.user(language)
    for command, key, values in MATRIX:
        reply = await live.say(user, command)
        expected = t(key, **values).replace("<b>", "").replace("</b>", "").splitlines()[0]
        assert expected in without_marks(reply.text), (language, command)
    for command, title in (
        ("/latest", "latest-title"),
        ("/urgent", "urgent-title"),
        ("/sources", "sources-title"),
        ("/settings", "settings-title"),
    ):
        reply = await live.say(user, command)
        head = t(title, language="", level="", quiet="", digest="", filters="").splitlines()[0]
        assert head.replace("<b>", "").replace("</b>", "") in without_marks(reply.text), (
            language,
            command,
        )


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
async def test_group_commands_in_each_language(live: Live, language: str) -> None:
    from bot.i18n import translator

    t = translator(language)  # type: ignore[arg-type]
    admin, member = live.user(language), live.user(language)
    group = -900 - len(language) * 10 - ord(language[0])
    live.emulator.world.add_group(group, f"g-{language}", members=[admin, member], admins=[admin])
    refused = await live.say(member, "/subscribe", chat=group)
    assert t("group-admins-only") in without_marks(refused.text)
    done = await live.say(admin, "/subscribe@AjilBot", chat=group)
    assert t("subscribed").splitlines()[0] in without_marks(done.text)
    listing = await live.say(member, "/latest 3", chat=group)
    assert "1. " in without_marks(listing.text) and "3. " in without_marks(listing.text)
    quiet = await live.say(member, "/quiet 23:00-07:00", chat=group)
    assert t("group-admins-only") in without_marks(quiet.text)


async def test_keywords_are_shown_as_written_and_matched_normalized(live: Live) -> None:
    user = live.user()
    added = await live.say(user, "/filter add الدار البيضاء")
    assert "«الدار البيضاء»" in added.text  # not «الدار البيضا», the matching form
    await live.say(user, "/filter add أمطار")
    listed = (await live.say(user, "/filter list")).text
    assert "الدار البيضاء" in listed and "أمطار" in listed and "امطار" not in listed
    settings = await live.say(user, "/settings")
    screen = await live.press(user, settings, "set:filters")
    labels = [row[0]["text"] for row in screen.reply_markup["inline_keyboard"][:-1]]  # type: ignore[index]
    assert "❌ أمطار" in labels and "❌ الدار البيضاء" in labels
    # Removing by another spelling of the same word works; a word not in the list is said so.
    assert "«أمطار»" in (await live.say(user, "/filter remove امطار")).text
    missing = await live.say(user, "/filter remove ثلوج")
    assert "ليست من كلماتك" in missing.text


async def test_topic_outside_a_forum_topic_says_where_alerts_go(live: Live) -> None:
    user = live.user()
    assert "ليست موضوعا" in (await live.say(user, "/topic")).text
