"""Nothing silent: pages that stand in for a news page are told apart, followed or reported,
and a source that reads nothing warns in `ajil fetch`, in /sources and to the admins."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.watcher import Watcher
from bot.compose.reasons import reasons_text
from bot.compose.views import sources_status
from bot.config import Config
from bot.i18n import translator
from bot.news import homepage
from bot.news.fetch import HttpFetcher
from bot.news.models import PageReading
from bot.news.pagekind import classify
from bot.news.sources import NO_HEADLINES, SourcePoller, SourceSettings
from bot.ops.incidents import SOURCE_WARNING, Incidents
from storage import Database
from storage import sources as source_store
from storage.sources import SourceSpec
from tests import wild
from tests.conftest import CORPUS

ZONE = ZoneInfo("Africa/Casablanca")
ROOT = Path(__file__).resolve().parents[1]
CHALLENGE = "page looks like a bot challenge"
SHELL = "page is a shell that its scripts fill"
EMPTY_URGENT = "urgent block is empty in the page: its script fills it"
NEWS_TITLES = [t for _, t in wild.URGENT] + [t for _, t in wild.HEADLINES]


@pytest.mark.parametrize(
    ("html", "status", "kind", "target"),
    [
        (wild.CHALLENGE, 200, "challenge", None),
        # A challenge that refreshes to itself with a token is a challenge, not a stub.
        (
            wild.CHALLENGE.replace('content="390"', 'content="5;URL=/?__cf_chl_tk=abc"'),
            200,
            "challenge",
            None,
        ),
        (wild.CAPTCHA, 200, "challenge", None),
        (wild.JS_COOKIE, 200, "challenge", None),
        (wild.REFRESH, 200, "refresh", "http://s.ma/news/"),
        (wild.ANGULAR, 200, "shell", None),
        (wild.REACT, 200, "shell", None),
        (wild.MOVED, 302, "redirect", "http://s.ma/news/"),
        (wild.MOVED, 200, "redirect", "http://s.ma/news/"),
        (wild.MOVED_NOWHERE, 302, "redirect", None),
        (wild.NO_HEADLINES, 200, "news", None),
        (wild.news_page(wild.URGENT), 200, "news", None),
        # A news page that reloads itself every five minutes is not a stub.
        (
            wild.news_page(wild.URGENT, head='<meta http-equiv="refresh" content="300">'),
            200,
            "news",
            None,
        ),
    ],
)
def test_page_kinds(html: str, status: int, kind: str, target: str | None) -> None:
    found = classify(html, status, "http://s.ma/")
    assert (found.kind, found.target) == (kind, target)


@pytest.mark.parametrize(
    "script",
    [
        '<script src="/app.js"></script>',
        '<div id="root"></div><script src="/app.js"></script>',
        "<ajil-widget></ajil-widget><script>1</script>",
    ],
)
def test_a_small_page_with_a_script_and_headlines_in_its_html_is_no_shell(script: str) -> None:
    # Under 200 characters of text, one script: "a shell that its scripts fill", it was
    # called, and `ajil probe` asked for render = true though the headlines are in the HTML.
    page = (
        "<html><body><ul>"
        '<li><a href="/article/2026/11/29/1201">انقطاع الماء عن أحياء بالمدينة</a></li>'
        '<li><a href="/article/2026/11/29/1202">افتتاح معرض الكتاب في الرباط</a></li>'
        f"</ul>{script}</body></html>"
    )
    assert classify(page, 200, "http://s.ma/").kind == "news"
    # The same page with its links gone is a shell.
    bare = page.replace("<a ", "<span ").replace("</a>", "</span>")
    assert classify(bare, 200, "http://s.ma/").kind == "shell"


def test_a_captcha_in_a_full_news_page_is_still_a_news_page() -> None:
    widget = '<div class="g-recaptcha" data-sitekey="k"></div><script src="/cdn-cgi/x"></script>'
    many = [(f"/article/n{n}", f"خبر محلي رقم {n} عن أشغال الطريق") for n in range(20)]
    page = wild.news_page(wild.URGENT, many).replace("</main>", widget + "</main>")
    assert classify(page, 200, "http://s.ma/").kind == "news"


def test_real_pages_of_the_corpus_are_news_pages() -> None:
    pages = sorted(CORPUS.glob("*.html")) + sorted(CORPUS.glob("homepages/*.html"))
    if not pages:
        pytest.skip(f"the shared corpus is absent ({CORPUS})")
    from bot.news.encoding import decode

    kinds = {
        p.name: classify(decode(p.read_bytes()), 200, "https://example.org/").kind for p in pages
    }
    assert set(kinds.values()) == {"news"}, kinds


def kinds_in_test_set(archive: Path) -> dict[str, str]:
    """htmldate's test set (real pages of many sites): each page's name and kind."""
    import tarfile

    from bot.news.encoding import decode

    found = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".html"):
                data = tar.extractfile(member)
                assert data is not None
                page = decode(data.read())
                found[Path(member.name).name] = classify(page, 200, "https://example.org/").kind
    return found


def test_real_pages_of_htmldates_test_set() -> None:
    archive = CORPUS / "htmldate_test_set.tar.xz"
    if not archive.exists():
        pytest.skip(f"the shared corpus is absent ({CORPUS})")
    kinds = kinds_in_test_set(archive)
    assert len(kinds) == 200
    # Two Imperva (Incapsula) challenges and a page of obfuscated script only: what they are.
    assert {n: k for n, k in kinds.items() if k != "news"} == {
        "1685765130.html": "challenge",
        "1566929327.html": "challenge",
        "1685121845.html": "shell",
    }


def poller(fetcher: HttpFetcher, url: str, kind: str) -> SourcePoller:
    return SourcePoller(SourceSettings("site", url, kind, ZONE), fetcher)


@pytest.mark.parametrize("kind", ["html", "auto"])
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/challenge/", CHALLENGE),
        ("/captcha/", CHALLENGE),
        ("/jscookie/", CHALLENGE),
        ("/angular/", SHELL),
        ("/react/", SHELL),
        ("/moved-nowhere/", "the server answered 302 with a page instead of a redirect"),
        ("/about/", NO_HEADLINES),
    ],
)
async def test_a_page_that_yields_nothing_says_why(
    sites: wild.Wild, fetcher: HttpFetcher, kind: str, path: str, reason: str
) -> None:
    result = await poller(fetcher, sites.base + path, kind).poll(None, datetime.now(UTC))
    assert result.items == []
    assert len(result.warnings) == 1 and result.warnings[0].startswith(reason)


@pytest.mark.parametrize("kind", ["html", "auto"])
@pytest.mark.parametrize("path", ["/refresh/", "/moved/"])
async def test_stubs_are_followed_to_the_news_page(
    sites: wild.Wild, fetcher: HttpFetcher, kind: str, path: str
) -> None:
    result = await poller(fetcher, sites.base + path, kind).poll(None, datetime.now(UTC))
    assert [i.title for i in result.items] == NEWS_TITLES
    assert result.items[0].urgent and result.items[0].url == f"{sites.base}/article/storm"
    assert result.warnings == []


@pytest.mark.parametrize("kind", ["html", "auto"])
async def test_an_urgent_block_a_push_channel_fills_names_the_channel(
    sites: wild.Wild, fetcher: HttpFetcher, kind: str
) -> None:
    # wild.EMPTY_URGENT is kifache's layout: its script appends Pusher events to the bar.
    url = f"{sites.base}/empty-urgent/"
    result = await poller(fetcher, url, kind).poll(None, datetime.now(UTC))
    assert [i.title for i in result.items] == [t for _, t in wild.HEADLINES]
    assert result.warnings == [
        "the urgent bar is filled by a Pusher push channel (key k, channel site-channel, "
        'event push-event, cluster eu): add a kind = "pusher" source; '
        f"`ajil probe {url}` prints it"
    ]


async def test_an_urgent_block_its_script_fills_is_a_warning(
    sites: wild.Wild, fetcher: HttpFetcher
) -> None:
    # The same bar with no script that Ajil can read: the generic warning.
    without_script = (
        wild.EMPTY_URGENT.split("<script>")[0] + wild.EMPTY_URGENT.split("</script>")[1]
    )
    sites.live_page = without_script
    result = await poller(fetcher, f"{sites.base}/live/", "html").poll(None, datetime.now(UTC))
    assert [i.title for i in result.items] == [t for _, t in wild.HEADLINES]
    assert result.warnings == [EMPTY_URGENT]


@pytest.mark.parametrize("kind", ["html", "auto"])
async def test_what_the_homepage_reader_notes_becomes_the_polls_warning(
    sites: wild.Wild, fetcher: HttpFetcher, kind: str
) -> None:
    def reader(*args: str | None) -> PageReading:
        reading = homepage.parse_homepage(*args)  # type: ignore[arg-type]
        return replace(reading, urgent_block="div.urgent, labelled «عاجل»", notes=(EMPTY_URGENT,))

    source = SourcePoller(
        SourceSettings("site", f"{sites.base}/empty-urgent/", kind, ZONE), fetcher, reader
    )
    result = await source.poll(None, datetime.now(UTC))
    assert result.warnings == [EMPTY_URGENT]
    assert result.urgent_block == "div.urgent, labelled «عاجل»"
    assert [i.title for i in result.items] == [t for _, t in wild.HEADLINES]


async def ajil(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ},
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_fetch_names_each_silent_source_and_its_reason(
    sites: wild.Wild, write_config
) -> None:
    cases = {
        "challenge": ("/challenge/", CHALLENGE),
        "captcha": ("/captcha/", CHALLENGE),
        "jscookie": ("/jscookie/", CHALLENGE),
        "angular": ("/angular/", SHELL),
        "react": ("/react/", SHELL),
        "moved": ("/moved-nowhere/", "the server answered 302 with a page instead of a redirect"),
        "about": ("/about/", NO_HEADLINES),
    }
    text = "".join(
        f"[[sources]]\nname = '{name}'\nurl = '{sites.base}{path}'\nkind = 'html'\n"
        for name, (path, _) in cases.items()
    )
    text += f"[[sources]]\nname = 'stub'\nurl = '{sites.base}/refresh/'\n"
    text += f"[[sources]]\nname = 'moved-here'\nurl = '{sites.base}/moved/'\nkind = 'html'\n"
    code, out, err = await ajil("fetch", "--config", str(write_config(text)))
    assert code == 3, err  # read, but with warnings
    for name, (_, reason) in cases.items():
        assert f"ajil: {name}: warning: {reason}" in err
    # The stub was followed: its items are listed, and it gave no warning.
    assert "ajil: stub: warning" not in err and "ajil: moved-here: warning" not in err
    assert [line.split("\t")[2] for line in out.splitlines() if line.startswith("stub\t")] == [
        "URGENT " + NEWS_TITLES[0],
        *NEWS_TITLES[1:],
    ]
    assert "ajil: stub: urgent block: " in err  # said for every page source, even if none
    assert "Traceback" not in err


async def test_fetch_says_which_block_it_took_as_urgent(sites: wild.Wild, write_config) -> None:
    page = wild.news_page(wild.URGENT)
    if homepage.parse_homepage(page, "s", "http://s.ma/").urgent_block is None:
        pytest.skip("bot.news.homepage does not describe its urgent block yet (issue 10, point 1)")
    config = write_config(
        f"[[sources]]\nname = 'news'\nurl = '{sites.base}/news/'\nkind = 'html'\n"
    )
    code, out, err = await ajil("fetch", "--json", "--config", str(config))
    lines = [line for line in err.splitlines() if line.startswith("ajil: news: urgent block: ")]
    assert len(lines) == 1

    rows = [json.loads(line) for line in out.splitlines()]
    (urgent,) = [r for r in rows if r["urgent"]]
    assert urgent["title"] == NEWS_TITLES[0]
    # The item from the urgent block carries the block's description; the others none.
    assert urgent["urgent_block"] == lines[0].removeprefix("ajil: news: urgent block: ")
    assert all(r["urgent_block"] is None for r in rows if not r["urgent"])
    assert code == 0, err


def _config(url: str) -> Config:
    return Config.model_validate(
        {"sources": [{"name": "site", "url": url, "kind": "html", "interval": 60}]}
    )


SILENT_PAGES = {
    "challenge": (wild.CHALLENGE, 200, CHALLENGE),
    "captcha": (wild.CAPTCHA, 200, CHALLENGE),
    "js-cookie": (wild.JS_COOKIE, 200, CHALLENGE),
    "angular": (wild.ANGULAR, 200, SHELL),
    "react": (wild.REACT, 200, SHELL),
    "302-body": (wild.MOVED_NOWHERE, 302, "the server answered 302 with a page"),
    "no-headlines": (wild.NO_HEADLINES, 200, NO_HEADLINES),
}


@pytest.mark.parametrize("case", sorted(SILENT_PAGES))
async def test_a_silent_source_is_not_healthy_and_the_admins_hear_of_it(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database, case: str
) -> None:
    sites.live_page, sites.live_status, reason = SILENT_PAGES[case]
    start = datetime.now(UTC).replace(microsecond=0)
    clock = [start]
    config = _config(f"{sites.base}/live/")
    await source_store.sync(db, [SourceSpec("site", config.sources[0].url, "html")])
    watcher = Watcher(db, config, fetcher, clock=lambda: clock[0])
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    incidents = Incidents(db, ["site"], 25, notify, clock=lambda: clock[0])
    await watcher.poll("site")
    state = await source_store.get(db, "site")
    assert state is not None and state.last_success_at == start  # read without failing...
    assert state.warning is not None and state.warning.startswith(reason)  # ...yet silent
    assert state.warning_since == start
    shown = sources_status(config, [state], set(), "en", ZONE, start).text
    assert "⚠️" in shown and reason in shown and "✅" not in shown

    # Still silent a while later: the warning keeps its start; no incident yet.
    clock[0] = start + SOURCE_WARNING - timedelta(minutes=1)
    await watcher.poll("site")
    state = await source_store.get(db, "site")
    assert state is not None and state.warning_since == start
    assert await incidents.check() == []
    # Past the threshold: the admins are told once, with the reason.
    clock[0] = start + SOURCE_WARNING + timedelta(minutes=1)
    await watcher.poll("site")
    (message,) = await incidents.check()
    # In the admins' language (Arabic here), the stored English reason told from the catalog.
    assert "site" in message and reasons_text(state.warning, translator("ar")) in message
    assert reason not in message
    assert await incidents.check() == []

    # The site lets us through again: the warning clears, and the admins hear that too.
    sites.live_page, sites.live_status = wild.news_page(wild.URGENT), 200
    clock[0] += timedelta(minutes=1)
    await watcher.poll("site")
    state = await source_store.get(db, "site")
    assert state is not None and state.warning is None and state.warning_since is None
    assert "✅" in sources_status(config, [state], set(), "en", ZONE, clock[0]).text
    (back,) = await incidents.check()
    assert "site" in back and back != message


async def test_a_source_that_never_yields_anything_warns_from_its_first_poll(
    sites: wild.Wild, fetcher: HttpFetcher, db: Database
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    config = _config(f"{sites.base}/about/")
    await source_store.sync(db, [SourceSpec("site", config.sources[0].url, "html")])
    await Watcher(db, config, fetcher, clock=lambda: now).poll("site")
    state = await source_store.get(db, "site")
    assert state is not None and state.warning == NO_HEADLINES
    shown = sources_status(config, [state], set(), "ar", ZONE, now).text
    assert "لم يُعثر على عناوين" in shown and NO_HEADLINES not in shown and "✅" not in shown


async def test_a_failing_source_is_reported_as_failing_not_as_warning(db: Database) -> None:
    start = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    (state,) = await source_store.sync(db, [SourceSpec("site", "https://site.ma/", "html")])
    await source_store.record_warning(db, state.id, NO_HEADLINES, start)
    await source_store.record_failure(db, state.id, start, "HTTP 503", start)
    told: list[str] = []

    async def notify(text: str) -> None:
        told.append(text)

    later = start + SOURCE_WARNING + timedelta(minutes=5)
    (message,) = await Incidents(db, ["site"], 25, notify, clock=lambda: later).check()
    assert "HTTP 503" in message and NO_HEADLINES not in message


async def test_fetch_says_which_items_are_urgent_by_their_own_label(
    sites: wild.Wild, write_config
) -> None:
    sites.urgent = []
    sites.headlines = [
        ("/article/dam-water-level-rises-sharply", "عاجل: ارتفاع منسوب مياه السد بشكل كبير"),
        *wild.HEADLINES,
    ]
    config = write_config(
        f"[[sources]]\nname = 'home'\nurl = '{sites.base}/news/'\nkind = 'html'\n"
    )
    _, out, err = await ajil("fetch", "--config", str(config))
    assert "URGENT ارتفاع منسوب مياه السد بشكل كبير" in out
    assert "ajil: home: 1 item(s) urgent by their own label" in err
