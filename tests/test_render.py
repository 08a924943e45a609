"""render = true: a homepage whose urgent bar a script fills, read after the script ran in
headless Chromium (Debian's chromium, driven by Playwright; never a downloaded browser)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.news.render import Renderer, RenderError, RenderUnavailable, check_available
from bot.news.sources import STILL_EMPTY_NOTE, SourceError, SourcePoller, SourceSettings
from bot.news.ticker import EMPTY_BLOCK_NOTE
from tests import rendering
from tests.conftest import TOKEN
from tests.test_cli_news import ajil

ZONE = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
try:
    import playwright  # noqa: F401

    PLAYWRIGHT = True
except ImportError:
    PLAYWRIGHT = False
needs_browser = pytest.mark.skipif(
    rendering.CHROMIUM is None or not PLAYWRIGHT,
    reason="Debian's chromium (apt-get install chromium) and Playwright are needed; "
    ".ci/run installs chromium",
)


@pytest.fixture
async def site() -> AsyncIterator[rendering.Site]:
    async with rendering.serve() as state:
        yield state


@pytest.fixture
async def tools(site: rendering.Site) -> AsyncIterator[tuple[HttpFetcher, Renderer]]:
    # Only the site is a configured source: the intranet, on another port, is not.
    policy = FetchPolicy([site.base + "/"])
    async with HttpFetcher(total_timeout=5, policy=policy) as fetcher:
        renderer = Renderer(policy, executable=rendering.CHROMIUM, timeout=10)
        try:
            yield fetcher, renderer
        finally:
            await renderer.aclose()


def poller(url: str, kind: str, tools: tuple[HttpFetcher, Renderer], render: bool) -> SourcePoller:
    fetcher, renderer = tools
    settings = SourceSettings("site", url, kind, ZONE, render=render)
    return SourcePoller(settings, fetcher, renderer=renderer)


def urgent(result: object) -> list[tuple[str | None, str]]:
    return [(i.url, i.title) for i in result.items if i.urgent]  # type: ignore[attr-defined]


@needs_browser
@pytest.mark.parametrize("kind", ["html", "auto"])
async def test_without_render_nothing_urgent_and_a_warning(
    site: rendering.Site, tools: tuple[HttpFetcher, Renderer], kind: str
) -> None:
    result = await poller(site.base + "/", kind, tools, render=False).poll(None, NOW)
    assert urgent(result) == []
    assert EMPTY_BLOCK_NOTE in result.warnings
    assert [t for _, t in rendering.HEADLINES] == [i.title for i in result.items]
    assert tools[1].launches == 0  # no browser for a source that does not render


@needs_browser
@pytest.mark.parametrize("kind", ["html", "auto"])
async def test_with_render_the_urgent_items_are_found(
    site: rendering.Site, tools: tuple[HttpFetcher, Renderer], kind: str
) -> None:
    result = await poller(site.base + "/", kind, tools, render=True).poll(None, NOW)
    assert urgent(result) == [(site.base + u, t) for u, t in rendering.URGENT]
    assert all(i.from_ticker for i in result.items if i.urgent)
    assert result.urgent_block == "div.urgent labelled «عاجل»"
    assert [i.title for i in result.items if not i.urgent] == [t for _, t in rendering.HEADLINES]
    assert EMPTY_BLOCK_NOTE not in result.warnings
    # The page's document was fetched once, by the poll, not again by the browser.
    assert site.requests.count("/") == 1
    assert "/api/urgent" in site.requests


@needs_browser
async def test_the_page_obeys_the_fetch_policy_and_loads_no_media(
    site: rendering.Site, tools: tuple[HttpFetcher, Renderer]
) -> None:
    fetcher, renderer = tools
    page = await fetcher.fetch(site.base + "/")
    rendered = await renderer.render(page.url, page.body, page.content_type, page.charset)
    assert "زلزال بقوة" in rendered.html
    # A private address that is not a configured source: not by a request, not by a redirect
    # from the site, not by a web socket.
    assert site.intranet_requests == []
    assert f"{site.intranet}/secret" in rendered.refused
    assert "/hop" in site.requests
    # Images and fonts are never asked for.
    assert not [p for p in site.requests if p.startswith("/img/") or p.endswith(".woff2")]
    assert rendered.blocked >= 3
    assert rendered.settled
    # Nothing of the render stays open in the browser.
    assert renderer._browser.contexts == []


@needs_browser
async def test_a_page_that_never_settles_is_stopped_at_the_time_limit(
    site: rendering.Site, tools: tuple[HttpFetcher, Renderer]
) -> None:
    fetcher, _ = tools
    renderer = Renderer(FetchPolicy([site.base + "/"]), executable=rendering.CHROMIUM, timeout=3)
    try:
        page = await fetcher.fetch(site.base + "/busy")
        started = asyncio.get_running_loop().time()
        with pytest.raises(RenderError) as raised:
            await renderer.render(page.url, page.body, page.content_type, page.charset)
        assert raised.value.reason == "the page did not render within 3 s"
        assert asyncio.get_running_loop().time() - started < 30  # bounded, not hung
        # The browser still serves the next page.
        page = await fetcher.fetch(site.base + "/")
        rendered = await renderer.render(page.url, page.body, page.content_type, page.charset)
        assert "زلزال بقوة" in rendered.html
    finally:
        await renderer.aclose()


@needs_browser
async def test_a_crashed_browser_is_started_again(
    site: rendering.Site, tools: tuple[HttpFetcher, Renderer]
) -> None:
    source = poller(site.base + "/", "html", tools, render=True)
    first = await source.poll(None, NOW)
    assert len(urgent(first)) == 2
    main = rendering.browser_main()
    assert main is not None
    os.kill(main, signal.SIGKILL)  # the browser this test started, by its id
    for _ in range(50):
        if not tools[1]._alive():
            break
        await asyncio.sleep(0.1)
    again = await source.poll(None, NOW)
    assert len(urgent(again)) == 2
    assert tools[1].launches == 2


@needs_browser
async def test_a_bar_still_empty_after_rendering_says_so(
    site: rendering.Site, tools: tuple[HttpFetcher, Renderer]
) -> None:
    # As kifache's: the bar is filled only when a push arrives, never by the page itself.
    site.page = rendering.homepage(site.intranet, filler="void 0;")
    result = await poller(site.base + "/", "html", tools, render=True).poll(None, NOW)
    assert urgent(result) == []
    assert STILL_EMPTY_NOTE in result.warnings


async def test_render_without_a_browser_fails_the_poll_clearly(site: rendering.Site) -> None:
    async with HttpFetcher(total_timeout=5, policy=FetchPolicy([site.base])) as fetcher:
        settings = SourceSettings("site", site.base + "/", "html", ZONE, render=True)
        with pytest.raises(SourceError) as raised:
            await SourcePoller(settings, fetcher).poll(None, NOW)
    assert raised.value.reason == (
        "render: render = true, but this process has no browser to render with"
    )


# -- a missing chromium or Playwright is a clear startup error ----------------------------------


def test_a_chromium_named_elsewhere_must_exist() -> None:
    with pytest.raises(RenderUnavailable) as raised:
        check_available({"AJIL_CHROMIUM": "/nonexistent/chromium"})
    assert str(raised.value) == (
        "render = true needs chromium (AJIL_CHROMIUM=/nonexistent/chromium is not an "
        "executable file); Ajil never downloads a browser"
    )


@pytest.mark.parametrize("command", ["check", "fetch", "run"])
async def test_startup_error_names_the_debian_package_and_the_extra(
    write_config: Callable[..., Path],
    tmp_path: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(
        "[[sources]]\nname = 'shell'\nurl = 'http://127.0.0.1:9/'\nkind = 'html'\nrender = true\n"
        "[[sources]]\nname = 'feed'\nurl = 'http://127.0.0.1:9/feed/'\nkind = 'rss'\n"
    )
    # A PATH without chromium (python is started by its full path).
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("AJIL_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.delenv("AJIL_CHROMIUM", raising=False)
    code, out, err = await ajil(command, "--config", str(config))
    output = out + err
    assert code == 2, output
    assert "render = true needs chromium (Debian's package: apt-get install chromium)" in output
    assert "Ajil never downloads a browser" in output
    # Without a render source, nothing asks for chromium.
    plain = write_config(
        "[[sources]]\nname = 'feed'\nurl = 'http://127.0.0.1:9/feed/'\nkind = 'rss'\n",
        "plain.toml",
    )
    if command == "check":
        code, out, err = await ajil("check", "--config", str(plain))
        assert code == 0, err


def test_missing_playwright_is_named_with_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "playwright" else real(name, *a),
    )
    with pytest.raises(RenderUnavailable) as raised:
        check_available({"AJIL_CHROMIUM": sys.executable})
    assert str(raised.value) == (
        "render = true needs Playwright (pip install 'ajil[render]'); "
        "Ajil never downloads a browser"
    )


def test_render_only_on_pages(write_config: Callable[..., Path]) -> None:
    from bot.config import ConfigError, load

    with pytest.raises(ConfigError) as raised:
        load(
            write_config(
                "[[sources]]\nname = 'f'\nurl = 'https://a.test/feed'\nkind = 'rss'\nrender = true\n"
            )
        )
    assert 'render = true reads web pages: it needs kind = "html" or "auto", not "rss"' in str(
        raised.value
    )


@needs_browser
async def test_ajil_fetch_renders(site: rendering.Site, write_config: Callable[..., Path]) -> None:
    config = write_config(
        f"[[sources]]\nname = 'site'\nurl = '{site.base}/'\nkind = 'html'\nrender = true\n"
    )
    code, out, err = await ajil("fetch", "--config", str(config))
    assert code == 0, err
    for _, title in rendering.URGENT:
        assert f"URGENT {title}" in out
    assert "ajil: site: urgent block: div.urgent labelled «عاجل»" in err
