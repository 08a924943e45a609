"""A news site whose urgent bar a script fills, and an intranet it must never reach; and the
browser's processes, for tests and bench/bench_render.py.

The homepage holds an empty urgent bar (as kifache's does); 300 ms after it loads, its script
asks /api/urgent and fills the bar. It also tries what a hostile page would: a request to a
private address that is not a configured source (the intranet server), a redirect there, a web
socket there, images and a font. Every headline here was written for these tests.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
URGENT = [
    ("/news/901", "زلزال بقوة خمس درجات يضرب سواحل المدينة الشمالية"),
    ("/news/902", "تعليق الرحلات الجوية في المطار الدولي بسبب العاصفة"),
]
HEADLINES = [
    ("/news/801", "افتتاح المعرض الدولي للكتاب بمشاركة واسعة"),
    ("/news/802", "المجلس البلدي يناقش ميزانية السنة المقبلة"),
]
FILL_AFTER_MS = 300


def homepage(intranet: str, extra_body: str = "", filler: str | None = None) -> str:
    """The homepage: an empty urgent bar that its script fills, headlines, and the hostile
    requests aimed at `intranet` (http://127.0.0.1:PORT)."""
    headlines = "".join(
        f'<article><h2><a href="{u}">{t}</a></h2><img src="/img/{n}.jpg" alt=""></article>'
        for n, (u, t) in enumerate(HEADLINES)
    )
    wsurl = intranet.replace("http://", "ws://")
    script = filler or (
        "setTimeout(function () {"
        " fetch('/api/urgent').then(function (r) { return r.json(); }).then(function (list) {"
        "  var bar = document.querySelector('.dataAlter');"
        "  list.forEach(function (e) { var a = document.createElement('a');"
        "   a.href = e.url; a.textContent = e.title; bar.appendChild(a); });"
        " });"
        f"}}, {FILL_AFTER_MS});"
    )
    return (
        '<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        "<title>موقع الأخبار</title>"
        "<style>@font-face{font-family:n;src:url(/font.woff2)} body{font-family:n}</style>"
        '</head><body><nav><a href="/">الرئيسية</a></nav>'
        '<div class="urgent"><span class="urgent-title">عاجل</span>'
        '<div class="dataAlter"></div></div>'
        f"<main>{headlines}</main>{extra_body}"
        f"<script>{script}"
        f"fetch('{intranet}/secret').catch(function () {{}});"
        "fetch('/hop').catch(function () {});"
        f"try {{ new WebSocket('{wsurl}/socket'); }} catch (e) {{}}"
        "</script></body></html>"
    )


@dataclass
class Site:
    base: str = ""
    intranet: str = ""
    page: str | None = None  # served instead of homepage() when set
    requests: list[str] = field(default_factory=list)
    intranet_requests: list[str] = field(default_factory=list)

    async def home(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(
            text=self.page or homepage(self.intranet), content_type="text/html", charset="utf-8"
        )

    async def urgent(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        entries = [{"url": u, "title": t} for u, t in URGENT]
        return web.Response(text=json.dumps(entries), content_type="application/json")

    async def hop(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        raise web.HTTPFound(f"{self.intranet}/from-hop")

    async def busy(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        spin = "setTimeout(function () { for (;;) {} }, 50);"
        return web.Response(
            text=homepage(self.intranet, filler=spin), content_type="text/html", charset="utf-8"
        )

    async def anything(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(body=b"\x00" * 64, content_type="application/octet-stream")

    async def inside(self, request: web.Request) -> web.Response:
        self.intranet_requests.append(request.path)
        return web.Response(text="secret")


@asynccontextmanager
async def serve() -> AsyncIterator[Site]:
    """The site and the intranet, each on its own 127.0.0.1 port."""
    site = Site()
    app = web.Application()
    app.router.add_get("/", site.home)
    app.router.add_get("/busy", site.busy)
    app.router.add_get("/api/urgent", site.urgent)
    app.router.add_get("/hop", site.hop)
    app.router.add_get("/{tail:.*}", site.anything)
    intranet = web.Application()
    intranet.router.add_route("*", "/{tail:.*}", site.inside)
    runners = [web.AppRunner(app), web.AppRunner(intranet)]
    ports = []
    for runner in runners:
        await runner.setup()
        tcp = web.TCPSite(runner, "127.0.0.1", 0)
        await tcp.start()
        ports.append(tcp._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    site.base, site.intranet = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        yield site
    finally:
        for runner in runners:
            await runner.cleanup()


# -- the browser's processes (Linux /proc) -------------------------------------------------------


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int | None = None) -> list[int]:
    """The processes started, directly or not, by `root` (default: this process)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = _parent(int(entry))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _is_chromium(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return b"chrom" in os.path.basename(command)


def browser_processes() -> list[int]:
    """Chromium's processes under this one (the browser, its renderers and helpers)."""
    return [pid for pid in descendants() if _is_chromium(pid)]


def browser_main() -> int | None:
    """The browser's own process: a chromium whose parent is not a chromium."""
    for pid in browser_processes():
        parent = _parent(pid)
        if parent is None or not _is_chromium(parent):
            return pid
    return None


def resident_bytes(pids: list[int]) -> int:
    """The memory these processes hold together: their proportional set sizes summed (PSS,
    /proc/PID/smaps_rollup: a page shared by n processes counts 1/n in each), so pages that
    Chromium's processes share are counted once."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total
