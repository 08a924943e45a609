"""The demo's web chat in headless Chromium: a person starts the bot, asks for the latest
headlines and sees them right to left, then a breaking alert arrives with its buttons, pushed
by the sample site on its live channel (not found by a poll)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
from pathlib import Path

import pytest

from bot.sandbox.demo import Demo
from bot.sandbox.newsroom import CHANNEL

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
SCREENSHOT = os.environ.get("AJIL_SCREENSHOT")  # set to a path to refresh docs/webchat.png


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_web_chat_in_a_real_browser(caplog: pytest.LogCaptureFixture) -> None:
    from playwright.async_api import async_playwright

    caplog.set_level(logging.INFO, logger="bot.alerts.watcher")
    demo = Demo()
    stop = asyncio.Event()
    port = free_port()
    serving = asyncio.create_task(demo.serve(port, stop, publish=False))
    try:
        for _ in range(100):
            if demo.chat.port:
                break
            await asyncio.sleep(0.1)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = await browser.new_page(viewport={"width": 720, "height": 900})
            await page.goto(f"http://127.0.0.1:{port}/")
            assert (
                await page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
            )
            # An edited message says so in the page's language, as Telegram does.
            edited = await page.evaluate(
                "render({message_id: 1, from_bot: true, text: 'x', clock: '12:00', edits: [1]})"
                ".querySelector('.meta').textContent"
            )
            assert edited == "12:00 · مُعدَّلة", edited
            await page.click("#start")
            await page.wait_for_selector(".row.bot .bubble", timeout=15_000)
            assert "عاجل" in await page.inner_text(".row.bot .bubble")
            await page.locator("button.kbtn", has_text="اشترك").click()
            await page.locator(".row.bot .bubble", has_text="تم الاشتراك").wait_for(timeout=15_000)

            # The site has stories; wait until the bot has read them, then ask.
            for _ in range(100):
                if demo.site.requests:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            await page.fill("#text", "/latest")
            await page.press("#text", "Enter")
            latest = page.locator(".row.bot .bubble", has_text="آخر الأخبار")
            await latest.wait_for(timeout=15_000)
            text = await latest.inner_text()
            assert demo.site.latest(1)[0].title in text
            box = await latest.bounding_box()
            mine = await page.locator(".row.me .bubble").last.bounding_box()
            assert box is not None and mine is not None
            # Right to left: the bot's bubbles start at the right, the user's at the left.
            assert box["x"] + box["width"] > mine["x"] + mine["width"]
            assert await latest.evaluate("e => getComputedStyle(e).unicodeBidi") == "plaintext"

            # A breaking story, published just after a poll: the alert arrives live, pushed on
            # the site's channel, with its buttons.
            await demo.push.wait_for_subscribers(CHANNEL, 1)
            feeds = demo.site.requests.count(("GET", "/feed/"))
            for _ in range(600):  # the next poll, 15 s away at most
                if demo.site.requests.count(("GET", "/feed/")) > feeds:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # that poll's feed is served: the next is 15 s away
            story = demo.site.publish_urgent()
            assert demo.push.pushed[-1].subscribers == 1
            alert = page.locator(".row.bot", has_text="🔴 عاجل")
            await alert.wait_for(timeout=45_000)
            assert story.title in await alert.inner_text()
            assert f"pushed «{story.title}» (new)" in caplog.text
            assert await alert.locator(".kbtn").count() == 2
            await alert.locator("button.kbtn").click()  # the summary button
            summary = page.locator(".row.bot .bubble", has_text="الملخص")
            await summary.wait_for(timeout=15_000)
            if SCREENSHOT:
                await alert.scroll_into_view_if_needed()
                await page.screenshot(path=SCREENSHOT)
            await browser.close()
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
    if SCREENSHOT:
        assert _size(SCREENSHOT) > 10_000


def _size(path: str) -> int:
    return Path(path).stat().st_size
