"""`ajil fetch` and `ajil article` against the sample news site, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.sandbox.newsroom import Newsroom

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def newsroom() -> AsyncIterator[Newsroom]:
    site = Newsroom()
    await site.start()
    yield site
    await site.stop()


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


async def test_fetch_json_lists_every_source_and_marks_urgent(
    newsroom: Newsroom, write_config
) -> None:
    newsroom.publish_urgent()
    url = newsroom.url
    config = write_config(
        f"[[sources]]\nname = 'auto'\nurl = '{url}'\n"
        f"[[sources]]\nname = 'feed'\nurl = '{url}feed/'\nkind = 'rss'\n"
        f"[[sources]]\nname = 'wp'\nurl = '{url}'\nkind = 'wordpress'\n"
        f"[[sources]]\nname = 'home'\nurl = '{url}'\nkind = 'html'\n"
    )
    code, out, err = await ajil("fetch", "--json", "--config", str(config))
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["source"] for r in rows} == {"auto", "feed", "wp", "home"}
    assert all(
        set(r)
        == {"source", "id", "url", "title", "published", "urgent", "urgent_block", "duplicate_of"}
        for r in rows
    )
    urgent_title = newsroom.ticker()[0].title
    for source in ("auto", "feed", "wp", "home"):
        match = [r for r in rows if r["source"] == source and r["title"] == urgent_title]
        assert match and match[0]["urgent"], source
    dated = [r for r in rows if r["source"] == "feed"]
    assert all(datetime.fromisoformat(r["published"]).utcoffset() is not None for r in dated)
    # The same story seen on four sources: the first is the story, the others point to it.
    copies = [r for r in rows if r["title"] == urgent_title]
    assert copies[0]["duplicate_of"] is None
    assert all(r["duplicate_of"] == copies[0]["id"] for r in copies[1:])


async def test_fetch_reports_each_failed_source_and_exits_1(
    newsroom: Newsroom, write_config
) -> None:
    config = write_config(
        f"[[sources]]\nname = 'good'\nurl = '{newsroom.url}feed/'\nkind = 'rss'\n"
        f"[[sources]]\nname = 'gone'\nurl = '{newsroom.url}nothing-here/'\nkind = 'rss'\n"
    )
    code, out, err = await ajil("fetch", "--config", str(config))
    assert code == 1
    assert "ajil: gone: failed: HTTP 404" in err
    assert "good" in out and "Traceback" not in err
    code, out, _ = await ajil("fetch", "--source", "good", "--config", str(config))
    assert code == 0 and out.count("\n") == len(newsroom.latest())


async def test_fetch_unknown_source_is_a_usage_error(newsroom: Newsroom, write_config) -> None:
    config = write_config(f"[[sources]]\nname = 'good'\nurl = '{newsroom.url}'\n")
    code, _, err = await ajil("fetch", "--source", "nope", "--config", str(config))
    assert code == 2 and "no source named 'nope'" in err and "good" in err


async def test_article_json_from_the_sample_site(newsroom: Newsroom) -> None:
    story = newsroom.publish_urgent()
    code, out, err = await ajil(
        "article", f"{newsroom.url}article/{story.id}/", "--json", "--sentences", "2"
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"url", "title", "published", "image", "text", "summary"}
    assert data["title"] == story.title
    # The dateline gives the minute, in Casablanca time.
    assert datetime.fromisoformat(data["published"]) == story.published.replace(second=0)
    assert data["image"] == f"{newsroom.url}images/{story.id}.svg"
    assert data["text"].split("\n") == list(story.paragraphs)
    assert len(data["summary"]) == 2 and all(s in data["text"] for s in data["summary"])
    for clutter in ("اقرأ أيضا", "شارك على", "التعليقات", "جميع الحقوق", "عاجل"):
        assert clutter not in data["text"]


async def test_article_shows_the_persian_zero_width_non_joiner(tmp_path: Path) -> None:
    from tests.test_article_body import PERSIAN, persian_page

    saved = tmp_path / "fa.html"
    saved.write_text(persian_page(), "utf-8")
    code, out, err = await ajil("article", str(saved))
    assert code == 0, err
    body = out.split("\n\n")[-1]
    assert body.count("\u200c") == PERSIAN.count("\u200c")
    assert "می\u200cگویند" in out  # in the summary and the body


async def test_article_errors_are_clear() -> None:
    code, _, err = await ajil("article", "http://127.0.0.1:9/x")
    assert code == 1 and "cannot fetch" in err
    code, _, err = await ajil("article", "/no/such/file.html")
    assert code == 2 and "cannot read" in err
    code, _, err = await ajil("article", "x", "--sentences", "0")
    assert code == 2 and "1 to 10" in err


async def test_fetch_json_keeps_the_sources_own_offset(write_config) -> None:
    from tests import wild

    async with wild.serve() as sites:
        # 21:30 GMT is already 00:30 the next day in Riyadh (+03:00), the source's zone.
        sites.feed_items = [
            {
                "title": "اجتماع منتصف الليل لمجلس المدينة",
                "link": "/article/midnight",
                "pubDate": "Sat, 28 Nov 2026 21:30:00 GMT",
            },
            {
                "title": "آخر خبر قبل منتصف الليل بدقيقة",
                "link": "/article/late",
                "pubDate": "Sat, 28 Nov 2026 23:59:00 +0300",
            },
            {
                # Written with its own offset, not the source zone's: shown as written (moved
                # to a zone west of it, midnight would read as the day before).
                "title": "خبر منتصف الليل بتوقيت آخر",
                "link": "/article/other-offset",
                "pubDate": "Sat, 28 Nov 2026 00:00:00 -0100",
            },
        ]
        config = write_config(
            f"[[sources]]\nname = 'riyadh'\nurl = '{sites.base}/feed/live'\nkind = 'rss'\n"
            "timezone = 'Asia/Riyadh'\n"
        )
        code, out, err = await ajil("fetch", "--json", "--config", str(config))
        human_code, human, _ = await ajil("fetch", "--config", str(config))
    assert code == 0, err
    published = [json.loads(line)["published"] for line in out.splitlines()]
    assert published == [
        "2026-11-29T00:30:00+03:00",
        "2026-11-28T23:59:00+03:00",
        "2026-11-28T00:00:00-01:00",
    ]
    # The human listing shows the same local times.
    assert human_code == 0
    assert [line.split("\t")[1] for line in human.splitlines()] == [
        "2026-11-29 00:30",
        "2026-11-28 23:59",
        "2026-11-28 00:00",
    ]
