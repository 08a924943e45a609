"""Script-rendered pages: a homepage read after its scripts ran, in headless Chromium.

For `render = true` sources. Playwright drives Debian's chromium (`apt-get install chromium`;
no browser is ever downloaded); Playwright itself is the optional extra `ajil[render]`. One
browser serves every rendered source: started at the first render, restarted when it crashed,
closed by `Renderer.aclose`. Each render gets a fresh context (no cookies or storage carried
from one poll to the next) closed when it ends, and at most MAX_RENDERS run at once.

The page's own requests obey the fetch policy (bot/news/netguard.py) exactly as polls do,
because Chromium makes none of them itself: a route handler answers every request, through an
httpx client over the same guarded transport (the address checked is the address connected
to, on every redirect hop), and anything the handler does not answer goes to a proxy address
that refuses connections. Images, media and fonts are never fetched; web sockets, event
streams and subframe documents neither (the parsers read the main document only). A render
costs at most RENDER_TIMEOUT seconds, MAX_REQUESTS requests and MAX_RENDER_BYTES bytes in all;
V8's heap is capped so that a page that hoards memory crashes its own renderer, not the host.
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
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from bot import __version__
from bot.news.fetch import MAX_BYTES, BoundedDecoder, FetchError, GuardedTransport
from bot.news.netguard import FetchPolicy, Refused

log = logging.getLogger(__name__)

CHROMIUM_ENV = "AJIL_CHROMIUM"  # a chromium binary elsewhere than on PATH
RENDER_TIMEOUT = 20.0  # seconds for one render, from navigation to the DOM read
# A page is read once its network has been idle and its DOM unchanged for QUIET seconds, but
# not before MIN_WAIT after it was parsed (a script's first timer, such as a bar filled after
# 300 ms, gets its chance), and at the latest at the timeout, as it is then.
QUIET = 0.5
MIN_WAIT = 1.0
MAX_RENDERS = 2  # at once; the others wait their turn
MAX_REQUESTS = 300  # per render
MAX_RENDER_BYTES = 20 * 1024 * 1024  # all responses of one render, decoded
HEAP_MB = 256  # V8's old space per renderer process
BLOCKED_TYPES = frozenset({"image", "media", "font", "texttrack", "manifest", "eventsource"})
_HOP_BY_HOP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
    }
)
_NOT_PASSED_BACK = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
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
        where = (env or os.environ).get(CHROMIUM_ENV)
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


@dataclass
class _Budget:
    """What one render has spent so far."""

    url: str
    body: bytes
    content_type: str
    deadline: float
    requests: int = 0
    blocked: int = 0
    bytes: int = 0
    in_flight: int = 0
    last_network: float = field(default_factory=time.monotonic)
    refused: list[str] = field(default_factory=list)
    served_document: bool = False
    crashed: bool = False


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
        self.max_bytes = max_bytes
        self.launches = 0  # how many times a browser was started (a restart counts)
        self._slots = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._blackhole: socket.socket | None = None
        self._client = httpx.AsyncClient(
            follow_redirects=True,  # every hop's connection goes through the guarded transport
            max_redirects=5,
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=GuardedTransport(policy),
            trust_env=False,
        )

    async def aclose(self) -> None:
        """Close the browser, its driver and the client of the pages' requests."""
        async with self._lock:
            await self._stop()
        await self._client.aclose()

    async def render(
        self, url: str, body: bytes, content_type: str | None, charset: str | None
    ) -> Rendered:
        """See `PageRenderer.render`: at most `timeout` seconds from the navigation on."""
        async with self._slots:
            browser = await self._running_browser()
            started = time.monotonic()
            mime = content_type or "text/html"
            budget = _Budget(
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

    async def _render(self, context: Any, budget: _Budget, started: float) -> Rendered:
        from playwright.async_api import Error as PlaywrightError

        await context.add_init_script(_QUIET_SCRIPT)
        await context.route("**/*", lambda route: self._answer(route, budget))
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

    async def _settle(self, page: Any, budget: _Budget) -> bool:
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

    async def _answer(self, route: Any, budget: _Budget) -> None:
        """Answer one request of the page: its document from what was fetched, the rest through
        the guarded client, or not at all."""
        from playwright.async_api import Error as PlaywrightError

        request = route.request
        try:
            if request.resource_type in BLOCKED_TYPES or (
                request.resource_type == "document" and request.frame.parent_frame is not None
            ):
                budget.blocked += 1
                await route.abort("blockedbyclient")
                return
            if (
                not budget.served_document
                and request.is_navigation_request()
                and request.frame.parent_frame is None
            ):
                # The document itself, as the poll fetched it: not asked for twice.
                budget.served_document = True
                await route.fulfill(
                    status=200, headers={"content-type": budget.content_type}, body=budget.body
                )
                return
            if budget.requests >= MAX_REQUESTS or budget.bytes >= self.max_bytes:
                budget.blocked += 1
                await route.abort("blockedbyclient")
                return
            budget.requests += 1
            budget.in_flight += 1
            try:
                answer = await self._forward(request, budget)
            finally:
                budget.in_flight -= 1
                budget.last_network = time.monotonic()
            if answer is None:
                await route.abort("failed")
            elif isinstance(answer, str):
                await route.abort(answer)
            else:
                status, headers, body = answer
                await route.fulfill(status=status, headers=headers, body=body)
        except PlaywrightError:
            pass  # the page or context closed meanwhile: nobody is waiting for the answer

    async def _forward(
        self, request: Any, budget: _Budget
    ) -> tuple[int, dict[str, str], bytes] | str | None:
        """The page's request made through the guarded client: (status, headers, body), or an
        abort reason ("blockedbyclient" when refused), or None when it failed."""
        try:
            self.policy.check_url(request.url)
        except Refused:
            budget.refused.append(request.url)
            return "blockedbyclient"
        headers = {
            k: v for k, v in (await request.all_headers()).items() if k.lower() not in _HOP_BY_HOP
        }
        headers["accept-encoding"] = "gzip, deflate"
        outgoing = self._client.build_request(
            request.method, request.url, headers=headers, content=request.post_data_buffer
        )
        remaining = budget.deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            async with asyncio.timeout(remaining):
                response = await self._client.send(outgoing, stream=True)
                try:
                    limit = min(MAX_BYTES, self.max_bytes - budget.bytes)
                    decoder = BoundedDecoder(response.headers.get("Content-Encoding"), limit)
                    chunks: list[bytes] = []
                    async for raw in response.aiter_raw():
                        for chunk in decoder.feed(raw):
                            budget.bytes += len(chunk)
                            chunks.append(chunk)
                    chunks.extend(decoder.flush())
                finally:
                    await response.aclose()
        except Refused:
            budget.refused.append(request.url)
            return "blockedbyclient"
        except (httpx.HTTPError, FetchError, TimeoutError) as exc:
            log.debug("%s: %s failed: %s", budget.url, request.url, _short(exc))
            return None
        passed: dict[str, str] = {}
        for key, value in response.headers.multi_items():
            key = key.lower()
            if key in _NOT_PASSED_BACK:
                continue
            # Playwright takes several Set-Cookie values on separate lines of one header.
            passed[key] = f"{passed[key]}\n{value}" if key in passed else value
        return response.status_code, passed, b"".join(chunks)

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
