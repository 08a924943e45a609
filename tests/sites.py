"""Test web sites on 127.0.0.1: the ticker markups of common themes, encodings, and faults.

Every headline here was written for these tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aiohttp import web

TICKER = [
    ("/news/1", "انقطاع الكهرباء عن أحياء وسط المدينة"),
    ("/news/2", "إغلاق الطريق الساحلية بسبب انهيار صخري"),
]
HEADLINES = [
    ("/news/3", "افتتاح مكتبة وسائطية جديدة بحي الأمل"),
    ("/news/4", "مجلس المدينة يصادق على برنامج تأهيل الأسواق"),
]


# The labels of issue 10: blocks introduced by these are urgent...
URGENT_LABELS = [
    "عاجل",
    "عاجل الآن",
    "خبر عاجل",
    "أخبار عاجلة",
    "Breaking",
    "Breaking news",
    "Urgent",
    "Flash",
    "Dernière minute",
    "Alerte",
]
# ...and blocks introduced by these list ordinary headlines, whatever their class names say.
HEADLINE_LABELS = [
    "آخر الأخبار",
    "أخر الأخبار",
    "الأكثر قراءة",
    "الأكثر مشاهدة",
    "شريط الأحداث",
    "شريط الأخبار",
    "Trending",
    "Latest",
    "À la une",
    "Les plus lus",
]


def _links(items: list[tuple[str, str]], wrap: str = "li") -> str:
    return "".join(f'<{wrap}><a href="{u}">{t}</a></{wrap}>' for u, t in items)


def _page(ticker_html: str, extra_head: str = "") -> str:
    headlines = "".join(
        f'<article><h2 class="entry-title"><a href="{u}">{t}</a></h2></article>'
        for u, t in HEADLINES
    )
    return (
        f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">{extra_head}'
        '</head><body><nav><a href="/section/urgent">عاجل</a><a href="/">الرئيسية</a></nav>'
        f"{ticker_html}<main>{headlines}</main><footer>© 2026</footer></body></html>"
    )


THEMES = {
    # Jannah (WordPress)
    "jannah": '<div id="tie-breaking" class="breaking-news"><span class="breaking-title">عاجل'
    f'</span><ul id="breaking-news-in-header" class="breaking-news">{_links(TICKER)}</ul></div>',
    # JNews
    "jnews": '<div class="jeg_breakingnews clearfix"><div class="jeg_breakingnews_title">'
    f'عاجل</div><div class="jeg_news_ticker"><div class="jeg_news_ticker_items">'
    f"{_links(TICKER, 'div')}</div></div></div>",
    # tagDiv Newspaper
    "tagdiv": '<div class="td-trending-now-wrapper"><div class="td-trending-now-title">'
    f'عاجل</div><div class="td-trending-now-display-area">{_links(TICKER, "div")}</div></div>',
    # Sputnik
    "sputnik": '<div class="b-breakingnews-double"><ul class="b-breakingnews-double__list">'
    + "".join(
        f'<li class="b-breakingnews-double__message" data-list="عاجل"><span> عاجل </span>'
        f'<a href="{u}">{t}</a></li>'
        for u, t in TICKER
    )
    + "</ul></div>",
    # No telling class names at all: only the label says it.
    "labelled": '<div class="x9 k2"><strong>عاجل</strong><div class="q7">'
    f"{_links(TICKER, 'p')}</div></div>",
    # No label: headlines, unless a ticker_selector names the block.
    "marquee": f'<marquee direction="right">{_links(TICKER, "span")}</marquee>',
    "custom": f'<section class="top-strip-77">{_links(TICKER, "span")}</section>',
    # Named like a ticker, labelled "latest news": headlines.
    "latest": '<div class="breaking-news"><span class="breaking-title">آخر الأخبار</span>'
    f"<ul>{_links(TICKER)}</ul></div>",
    # Real urgent bars whose entries have no usable link.
    "textonly": '<div class="urgent-bar"><span>عاجل</span><ul>'
    + "".join(f"<li>{t}</li>" for _, t in TICKER)
    + "</ul></div>",
    "jsbar": '<div class="alerts"><b>خبر عاجل</b>'
    + "".join(f'<a href="javascript:void(0)">{t}</a>' for _, t in TICKER)
    + "</div>",
    # kifache: the urgent block is in the page, its entries come later from a script.
    "empty": '<div class="urgent"><span class="urgent-title">عاجل</span>'
    '<div class="dataAlter"></div></div>',
    # A latest-news list whose cards show the time: a clock alone (the site's), a relative one.
    "timed": '<div class="latest-box"><span>آخر الأخبار</span><ul>'
    f'<li><span class="time">10:05</span><a href="{TICKER[0][0]}">{TICKER[0][1]}</a></li>'
    f'<li><time>منذ 20 دقيقة</time><a href="{TICKER[1][0]}">{TICKER[1][1]}</a></li></ul></div>',
}

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>موقع الاختبار</title>
<item><title>عاجل | حريق في مستودع بالمنطقة الصناعية</title><link>{base}/news/5?utm_source=rss</link>
<guid>{base}/news/5</guid><pubDate>Sun, 29 Nov 2026 09:15:00 +0100</pubDate>
<category>حوادث</category><media:content url="{base}/img/5.jpg" medium="image"/></item>
<item><title>انقطاع الكهرباء عن أحياء وسط المدينة</title><link>{base}/news/1</link>
<pubDate>الأحد 29 نونبر 2026 على الساعة 09:00</pubDate><category>عاجل</category></item>
<item><title>ندوة حول الثقافة الأمازيغية بدار الشباب</title><link>{base}/news/6</link>
<pubDate>Sun, 29 Nov 2026 08:00:00 +0100</pubDate><category>ثقافة</category></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>موقع الاختبار</title><id>urn:test</id>
<updated>2026-11-29T09:00:00Z</updated>
<entry><title type="html">تلاميذ يتوجون &lt;b&gt;بجائزة&lt;/b&gt; في البرمجة</title>
<link href="/news/7"/><id>urn:test:7</id><updated>2026-11-29T08:30:00+01:00</updated></entry>
<entry><title>Urgent : séisme ressenti dans la région</title><link href="/news/8"/>
<id>urn:test:8</id><published>2026-11-29T08:45:00+01:00</published></entry>
</feed>"""

RSS1 = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/"><title>اختبار</title><link>{base}/</link><description>x</description></channel>
<item rdf:about="{base}/news/9"><title>قافلة طبية لفائدة القرى المجاورة</title><link>{base}/news/9</link>
<dc:date>2026-11-29T07:00:00+01:00</dc:date></item></rdf:RDF>"""

RSS091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>اختبار</title>
<link>{base}/</link><description>x</description><language>ar</language>
<item><title>حملة للتبرع بالدم في ساحة الاستقلال</title><link>{base}/news/10</link></item>
</channel></rss>"""

WORDPRESS = [
    {
        "id": 11,
        "date_gmt": "2026-11-29T08:10:00",
        "link": "{base}/news/11",
        "title": {"rendered": "الحكومة &#8220;تصادق&#8221; على مرسوم الدعم"},
        "excerpt": {"rendered": "<p>صادق المجلس على المرسوم&hellip;</p>"},
        "_embedded": {"wp:term": [[{"name": "أخبار عاجلة"}], [{"name": "سياسة"}]]},
        "jetpack_featured_media_url": "{base}/img/11.jpg",
    },
    {
        "id": 12,
        "date_gmt": "2026-11-29T07:50:00",
        "link": "{base}/news/12",
        "title": {"rendered": "الفريق المحلي يفوز خارج ميدانه"},
        "_embedded": {"wp:term": [[{"name": "رياضة"}]]},
    },
]

LEGACY_ARABIC = (
    "<html><head><title>اختبار الترميز</title></head><body dir='rtl'>"
    "<div class='breaking-news'><span>عاجل</span>"
    "<a href='/news/13'>تعليق الرحلات في المطار بسبب الضباب الكثيف</a></div>"
    "<h2><a href='/news/14'>ارتفاع عدد زوار المدينة خلال العطلة الصيفية</a></h2></body></html>"
)


def build_app() -> web.Application:
    app = web.Application()

    def base(request: web.Request) -> str:
        return f"http://{request.host}"

    async def theme(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in THEMES:
            raise web.HTTPNotFound()
        head = f'<link rel="alternate" type="application/rss+xml" href="/{name}/rss">'
        return web.Response(text=_page(THEMES[name], head), content_type="text/html")

    async def theme_feed(request: web.Request) -> web.Response:
        return web.Response(text=RSS.format(base=base(request)), content_type="application/rss+xml")

    async def nofeed(_: web.Request) -> web.Response:
        return web.Response(text=_page(THEMES["jannah"]), content_type="text/html")

    async def text(body: str, kind: str) -> web.Response:
        return web.Response(text=body, content_type=kind)

    async def rss(request: web.Request) -> web.Response:
        return await text(RSS.format(base=base(request)), "application/rss+xml")

    async def atom(request: web.Request) -> web.Response:
        return await text(ATOM, "application/atom+xml")

    async def rss1(request: web.Request) -> web.Response:
        return await text(RSS1.format(base=base(request)), "application/rdf+xml")

    async def rss091(request: web.Request) -> web.Response:
        return await text(RSS091.format(base=base(request)), "text/xml")

    async def wp_posts(request: web.Request) -> web.Response:
        body = json.dumps(WORDPRESS).replace("{base}", base(request))
        return web.Response(text=body, content_type="application/json")

    async def cp1256(_: web.Request) -> web.Response:
        # No charset anywhere: neither header nor meta.
        return web.Response(body=LEGACY_ARABIC.encode("cp1256"), content_type="text/html")

    async def iso6(_: web.Request) -> web.Response:
        return web.Response(
            body=LEGACY_ARABIC.encode("iso8859_6"),
            headers={"Content-Type": "text/html; charset=ISO-8859-6"},
        )

    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(text="late")

    async def error500(_: web.Request) -> web.Response:
        return web.Response(status=500, text="Internal Server Error")

    async def conditional(request: web.Request) -> web.Response:
        headers = {"ETag": '"v1"', "Last-Modified": "Sun, 29 Nov 2026 08:00:00 GMT"}
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers=headers)
        return web.Response(
            text=RSS.format(base=base(request)), headers=headers, content_type="application/rss+xml"
        )

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        chunk = b"<p>" + b"x" * 65_536 + b"</p>"
        try:
            for _ in range(200):  # about 13 MB, unless the client hangs up first
                await response.write(chunk)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async def garbage(_: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * 64, content_type="application/rss+xml")

    async def malformed(_: web.Request) -> web.Response:
        return web.Response(text="<rss><channel><title>x</tit", content_type="application/rss+xml")

    async def loop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def hop(request: web.Request) -> web.Response:
        left = int(request.match_info["n"])
        if left == 0:
            return await rss(request)
        raise web.HTTPFound(f"/hop/{left - 1}")

    in_flight = {"now": 0, "max": 0}

    async def held(_: web.Request) -> web.Response:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        await asyncio.sleep(0.2)
        in_flight["now"] -= 1
        return web.Response(text=str(in_flight["max"]))

    async def user_agent(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("User-Agent", ""))

    app.router.add_get("/held", held)
    app.router.add_get("/ua", user_agent)
    app.router.add_get("/theme/{name}/", theme)
    app.router.add_get("/{name}/rss", theme_feed)
    app.router.add_get("/nofeed/", nofeed)
    app.router.add_get("/rss", rss)
    app.router.add_get("/atom", atom)
    app.router.add_get("/rss1", rss1)
    app.router.add_get("/rss091", rss091)
    app.router.add_get("/wp/wp-json/wp/v2/posts", wp_posts)
    app.router.add_get("/cp1256/", cp1256)
    app.router.add_get("/iso6/", iso6)
    app.router.add_get("/slow", slow)
    app.router.add_get("/error500", error500)
    app.router.add_get("/conditional", conditional)
    app.router.add_get("/huge", huge)
    app.router.add_get("/garbage", garbage)
    app.router.add_get("/malformed", malformed)
    app.router.add_get("/loop", loop)
    app.router.add_get("/hop/{n}", hop)
    return app


@asynccontextmanager
async def serve() -> AsyncIterator[str]:
    """Run the test sites; yields their base URL (http://127.0.0.1:PORT)."""
    runner = web.AppRunner(build_app(), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class RotatingHomepage:
    """A homepage whose «آخر الأخبار» bar shows new headlines at every request, beside a real
    «عاجل» block that changes only when `break_news` is called; article pages carry the current
    time, as a live site's do. `requests` counts the homepage's requests (the bot's polls)."""

    def __init__(self) -> None:
        self.requests = 0
        self.urgent: list[tuple[str, str]] = [("/news/9000", "تساقطات ثلجية على المرتفعات")]
        self.shown: set[str] = set()  # every «آخر الأخبار» headline served so far
        self._runner: web.AppRunner | None = None
        self.url = ""

    def break_news(self, path: str, title: str) -> None:
        self.urgent.insert(0, (path, title))

    def _latest(self) -> list[tuple[str, str]]:
        start = self.requests * 3
        return [
            (f"/news/{5000 + k}", f"قافلة طبية رقم {k} تزور قرى الإقليم")
            for k in range(start, start + 3)
        ]

    async def _home(self, _: web.Request) -> web.Response:
        self.requests += 1
        latest = self._latest()
        self.shown.update(t for _, t in latest)
        body = (
            '<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"></head><body>'
            '<div class="news-ticker breaking"><span class="ticker-title">آخر الأخبار</span>'
            f"<ul>{_links(latest)}</ul></div>"
            '<div id="urgent-bar" class="urgent"><span class="label">عاجل</span>'
            f"<ul>{_links(self.urgent)}</ul></div>"
            "<main>"
            + "".join(
                f'<article><h2 class="entry-title"><a href="{u}">{t}</a></h2></article>'
                for u, t in HEADLINES
            )
            + "</main></body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    async def _article(self, request: web.Request) -> web.Response:
        now = datetime.now(UTC).isoformat()
        body = (
            f'<html><head><meta property="article:published_time" content="{now}"></head>'
            f"<body><h1>خبر {request.match_info['n']}</h1><p>نص الخبر.</p></body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._home)
        app.router.add_get("/news/{n}", self._article)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
