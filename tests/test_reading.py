"""/latest, /urgent, /summary and their buttons, through the real bot and the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.compose.bidi import without_marks
from tests.live import Live, live_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with live_bot(tmp_path_factory.mktemp("reading")) as running:
        running.emulator.world.add_user(10, "سلمى", language_code="ar")
        running.emulator.world.add_user(11, "Amine", language_code="fr-FR")
        yield running


async def test_latest_lists_headlines_with_buttons_and_pages(live: Live) -> None:
    message = await live.say(10, "/latest 3")
    lines = message.text.splitlines()
    assert "آخر الأخبار" in lines[0]
    titles = [s.title for s in live.newsroom.latest(6)]
    for number, title in enumerate(titles[:3], start=1):
        assert f"{number}. 🔴 {title}" in without_marks(message.text)
    assert "أخبار المدينة" in message.text
    assert not message.link_preview
    keyboard = message.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert [b["text"] for b in keyboard[0]] == ["ملخص 1", "ملخص 2", "ملخص 3"]
    more = keyboard[-1][0]
    assert more["callback_data"] == "more:a:3:3"
    page = await live.press(10, message, more["callback_data"])
    assert "1. " + titles[3] in without_marks(page.text)  # numbered afresh; not urgent: no 🔴


async def test_urgent_and_languages(live: Live) -> None:
    message = await live.say(11, "/urgent")
    assert message.text.splitlines()[0] == "🔴 Dernières infos urgentes"
    assert message.text.count("🔴") == 4  # the title and three urgent stories


async def test_summary_button_fetches_the_article_once(live: Live) -> None:
    listing = await live.say(10, "/latest 2")
    data = listing.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    story = live.newsroom.latest(1)[0]
    summary = await live.settled(await live.press(10, listing, data))
    assert "📝 الملخص" in summary.text and story.title in summary.text
    assert any(sentence.strip() in summary.text for sentence in story.paragraphs)
    assert summary.link_preview
    fetched = [p for _, p in live.newsroom.requests if p == story.path]
    again = await live.say(10, "/summary 1")
    assert again.text == summary.text
    assert [p for _, p in live.newsroom.requests if p == story.path] == fetched  # kept


async def test_summary_by_url_only_for_our_sources(live: Live) -> None:
    story = live.newsroom.stories[0]
    ours = await live.settled(
        await live.say(10, f"/summary {live.newsroom.url}article/{story.id}/")
    )
    assert story.title in ours.text
    foreign = await live.say(10, "/summary https://example.org/article/1")
    assert "ليس من مصادرنا" in foreign.text


@pytest.mark.parametrize(
    "command",
    [
        "/latest abc",
        "/latest 0",
        "/latest -3",
        "/latest 99",
        "/latest 1 2",
        "/urgent <b>",
        "/summary",
        "/summary x y",
        "/summary <script>",
    ],
)
async def test_bad_arguments_get_a_usage_reply(live: Live, command: str) -> None:
    message = await live.say(10, command)
    assert "الاستعمال" in message.text


async def test_summary_needs_a_list_and_a_number_in_range(live: Live) -> None:
    live.emulator.world.add_user(12, "Nour", language_code="ar")
    assert "أرسل /latest" in without_marks((await live.say(12, "/summary 1")).text)
    await live.say(12, "/latest 2")
    assert "عنوانان" in (await live.say(12, "/summary 5")).text


async def test_eastern_arabic_digits_are_numbers(live: Live) -> None:
    user = live.user()
    listing = await live.say(user, "/latest ٣")
    text = listing.text.replace("\u200e", "").replace("\u200f", "")
    assert "1. " in text and "3. " in text and "4. " not in text
    assert "الاستعمال" not in (await live.say(user, "/urgent ٢")).text


async def test_a_users_url_is_checked_against_a_policy_made_once_per_set_of_sources() -> None:
    from bot.config import Config, SourceConfig
    from bot.reading import _policy, allowed_url

    config = Config(
        sources=[SourceConfig(name=f"s{i}", url=f"https://www.site{i}.ma/") for i in range(5)]
    )
    allowed_url("https://www.site1.ma/a", config)
    before = _policy.cache_info()
    assert allowed_url("https://WWW.SITE4.ma./2026/article", config)
    assert not allowed_url("https://www.site4.ma:8443/article", config)
    after = _policy.cache_info()  # the same policy served twice, not made again for each URL
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 0)
    other = Config(sources=[SourceConfig(name="x", url="https://x.ma/")])
    assert allowed_url("https://x.ma/a", other) and not allowed_url("https://www.site1.ma/a", other)
