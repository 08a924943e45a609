"""Test sites on 127.0.0.1 that behave as real ones do in other feed readers' bug reports: bot
challenges served with 200, meta-refresh stubs, redirect bodies, script-rendered shells,
WordPress sites that announce their REST API, feeds in windows-1256 or with a BOM that
contradicts their declaration, long feeds listed oldest first, clocks running ahead, guids that
change, and feed bodies that look like a URL or a file path.

Every text here was written for these tests. `Wild` holds what the sites serve; tests change it
between polls.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from aiohttp import web

HEADLINES = [
    (
        "/article/new-vegetable-market-east-district",
        "افتتاح سوق نموذجي جديد لبائعي الخضر بالحي الشرقي",
    ),
    (
        "/article/municipal-library-extends-opening-hours",
        "المكتبة البلدية تمدد ساعات العمل خلال فترة الامتحانات",
    ),
]
URGENT = [("/article/storm", "عاصفة رعدية قوية تضرب الساحل الشمالي هذا المساء")]
REST_POSTS = [
    ("/article/budget", "المجلس الجماعي يصادق على ميزانية السنة المقبلة", "سياسة"),
    ("/article/bridge", "فتح القنطرة الجديدة أمام حركة السير بعد أشهر من الأشغال", "عاجل"),
]
SECRET_TITLE = "عنوان من ملف محلي لا يجوز أن يقرأه البوت أبدا"


def news_page(
    urgent: list[tuple[str, str]],
    headlines: list[tuple[str, str]] = HEADLINES,
    head: str = "",
) -> str:
    """A homepage: an urgent bar labelled «عاجل» (Jannah's markup) and headlines in h2."""
    bar = "".join(f'<li><a href="{u}">{t}</a></li>' for u, t in urgent)
    listing = "".join(
        f'<article><h2 class="entry-title"><a href="{u}">{t}</a></h2>'
        f"<p>ملخص قصير للخبر يكتبه المحرر لقراء الموقع كل صباح.</p></article>"
        for u, t in headlines
    )
    return (
        f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        f"<title>موقع المدينة</title>{head}</head><body>"
        '<nav><a href="/">الرئيسية</a><a href="/category/sport">رياضة</a></nav>'
        '<div class="breaking-news"><span class="breaking-title">عاجل</span>'
        f'<ul class="breaking-news">{bar}</ul></div><main>{listing}</main>'
        "<footer>© 2026 موقع المدينة</footer></body></html>"
    )


def article_page(title: str, published: datetime | None) -> str:
    meta = (
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        if published
        else ""
    )
    return (
        f'<!doctype html><html lang="ar"><head><meta charset="utf-8">{meta}</head><body>'
        f"<h1>{title}</h1><p>نص الخبر كما نشره الموقع، في فقرة واحدة تكفي للاختبار.</p>"
        "</body></html>"
    )


CHALLENGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
    "<h1>127.0.0.1</h1><p>Checking if the site connection is secure</p></div>"
    '<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/jsch/v1"></script></body></html>'
)
CAPTCHA = (
    "<html><head><title>تحقق أمني</title>"
    '<script src="https://www.google.com/recaptcha/api.js"></script></head><body>'
    '<form method="post"><div class="g-recaptcha" data-sitekey="k"></div>'
    "<button>متابعة</button></form></body></html>"
)
JS_COOKIE = (
    '<html><body><script type="text/javascript" src="/aes.js"></script><script>'
    'function toNumbers(d){return d}var a=toNumbers("f655ba9d09a112d4968c63579db590b4");'
    'document.cookie="__test="+a+"; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/";'
    'location.href="/news/?i=1";</script>'
    "<noscript>This site requires Javascript to work</noscript></body></html>"
)
REFRESH = (
    '<html><head><meta http-equiv="refresh" content="0; url=/news/"></head><body></body></html>'
)
ANGULAR = (
    '<!doctype html><html lang="ar" ng-app="newsApp"><head><meta charset="utf-8">'
    '<title>الأخبار</title><script src="/js/angular.min.js"></script></head>'
    "<body><sna-header></sna-header><sna-breaking-news></sna-breaking-news>"
    "<sna-latest-news-ticker></sna-latest-news-ticker><div ng-view></div></body></html>"
)
REACT = (
    '<!doctype html><html><head><meta charset="utf-8"><title>الموقع</title>'
    '<script defer src="/static/js/main.js"></script></head><body>'
    "<noscript>You need to enable JavaScript to run this app.</noscript>"
    '<div id="root"></div></body></html>'
)
MOVED = (
    "<html><head><title>302 Found</title></head><body><h1>Found</h1>"
    '<p>The document has moved <a href="/news/">here</a>.</p></body></html>'
)
MOVED_NOWHERE = "<html><head><title>302 Found</title></head><body><h1>Found</h1></body></html>"
# A page with text but no headline link: an "about us" page set as the source by mistake.
NO_HEADLINES = (
    '<!doctype html><html lang="ar"><head><meta charset="utf-8"><title>من نحن</title></head>'
    "<body><h1>من نحن</h1>"
    + "<p>موقع إخباري محلي يهتم بأخبار المدينة والجهة ويعمل فيه فريق من الصحافيين الشباب.</p>" * 30
    + "</body></html>"
)
# kifache's layout: an urgent bar whose items a script appends (Pusher), empty in the HTML.
EMPTY_URGENT = news_page([], head="").replace(
    '<div class="breaking-news"><span class="breaking-title">عاجل</span>'
    '<ul class="breaking-news"></ul></div>',
    '<div class="urgent"><span class="urgent-title">عاجل</span><div class="dataAlter"></div>'
    "</div><script>var pusher = new Pusher('k', {cluster: 'eu'});"
    "pusher.subscribe('site-channel').bind('push-event', function (d) {"
    " $('.dataAlter').append(d.message); });</script>",
)


def rss(items: list[dict[str, str]], encoding: str = "utf-8") -> str:
    """An RSS 2.0 document; each item's keys are its element names (title, link, guid...)."""
    body = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>موقع المدينة</title><link>http://127.0.0.1/</link>{body}</channel></rss>"
    )


ARABIC_FEED_ITEMS = [
    {"title": "عاجل: انقطاع الماء الصالح للشرب عن ثلاثة أحياء", "link": "/article/water"},
    {"title": "مهرجان الفيلم القصير يعلن عن لائحة الأفلام المتنافسة", "link": "/article/film"},
]


@dataclass
class Wild:
    """What the sites serve; tests change it between polls."""

    urgent: list[tuple[str, str]] = field(default_factory=lambda: list(URGENT))
    # Article path -> published time given in its page (None: a page with no date).
    article_dates: dict[str, datetime | None] = field(default_factory=dict)
    article_hits: dict[str, int] = field(default_factory=dict)
    feed_items: list[dict[str, str]] = field(default_factory=list)
    canary_hits: int = 0
    live_page: str = CHALLENGE  # what /live/ serves, with this status
    live_status: int = 200
    root_feed: bool = False  # whether /feed/ (WordPress's usual feed) answers
    root_feed_hits: int = 0
    gone: set[str] = field(default_factory=set)  # article paths answered 404
    headlines: list[tuple[str, str]] = field(default_factory=lambda: list(HEADLINES))
    base: str = ""


def _long_feed(now: datetime) -> str:
    """150 items, oldest first, one a minute up to `now`."""
    items = []
    for n in range(150):
        moment = now - timedelta(minutes=149 - n)
        items.append(
            {
                "title": f"خبر رقم {n} في سلسلة الأخبار المتتالية",
                "link": f"/article/long-{n}",
                "pubDate": format_datetime(moment),
            }
        )
    return rss(items)


def build_app(wild: Wild) -> web.Application:
    app = web.Application()

    def html(text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def xml(body: bytes) -> web.Response:
        # No charset in the header: only the document says how it is encoded.
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

    async def news(_: web.Request) -> web.Response:
        return html(news_page(wild.urgent, wild.headlines))

    async def article(request: web.Request) -> web.Response:
        path = request.path
        wild.article_hits[path] = wild.article_hits.get(path, 0) + 1
        if path in wild.gone:
            return html("<html><body>not found</body></html>", 404)
        return html(article_page("مقال", wild.article_dates.get(path)))

    async def dated_article(request: web.Request) -> web.Response:
        path = request.path
        wild.article_hits[path] = wild.article_hits.get(path, 0) + 1
        return html(article_page("مقال قديم", None))

    def fixed(text: str, status: int = 200) -> web.Response:
        return html(text, status)

    async def wp_home(request: web.Request) -> web.Response:
        both = request.match_info["name"] == "wpboth"
        name = request.match_info["name"]
        head = f'<link rel="https://api.w.org/" href="/{name}/wp-json/">'
        if both:
            head += '<link rel="alternate" type="application/rss+xml" href="/wpboth/feed/">'
        return html(news_page(wild.urgent, head=head))

    async def wp_posts(request: web.Request) -> web.Response:
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
        posts = [
            {
                "id": n,
                "date_gmt": (now - timedelta(minutes=5 * n)).isoformat(),
                "link": f"{wild.base}{path}",
                "title": {"rendered": title},
                "_embedded": {"wp:term": [[{"name": category}]]},
            }
            for n, (path, title, category) in enumerate(REST_POSTS, start=1)
        ]
        return web.Response(text=json.dumps(posts), content_type="application/json")

    async def wp_feed(_: web.Request) -> web.Response:
        return xml(rss(ARABIC_FEED_ITEMS).encode("utf-8"))

    async def feed_cp1256(_: web.Request) -> web.Response:
        return xml(rss(ARABIC_FEED_ITEMS, "windows-1256").encode("cp1256"))

    async def feed_bom(_: web.Request) -> web.Response:
        # UTF-8 with a BOM, and a declaration left over from the site's old encoding.
        return xml(codecs.BOM_UTF8 + rss(ARABIC_FEED_ITEMS, "windows-1256").encode("utf-8"))

    async def feed_long(_: web.Request) -> web.Response:
        return xml(_long_feed(datetime.now(UTC)).encode("utf-8"))

    async def feed_live(_: web.Request) -> web.Response:
        return xml(rss(wild.feed_items).encode("utf-8"))

    async def feed_body(request: web.Request) -> web.Response:
        # The whole body is one line: a URL (the canary) or a file path.
        target = request.query["target"]
        return xml(target.encode("utf-8"))

    async def canary(_: web.Request) -> web.Response:
        wild.canary_hits += 1
        return xml(rss([{"title": SECRET_TITLE, "link": "/article/secret"}]).encode("utf-8"))

    async def challenge(_: web.Request) -> web.Response:
        return fixed(CHALLENGE)

    async def captcha(_: web.Request) -> web.Response:
        return fixed(CAPTCHA)

    async def js_cookie(_: web.Request) -> web.Response:
        return fixed(JS_COOKIE)

    async def refresh(_: web.Request) -> web.Response:
        return fixed(REFRESH)

    async def angular(_: web.Request) -> web.Response:
        return fixed(ANGULAR)

    async def react(_: web.Request) -> web.Response:
        return fixed(REACT)

    async def moved(_: web.Request) -> web.Response:
        return fixed(MOVED, 302)  # a 302 with no Location: only the body says where

    async def moved_nowhere(_: web.Request) -> web.Response:
        return fixed(MOVED_NOWHERE, 302)

    async def no_headlines(_: web.Request) -> web.Response:
        return fixed(NO_HEADLINES)

    async def empty_urgent(_: web.Request) -> web.Response:
        return fixed(EMPTY_URGENT)

    async def root_feed(_: web.Request) -> web.Response:
        wild.root_feed_hits += 1
        if not wild.root_feed:
            raise web.HTTPNotFound()
        return xml(rss(ARABIC_FEED_ITEMS).encode("utf-8"))

    async def live(_: web.Request) -> web.Response:
        return fixed(wild.live_page, wild.live_status)

    app.router.add_get("/news/", news)
    app.router.add_get("/article/{name}", article)
    app.router.add_get("/{year:\\d{4}}/{month:\\d\\d}/{day:\\d\\d}/{slug}", dated_article)
    app.router.add_get("/{name:wpsite|wpboth}/", wp_home)
    app.router.add_get("/{name:wpsite|wpboth}/wp-json/wp/v2/posts", wp_posts)
    app.router.add_get("/wpboth/feed/", wp_feed)
    app.router.add_get("/feed/cp1256", feed_cp1256)
    app.router.add_get("/feed/bom", feed_bom)
    app.router.add_get("/feed/long", feed_long)
    app.router.add_get("/feed/live", feed_live)
    app.router.add_get("/feed/body", feed_body)
    app.router.add_get("/canary", canary)
    app.router.add_get("/challenge/", challenge)
    app.router.add_get("/captcha/", captcha)
    app.router.add_get("/jscookie/", js_cookie)
    app.router.add_get("/refresh/", refresh)
    app.router.add_get("/angular/", angular)
    app.router.add_get("/react/", react)
    app.router.add_get("/moved/", moved)
    app.router.add_get("/moved-nowhere/", moved_nowhere)
    app.router.add_get("/about/", no_headlines)
    app.router.add_get("/empty-urgent/", empty_urgent)
    app.router.add_get("/live/", live)
    app.router.add_get("/feed/", root_feed)
    return app


@asynccontextmanager
async def serve(wild: Wild | None = None) -> AsyncIterator[Wild]:
    """Run the sites on 127.0.0.1; yields their state, with `base` = http://127.0.0.1:PORT."""
    wild = wild or Wild()
    runner = web.AppRunner(build_app(wild), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    wild.base = f"http://127.0.0.1:{port}"
    try:
        yield wild
    finally:
        await runner.cleanup()
