"""Script-rendered pages: a homepage read after its scripts ran, in headless Chromium.

For `render = true` sources. Playwright drives Debian's chromium (`apt-get install chromium`;
no browser is ever downloaded); Playwright itself is the optional extra `ajil[render]`. One
browser serves every rendered source: started at the first render, restarted when it crashed,
closed by `Renderer.aclose`. Each render gets a fresh context (no cookies or storage carried
from one poll to the next) closed when it ends, and at most MAX_RENDERS run at once.

The page's own requests obey the fetch policy (bot/news/netguard.py) exactly as polls do,
because Chromium makes none of them itself: a route handler hands every one to
bot/news/pagerequests.py, which makes it over the same guarded transport, and anything no
handler answers goes to a proxy address that refuses connections; web sockets are refused. A
render takes at most RENDER_TIMEOUT seconds; V8's heap is capped so that a page that hoards
memory crashes its own renderer, not the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot import __version__
from bot.news.fetch import MAX_BYTES
from bot.news.netguard import FetchPolicy
from bot.news.pagerequests import MAX_RENDER_BYTES, PageBudget, PageRequests

log = logging.getLogger(__name__)

CHROMIUM_ENV = "AJIL_CHROMIUM"  # a chromium binary elsewhere than on PATH
RENDER_TIMEOUT = 20.0  # seconds for one render, from navigation to the DOM read
# A page is read once its network has been idle and its DOM unchanged for QUIET seconds, but
# not before MIN_WAIT after it was parsed (a script's first timer, such as a bar filled after
# 300 ms, gets its chance), and at the latest at the timeout, as it is then.
QUIET = 0.5
MIN_WAIT = 1.0
MAX_RENDERS = 2  # at once; the others wait their turn
HEAP_MB = 256  # V8's old space per renderer process
# Time since the DOM last changed, in milliseconds, for the settle loop.
_QUIET_SCRIPT = """(() => {
  let last = performance.now();
  new MutationObserver(() => { last = performance.now(); })
    .observe(document, {subtree: true, childList: true, characterData: true});
  Object.defineProperty(window, "__ajilQuiet", {value: () => performance.now() - last});
})();"""


class RenderError(Exception):
    """A render that failed; `reason` is short and safe to show to an operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RenderUnavailable(Exception):
    """Rendering cannot work on this machine: Playwright or chromium is missing."""


@dataclass(frozen=True)
class Rendered:
    """The DOM of a page after its scripts ran, serialized, and what the render cost.

    `requests`: the page's requests answered; `blocked`: left unanswered by kind (images,
    media, fonts, sockets, subframes) or over a limit; `refused`: URLs the fetch policy
    refused; `seconds`: wall time of the render; `settled`: False when the page was still busy
    at the timeout (read as it was)."""

    url: str
    html: str
    requests: int
    blocked: int
    refused: tuple[str, ...]
    seconds: float
    settled: bool


class PageRenderer(Protocol):
    async def render(
        self, url: str, body: bytes, content_type: str | None, charset: str | None
    ) -> Rendered:
        """The page at `url`, whose document is `body` (already fetched), after its scripts
        ran. Raises RenderError."""
        ...


def find_chromium(env: Mapping[str, str] | None = None) -> str | None:
    """The chromium binary: AJIL_CHROMIUM if set, else `chromium` or `chromium-browser` on PATH."""
    env = os.environ if env is None else env
    if env.get(CHROMIUM_ENV):
        path = env[CHROMIUM_ENV]
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_available(env: Mapping[str, str] | None = None) -> str:
    """The chromium binary to use; raises RenderUnavailable naming what to install."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright (pip install 'ajil[render]')")
    chromium = find_chromium(env)
    if chromium is None:
        where = (os.environ if env is None else env).get(CHROMIUM_ENV)
        missing.append(
            f"chromium ({CHROMIUM_ENV}={where} is not an executable file)"
            if where
            else "chromium (Debian's package: apt-get install chromium)"
        )
    if missing:
        raise RenderUnavailable(
            "render = true needs " + " and ".join(missing) + "; Ajil never downloads a browser"
        )
    assert chromium is not None
    return chromium


class Renderer:
    """The shared headless browser. Use one per process, where sources are polled."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        executable: str | None = None,
        timeout: float = RENDER_TIMEOUT,
        concurrency: int = MAX_RENDERS,
        max_bytes: int = MAX_RENDER_BYTES,
    ) -> None:
        """`policy`: the fetch policy every request of a rendered page obeys (the configured
        sources' origins trusted, as for polls). `executable`: chromium's path (default:
        `check_available()`'s answer at the first render)."""
        self.policy = policy
        self.executable = executable
        self.timeout = timeout
        self.launches = 0  # how many times a browser was started (a restart counts)
        self._slots = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._blackhole: socket.socket | None = None
        self._requests = PageRequests(policy, timeout=timeout, max_bytes=max_bytes)

    async def aclose(self) -> None:
        """Close the browser, its driver and the client of the pages' requests."""
        async with self._lock:
            await self._stop()
        await self._requests.aclose()

    async def render(
        self, url: str, body: bytes, content_type: str | None, charset: str | None
    ) -> Rendered:
        """See `PageRenderer.render`: at most `timeout` seconds from the navigation on."""
        async with self._slots:
            browser = await self._running_browser()
            started = time.monotonic()
            mime = content_type or "text/html"
            budget = PageBudget(
                url,
                body,
                f"{mime}; charset={charset}" if charset else mime,
                started + self.timeout,
            )
            try:
                context = await browser.new_context(
                    service_workers="block",
                    user_agent=f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
                    f"like Gecko) Chrome/{browser.version} Safari/537.36 Ajil/{__version__}",
                    locale="ar",
                    viewport={"width": 1280, "height": 1600},
                    accept_downloads=False,
                )
            except Exception as exc:
                self._forget_browser()
                raise RenderError(
                    f"Chromium stopped ({_short(exc)}); it restarts next time"
                ) from None
            try:
                return await self._render(context, budget, started)
            finally:
                with contextlib.suppress(Exception):
                    await context.close()

    async def _render(self, context: Any, budget: PageBudget, started: float) -> Rendered:
        from playwright.async_api import Error as PlaywrightError

        await context.add_init_script(_QUIET_SCRIPT)
        await context.route("**/*", lambda route: self._requests.answer(route, budget))
        await context.route_web_socket("**/*", _refuse_socket)
        page = await context.new_page()
        page.on("crash", lambda _: setattr(budget, "crashed", True))
        settled = False
        try:
            async with asyncio.timeout(self.timeout):
                await page.goto(budget.url, wait_until="domcontentloaded")
                settled = await self._settle(page, budget)
                html = await _content(page)
        except TimeoutError:
            raise RenderError(f"the page did not render within {self.timeout:g} s") from None
        except PlaywrightError as exc:
            if budget.crashed:
                raise RenderError("the page crashed Chromium's renderer (out of memory?)") from None
            if not self._alive():
                self._forget_browser()
                raise RenderError(
                    "Chromium stopped during the render; it restarts next time"
                ) from None
            raise RenderError(f"Chromium could not render the page ({_short(exc)})") from None
        if len(html) > MAX_BYTES:
            raise RenderError(f"the rendered page is too large (over {MAX_BYTES // 2**20} MB)")
        if budget.refused:
            log.info(
                "%s: the fetch policy refused %d request(s) of the page, such as %s",
                budget.url,
                len(budget.refused),
                budget.refused[0],
            )
        return Rendered(
            url=budget.url,
            html=html,
            requests=budget.requests,
            blocked=budget.blocked,
            refused=tuple(budget.refused),
            seconds=time.monotonic() - started,
            settled=settled,
        )

    async def _settle(self, page: Any, budget: PageBudget) -> bool:
        """Wait until the page is quiet (see QUIET, MIN_WAIT); False if the deadline came first."""
        from playwright.async_api import Error as PlaywrightError

        parsed = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= budget.deadline - 0.2:  # keep a moment to read the DOM
                return False
            if (
                now - parsed >= MIN_WAIT
                and budget.in_flight == 0
                and now - budget.last_network >= QUIET
            ):
                try:
                    quiet_ms = await page.evaluate("window.__ajilQuiet()")
                except PlaywrightError:
                    quiet_ms = 0  # navigating to another document: not quiet yet
                if quiet_ms >= QUIET * 1000:
                    return True
            await asyncio.sleep(0.1)

    # -- the browser -----------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    def _forget_browser(self) -> None:
        # Started again, with a new driver, by the next render.
        self._browser = None

    async def _running_browser(self) -> Any:
        async with self._lock:
            if self._alive():
                return self._browser
            await self._stop()
            executable = self.executable or check_available()
            try:
                from playwright.async_api import async_playwright

                self._playwright = await async_playwright().start()
                self._blackhole = _closed_port()
                port = self._blackhole.getsockname()[1]
                self._browser = await self._playwright.chromium.launch(
                    executable_path=executable,
                    args=_chromium_args(port),
                    timeout=30_000,
                    # Ajil handles its own signals and closes the browser on the way out.
                    handle_sigint=False,
                    handle_sigterm=False,
                    handle_sighup=False,
                )
            except RenderUnavailable:
                raise
            except Exception as exc:
                await self._stop()
                raise RenderError(f"cannot start Chromium ({_short(exc)})") from None
            self.launches += 1
            if self.launches > 1:
                log.warning("Chromium was restarted (start number %d)", self.launches)
            return self._browser

    async def _stop(self) -> None:
        browser, playwright, blackhole = self._browser, self._playwright, self._blackhole
        self._browser = self._playwright = self._blackhole = None
        if browser is not None:
            with contextlib.suppress(Exception):
                await browser.close()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()
        if blackhole is not None:
            blackhole.close()


async def _refuse_socket(socket_route: Any) -> None:
    # Not connected to any server: the page's web socket is closed at once.
    with contextlib.suppress(Exception):
        await socket_route.close(code=1008, reason="refused by Ajil")


async def _content(page: Any) -> str:
    """The DOM as HTML; a page that is navigating gets three short chances to finish."""
    from playwright.async_api import Error as PlaywrightError

    for attempt in range(3):
        try:
            return str(await page.content())
        except PlaywrightError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


def _closed_port() -> socket.socket:
    """A loopback port bound but not listening: nothing else can take it, and every connection
    to it is refused. Chromium's proxy points there, so a request no route answered fails."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _chromium_args(proxy_port: int) -> list[str]:
    args = [
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",  # loopback included: nothing bypasses the proxy
        "--dns-prefetch-disable",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        f"--js-flags=--max-old-space-size={HEAP_MB}",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--mute-audio",
        # No user data lives in this browser; one renderer per page instead of per site.
        "--disable-site-isolation-trials",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to start as root with its sandbox; a root deployment loses it.
        args.append("--no-sandbox")
    return args


def _short(exc: Exception) -> str:
    text = (str(exc) or type(exc).__name__).splitlines()[0]
    return text if len(text) <= 100 else text[:97] + "..."
