"""A sample news site on 127.0.0.1, shaped like the Moroccan sites Ajil watches.

Every page carries a site-wide ticker labelled «عاجل»; the homepage lists headlines; /feed/ is
RSS 2.0 (with ETag and Last-Modified); /wp-json/wp/v2/posts answers like WordPress; article
pages have a dateline «الإثنين 31 مايو 2021 على الساعة 20:30», a photo, "read also" boxes, share
buttons, comments and a footer for the extractor to leave out. `publish_urgent` (or POST
/control/publish) puts a new urgent story on the ticker. The stories are invented for Ajil.

With a push server (`Newsroom(push=PushServer())`) the site works as kifache did: every page
carries an empty urgent bar, `div.urgent > span.urgent-title «عاجل» + div.dataAlter`, and a
script that subscribes to the channel CHANNEL with the server's key and appends each pushed
`data.message` (an HTML fragment) to the bar; `publish_urgent` pushes the story there at once.
The feed and the REST API still list it (with its «عاجل» category), as kifache's did.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.sandbox.pusher import PushServer

SITE_NAME = "أخبار المدينة"
CASABLANCA = ZoneInfo("Africa/Casablanca")
WEEKDAYS = ["الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]
MONTHS = [
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
]  # fmt: skip
TICKER_SIZE = 5
CHANNEL = "madina-channel"
EVENT = "madina-push-event"


def arabic_dateline(moment: datetime, zone: ZoneInfo = CASABLANCA) -> str:
    """«الإثنين 31 مايو 2021 على الساعة 20:30», as the sites write it."""
    local = moment.astimezone(zone)
    return (
        f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"
        f" على الساعة {local:%H:%M}"
    )


@dataclass(frozen=True)
class Story:
    id: int
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    urgent: bool
    # The link as the site writes it, when it is not the article's own page: a raw IRI with
    # spaces, a javascript: link... (as bug reports of other bots showed them).
    link: str | None = None

    @property
    def path(self) -> str:
        return self.link or f"/article/{self.id}/"


def _load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    raw = resources.files("bot.sandbox").joinpath("data/stories.json").read_text("utf-8")
    data = json.loads(raw)
    return data["stories"], data["urgent"]


class Newsroom:
    """The site's stories and its HTTP server."""

    def __init__(
        self,
        now: datetime | None = None,
        zone: ZoneInfo = CASABLANCA,
        push: PushServer | None = None,
    ) -> None:
        self.zone = zone
        self.push = push
        ordinary, self._urgent_pool = _load()
        now = now or datetime.now(UTC)
        self.stories: list[Story] = []
        for n, data in enumerate(reversed(ordinary)):
            published = now - timedelta(minutes=23 * (len(ordinary) - n))
            self._add(data, published, urgent=False)
        self._published_urgent = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request

    # -- the newsroom ---------------------------------------------------------------------

    def _add(
        self, data: dict[str, Any], published: datetime, urgent: bool, link: str | None = None
    ) -> Story:
        story = Story(
            len(self.stories) + 1,
            data["title"],
            tuple(data["paragraphs"]),
            published.replace(microsecond=0),
            urgent,
            link,
        )
        self.stories.append(story)
        return story

    def publish_urgent(
        self, now: datetime | None = None, title: str | None = None, link: str | None = None
    ) -> Story:
        """A new urgent story, on the ticker and at the top of the feed; `link` replaces its
        address, written as is into the pages and the feed."""
        now = now or datetime.now(UTC)
        pool = self._urgent_pool
        data = dict(pool[self._published_urgent % len(pool)])
        rounds = self._published_urgent // len(pool)
        if title:
            data["title"] = title
        elif rounds:
            # The pool has run out: the same events again, as dated updates, so that each
            # is a distinct story (its time differs) rather than a repeat.
            data["title"] = f"تحديث {now.astimezone(self.zone):%H:%M}: {data['title']}"
        self._published_urgent += 1
        story = self._add(data, now, urgent=True, link=link)
        if self.push is not None:
            self.push.trigger(CHANNEL, EVENT, {"message": self.bar_entry(story)})
        return story

    def bar_entry(self, story: Story) -> str:
        """The HTML fragment the site pushes for an urgent story, as its script appends it."""
        return (
            f'<p class="urgent-item"><a href="{html.escape(story.path)}" target="_blank">'
            f"{html.escape(story.title)}</a></p>"
        )

    def push_config(self) -> dict[str, str]:
        """The source keys (key, ws_url, channel, event) that read this site's push channel."""
        assert self.push is not None, "this site has no push server"
        return {"key": self.push.key, "ws_url": self.push.url, "channel": CHANNEL, "event": EVENT}

    def push_source_toml(self, name: str = "madina", interval: int = 60) -> str:
        """A `[[sources]]` table that reads this site and its push channel, for a config.toml."""
        keys = {"name": name, "url": self.url, "kind": "pusher", **self.push_config()}
        lines = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
        return f"[[sources]]\n{lines}interval = {interval}\n"

    def latest(self, count: int = 20) -> list[Story]:
        return sorted(self.stories, key=lambda s: (s.published, s.id), reverse=True)[:count]

    def ticker(self) -> list[Story]:
        return [s for s in self.latest(len(self.stories)) if s.urgent][:TICKER_SIZE]

    # -- the server -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.middlewares.append(self._log_request)
        app.router.add_get("/", self._homepage)
        app.router.add_get("/feed/", self._feed)
        app.router.add_get("/wp-json/wp/v2/posts", self._wordpress)
        app.router.add_get("/article/{id:\\d+}/", self._article)
        app.router.add_get("/images/{id:\\d+}.svg", self._image)
        app.router.add_post("/control/publish", self._publish)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the sample site did not open a socket"
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _log_request(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        response: web.StreamResponse = await handler(request)
        return response

    async def _publish(self, request: web.Request) -> web.Response:
        title = link = None
        if request.can_read_body:
            body = await request.json()
            if isinstance(body, dict):
                title, link = body.get("title"), body.get("link")
        story = self.publish_urgent(
            title=title if isinstance(title, str) else None,
            link=link if isinstance(link, str) else None,
        )
        return web.json_response({"id": story.id, "title": story.title, "url": self._abs(story)})

    def _abs(self, story: Story) -> str:
        if story.link is not None and ":" in story.link.split("/", 1)[0]:
            return story.link  # already absolute (or another scheme)
        return f"http://127.0.0.1:{self.port}{story.path}"

    def _page(self, title: str, main: str) -> str:
        ticker = "".join(
            f'<li><a href="{html.escape(s.path)}">{html.escape(s.title)}</a></li>'
            for s in self.ticker()
        )
        # Like most themes, the bar is left out while there is no breaking story (an empty
        # labelled bar is what a script-filled one looks like).
        bar = (
            '<div class="breaking-news"><span class="breaking-title">عاجل</span>'
            f"<ul>{ticker}</ul></div>"
            if ticker
            else ""
        )
        if self.push is not None:
            bar = self._pushed_bar()
        return f"""<!doctype html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME}" href="/feed/">
</head><body>
<header class="site-header"><a class="logo" href="/">{SITE_NAME}</a>
<nav class="menu"><a href="/">الرئيسية</a> <a href="/">مجتمع</a> <a href="/">رياضة</a>
<a href="/">اقتصاد</a></nav></header>
{bar}
<main>{main}</main>
<footer class="site-footer"><p>جميع الحقوق محفوظة © {SITE_NAME} 2026</p>
<a href="/">من نحن</a> <a href="/">اتصل بنا</a></footer>
</body></html>"""

    def _pushed_bar(self) -> str:
        """kifache's bar: empty in the page, filled by its script from the push channel."""
        assert self.push is not None
        return f"""<div class="urgent"><span class="urgent-title">عاجل</span>
<div class="dataAlter"></div><span class="urgent-close">×</span></div>
<script>
if (window.Pusher) {{
  var pusher = new Pusher('{self.push.key}', {{
    wsHost: '127.0.0.1', wsPort: {self.push.port}, forceTLS: false, enabledTransports: ['ws']
  }});
  var channel = pusher.subscribe('{CHANNEL}');
  channel.bind('{EVENT}', function (data) {{
    $('.dataAlter').append(data.message);
    $('.urgent').show();
  }});
}}
</script>"""

    async def _homepage(self, _: web.Request) -> web.Response:
        cards = "".join(
            f'<article class="post"><h2 class="entry-title"><a href="{html.escape(s.path)}">'
            f"{html.escape(s.title)}</a></h2><time>{arabic_dateline(s.published, self.zone)}"
            "</time></article>"
            for s in self.latest()
        )
        return web.Response(
            text=self._page(SITE_NAME, f'<section class="latest">{cards}</section>'),
            content_type="text/html",
        )

    async def _article(self, request: web.Request) -> web.Response:
        story_id = int(request.match_info["id"])
        story = next((s for s in self.stories if s.id == story_id), None)
        if story is None:
            raise web.HTTPNotFound(text="الصفحة غير موجودة")
        others = [s for s in self.latest(4) if s.id != story.id][:3]
        also = "".join(
            f'<li><a href="{html.escape(s.path)}">{html.escape(s.title)}</a></li>' for s in others
        )
        body = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
        main = f"""<article class="single">
<div class="post-meta"><span class="date">{arabic_dateline(story.published, self.zone)}</span></div>
<h1 class="post-title">{html.escape(story.title)}</h1>
<figure><img src="/images/{story.id}.svg" alt="{html.escape(story.title)}">
<figcaption>صورة من الأرشيف</figcaption></figure>
<div class="single-content">{body}</div>
<div class="share"><a href="/">شارك على فيسبوك</a> <a href="/">شارك على واتساب</a></div>
<aside class="read-also"><h3>اقرأ أيضا</h3><ul>{also}</ul></aside>
<section class="comments"><h3>التعليقات</h3><p>لا توجد تعليقات بعد. كن أول من يعلق.</p></section>
</article>"""
        page = self._page(story.title, main).replace(
            "</head>",
            f'<meta property="og:image" content="http://127.0.0.1:{self.port}'
            f'/images/{story.id}.svg"></head>',
        )
        return web.Response(text=page, content_type="text/html")

    async def _image(self, request: web.Request) -> web.Response:
        story_id = int(request.match_info["id"])
        hue = int(hashlib.sha1(str(story_id).encode()).hexdigest()[:2], 16)
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="450">'
            f'<rect width="800" height="450" fill="hsl({hue},45%,40%)"/>'
            f'<text x="400" y="240" font-size="64" text-anchor="middle" fill="white">'
            f"{story_id}</text></svg>"
        )
        return web.Response(text=svg, content_type="image/svg+xml")

    async def _feed(self, request: web.Request) -> web.Response:
        latest = self.latest()
        modified = max(s.published for s in latest)
        etag = f'"{len(self.stories)}-{int(modified.timestamp())}"'
        last_modified = format_datetime(modified, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        base = f"http://127.0.0.1:{self.port}"
        entries = "".join(
            f"<item><title>{html.escape(s.title)}</title><link>{html.escape(self._abs(s))}</link>"
            f'<guid isPermaLink="{"false" if s.link else "true"}">{base}/article/{s.id}/</guid>'
            f"<pubDate>{format_datetime(s.published)}</pubDate>"
            + ("<category>عاجل</category>" if s.urgent else "<category>مجتمع</category>")
            + f"<description>{html.escape(s.paragraphs[0])}</description>"
            f'<enclosure url="{base}/images/{s.id}.svg" type="image/svg+xml" length="0"/>'
            "</item>"
            for s in latest
        )
        rss = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{SITE_NAME}</title><link>{base}/</link><language>ar</language>"
            f"<description>آخر الأخبار</description>{entries}</channel></rss>"
        )
        return web.Response(
            text=rss, content_type="application/rss+xml", charset="utf-8", headers=headers
        )

    async def _wordpress(self, _: web.Request) -> web.Response:
        base = f"http://127.0.0.1:{self.port}"
        posts = [
            {
                "id": s.id,
                "date_gmt": s.published.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "link": self._abs(s),
                "title": {"rendered": html.escape(s.title)},
                "excerpt": {"rendered": f"<p>{html.escape(s.paragraphs[0])}</p>"},
                "_embedded": {
                    "wp:term": [[{"name": "عاجل" if s.urgent else "مجتمع"}]],
                    "wp:featuredmedia": [{"source_url": f"{base}/images/{s.id}.svg"}],
                },
            }
            for s in self.latest()
        ]
        return web.json_response(posts)
