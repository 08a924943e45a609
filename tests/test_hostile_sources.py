"""Hostile sources, as an operator meets them: each one is reported by name, bounded in time
and memory, and the good source beside them is read in the same run."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.alerts.watcher import Watcher
from bot.config import load
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from storage import Database
from storage import sources as source_store
from storage.sources import SourceSpec
from tests.hostile import Server, serve
from tests.test_cli_news import ajil

GOOD = "انطلاق حملة لتنظيف الشواطئ في المدينة"


def _feed(*titles: str) -> str:
    items = "".join(
        f"<item><title>{t}</title><link>/n/{n}</link></item>" for n, t in enumerate(titles)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{items}</channel></rss>'
    )


@pytest.fixture
async def site() -> AsyncIterator[Server]:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    twice = gzip.compress(gzip.compress(b"\0" * (8 * 1024 * 1024)))
    deep = ("<html><body>" + "<div>" * 100_000 + "نص</body></html>").encode()

    def handler(body: bytes, **headers: str):  # type: ignore[no-untyped-def]
        async def respond(_: web.Request) -> web.Response:
            return web.Response(body=body, headers=headers)

        return respond

    routes = {
        "/good": handler(_feed(GOOD).encode(), **{"Content-Type": "application/rss+xml"}),
        "/bomb": handler(bomb, **{"Content-Encoding": "gzip"}),
        "/twice": handler(twice, **{"Content-Encoding": "gzip, gzip"}),
        "/deep": handler(deep, **{"Content-Type": "text/html; charset=utf-8"}),
    }
    async with serve(routes) as server:
        yield server


def config_text(site: Server, database: Path) -> str:
    text = f"[telegram]\ntoken = '123456789:{'A' * 35}'\n[storage]\ndatabase = '{database}'\n"
    for name, kind in (("good", "rss"), ("bomb", "rss"), ("twice", "rss"), ("deep", "html")):
        text += f"[[sources]]\nname = '{name}'\nurl = '{site.url}/{name}'\nkind = '{kind}'\n"
    return text


REASONS = {
    "bomb": "too large (over 5 MB)",
    "twice": "stacked content encodings (gzip, gzip)",
    "deep": "too complex (elements nested more than 512 deep)",
}


async def test_ajil_fetch_names_each_hostile_source_and_reads_the_good_one(
    site: Server, write_config, tmp_path: Path
) -> None:
    config = write_config(config_text(site, tmp_path / "ajil.db"))
    code, out, err = await ajil("fetch", "--config", str(config))
    assert code == 1, err
    assert GOOD in out
    for name, reason in REASONS.items():
        assert any(
            line.startswith(f"ajil: {name}:") and reason in line for line in err.splitlines()
        ), err


async def test_each_hostile_source_keeps_its_reason_in_its_state(
    site: Server, write_config, tmp_path: Path
) -> None:
    config = load(write_config(config_text(site, tmp_path / "ajil.db")), env={})
    db = await Database.open(config.storage.database)
    try:
        await source_store.sync(db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources])
        policy = FetchPolicy(s.url for s in config.sources)
        async with HttpFetcher(policy=policy) as fetcher:
            watcher = Watcher(db, config, fetcher)
            for source in config.sources:
                await watcher.poll(source.name)
        for name, reason in REASONS.items():
            state = await source_store.get(db, name)
            assert state is not None and state.last_error is not None
            assert reason in state.last_error
        good = await source_store.get(db, "good")
        assert good is not None and good.last_error is None and good.primed
    finally:
        await db.close()
