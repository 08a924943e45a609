"""Feeds as they really come, each recreated from other feed readers' bug reports, over HTTP:
legacy and contradicted encodings, bodies that look like a URL or a path, long feeds listed
oldest first, clocks running ahead, guids that change under a stable link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.news.encoding import utf8_document
from bot.news.fetch import HttpFetcher
from bot.news.ingest import Ingestor
from bot.news.sources import SourceError, SourcePoller, SourceSettings
from bot.reading import listing
from storage import Database, items
from storage import sources as source_store
from storage.sources import SourceSpec
from tests import wild

ZONE = ZoneInfo("Africa/Casablanca")
WATER = "انقطاع الماء الصالح للشرب عن ثلاثة أحياء"
FILM = "مهرجان الفيلم القصير يعلن عن لائحة الأفلام المتنافسة"


def feed(fetcher: HttpFetcher, url: str) -> SourcePoller:
    return SourcePoller(SourceSettings("site", url, "rss", ZONE), fetcher)


@pytest.mark.parametrize("path", ["/feed/cp1256", "/feed/bom"])
async def test_encodings_decoded_once_come_out_as_arabic(
    sites: wild.Wild, fetcher: HttpFetcher, path: str
) -> None:
    result = await feed(fetcher, sites.base + path).poll(None, datetime.now(UTC))
    assert [i.title for i in result.items] == [WATER, FILM]
    # «عاجل:» was read as the marker it is: urgent, and taken off the title.
    assert [i.urgent for i in result.items] == [True, False]
    assert result.items[0].url == f"{sites.base}/article/water"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '<?xml version="1.0" encoding="windows-1256"?><rss/>',
            b'<?xml version="1.0" encoding="utf-8"?><rss/>',
        ),
        (
            "\ufeff<?xml version='1.0' encoding='ISO-8859-6' ?><rss/>",
            b"<?xml version='1.0' encoding=\"utf-8\" ?><rss/>",
        ),
        ('<?xml version="1.0"?><rss/>', b'<?xml version="1.0" encoding="utf-8"?><rss/>'),
        ("<rss>عاجل</rss>", "<rss>عاجل</rss>".encode()),
    ],
)
def test_the_parser_gets_utf8_bytes_that_say_so(text: str, expected: bytes) -> None:
    assert utf8_document(text) == expected


async def test_a_feed_body_that_is_a_url_is_never_fetched(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    url = f"{sites.base}/feed/body?target={quote(sites.base + '/canary')}"
    with pytest.raises(SourceError):
        await feed(fetcher, url).poll(None, datetime.now(UTC))
    assert sites.canary_hits == 0


def _local_file(which: str, folder: Path) -> tuple[Path, str]:
    """A file the bot must never open, and a text of it that must never come out."""
    if which == "/etc/hostname":
        # The case from the reports; a file that is not a feed fails either way, so the feed
        # file of ours is what shows that nothing is opened.
        target = Path("/etc/hostname")
        if not target.exists():
            pytest.skip("no /etc/hostname here")
        return target, target.read_text().strip()
    target = folder / "secret.xml"
    target.write_text(wild.rss([{"title": wild.SECRET_TITLE, "link": "/x"}]), "utf-8")
    return target, wild.SECRET_TITLE


@pytest.mark.parametrize("which", ["a feed of ours", "file:// a feed of ours", "/etc/hostname"])
async def test_a_feed_body_that_is_a_path_is_never_opened(
    sites: wild.Wild, fetcher: HttpFetcher, tmp_path: Path, which: str
) -> None:
    target, secret = _local_file(which, tmp_path)
    body = f"file://{target}" if which.startswith("file://") else str(target)
    url = f"{sites.base}/feed/body?target={quote(body)}"
    with pytest.raises(SourceError) as caught:
        await feed(fetcher, url).poll(None, datetime.now(UTC))
    assert secret not in caught.value.reason


async def test_a_long_feed_listed_oldest_first_yields_its_newest_items(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    result = await feed(fetcher, f"{sites.base}/feed/long").poll(None, datetime.now(UTC))
    numbers = [int(i.title.split()[2]) for i in result.items]
    assert numbers == list(range(149, 49, -1))  # the newest 100 of 150, newest first
    assert result.listed == tuple(i.uid for i in result.items)


async def test_an_item_dated_in_the_future_is_shown_when_first_seen(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"{sites.base}/feed/live"
    (state,) = await source_store.sync(db, [SourceSpec("site", url, "rss")])
    ingestor = Ingestor(db, timedelta(hours=6), timedelta(hours=24))
    sites.feed_items = [
        {
            "title": WATER,
            "link": "/article/water",
            "pubDate": format_datetime(now + timedelta(days=1)),
        },
        {
            "title": FILM,
            "link": "/article/film",
            "pubDate": format_datetime(now - timedelta(minutes=3)),
        },
    ]
    source = feed(fetcher, url)
    await ingestor.ingest(state, await source.poll(None, now), now)
    stored = await items.latest(db, 10)
    assert [(i.title, i.published_at) for i in stored] == [
        (WATER, now),
        (FILM, now - timedelta(minutes=3)),
    ]
    # An hour later a new item arrives: it goes above the one dated "tomorrow".
    later = now + timedelta(hours=1)
    sites.feed_items.insert(
        0,
        {"title": "افتتاح ملعب القرب", "link": "/article/pitch", "pubDate": format_datetime(later)},
    )
    state = await source_store.get(db, "site")
    assert state is not None
    await ingestor.ingest(state, await source.poll(None, later), later)
    assert [i.title for i in await items.latest(db, 10)] == ["افتتاح ملعب القرب", WATER, FILM]


async def test_one_story_under_two_guids_is_listed_once(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    url = f"{sites.base}/feed/live"
    (state,) = await source_store.sync(db, [SourceSpec("site", url, "rss")])
    ingestor = Ingestor(db, timedelta(hours=6), timedelta(hours=24))
    story = {"title": WATER, "link": "/article/water", "pubDate": format_datetime(now)}
    source = feed(fetcher, url)
    polls = [
        [{**story, "guid": "urn:site:water"}],
        [{**story, "guid": "urn:site:water:v2"}],  # the CMS renumbered it
        [{**story, "guid": "urn:site:water:v2"}, {**story, "guid": "urn:site:water"}],
    ]
    announced = []
    for n, listed in enumerate(polls):
        moment = now + timedelta(minutes=n)
        sites.feed_items = listed
        result = await source.poll(None, moment)
        assert len({i.uid for i in result.items}) == 1  # one id for one story
        state = await source_store.get(db, "site")  # type: ignore[assignment]
        assert state is not None
        announced += await ingestor.ingest(state, result, moment)
    config = Config.model_validate({"sources": [{"name": "site", "url": url}]})
    shown = await listing(db, config, "ar", 10)
    assert shown.message.text.count(WATER) == 1 and len(shown.item_ids) == 1
    assert announced == []  # the first poll primed; the rest were the same story
