"""Server-side request forgery, end to end: /summary and the summary button in the real bot.

The bot runs with two sources on 127.0.0.1 (the sample site, and a hostile site whose feed
links inward and whose redirect points anywhere) and a canary server on another port. Whatever
a user sends or presses, the canary must see no request, and the user gets a clear reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from tests.hostile import Server, serve
from tests.live import Live, live_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

USER = 31
INWARD_TITLE = "تقرير خاص عن شبكة الحافلات الجديدة في المدينة"
METADATA_TITLE = "حصيلة الموسم الفلاحي في الجهة الشرقية"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def canary() -> AsyncIterator[Server]:
    async with serve() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hostile(canary: Server) -> AsyncIterator[Server]:
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{INWARD_TITLE}</title><link>{canary.url}/admin/secret</link></item>"
        f"<item><title>{METADATA_TITLE}</title>"
        "<link>http://169.254.169.254/latest/meta-data/</link></item>"
        "</channel></rss>"
    )

    async def rss(_: web.Request) -> web.Response:
        return web.Response(text=feed, content_type="application/rss+xml")

    async with serve({"/feed.xml": rss}) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory, hostile: Server) -> AsyncIterator[Live]:
    second = f"[[sources]]\nname = 'hostile'\nurl = '{hostile.url}/feed.xml'\nkind = 'rss'\n"
    async with live_bot(tmp_path_factory.mktemp("ssrf"), extra=second) as running:
        running.emulator.world.add_user(USER, "Yassine", language_code="ar")
        yield running


def cases(canary: Server, hostile: Server) -> list[str]:
    inner = f"127.0.0.1:{canary.port}"
    return [
        f"http://{inner}/admin/secret",
        f"http://LOCALHOST:{canary.port}/admin/secret",
        f"http://localhost.:{canary.port}/admin/secret",
        f"http://2130706433:{canary.port}/admin/secret",
        f"http://0x7f000001:{canary.port}/admin/secret",
        f"http://[::1]:{canary.port}/admin/secret",
        f"http://127.0.0.1:{hostile.port}@{inner}/admin/secret",
        f"{hostile.url}/redirect?to=http://{inner}/admin/secret",
        f"{hostile.url}/redirect?to=http://169.254.169.254/latest/meta-data/",
        f"{hostile.url}/redirect?to=file:///etc/hostname",
        "file:///etc/hostname",
        "http://com/",
    ]


# A web link is refused as not ours or as inner; anything else (file:) gets the usage, which
# says that /summary takes a link to an article of our sources.
REFUSED = ("ليس من مصادرنا", "عنوان داخلي", "رابط مقال من أحد مصادرنا")


async def test_summary_urls_never_reach_inside(live: Live, canary: Server, hostile: Server) -> None:
    for url in cases(canary, hostile):
        reply = await live.settled(await live.say(USER, f"/summary {url}"))
        assert any(words in reply.text for words in REFUSED), (url, reply.text)
    assert canary.requests == []
    # The hostile source's own page is still a page of our sources.
    assert any("/redirect" in r for r in hostile.requests)


async def test_stored_links_are_held_to_the_policy(live: Live, canary: Server) -> None:
    for _ in range(100):
        if len(live.query("SELECT id FROM items WHERE url LIKE '%/admin/secret'")) == 1:
            break
        await asyncio.sleep(0.1)
    listing = await live.say(USER, "/latest 20")
    for title in (INWARD_TITLE, METADATA_TITLE):
        number = next(
            line.split(".", 1)[0].strip("\u200f\u200e\u2066\u2067\u2068\u2069 ")
            for line in listing.text.splitlines()
            if title in line
        )
        reply = await live.settled(await live.say(USER, f"/summary {number}"))
        assert "عنوان داخلي" in reply.text, reply.text
    assert canary.requests == []
