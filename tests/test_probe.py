"""`ajil probe URL` against sites on 127.0.0.1: the saved kifache homepage (its urgent bar is
pushed), a WordPress site, a feed-only site, a script-only shell, and sites with nothing usable.

The kifache page is the real one from the shared corpus, served at a local origin (its absolute
links rewritten to it); the saved copy has no script contents, so the tests give it a script
of the shape the live page had (research.md), with a key of our own."""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot import probe
from bot.config import from_mapping
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from tests import hostile, wild
from tests.conftest import CORPUS
from tests.test_cli_news import ajil

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Africa/Casablanca")
KIFACHE = CORPUS / "homepages" / "kifache_2018_homepage.html"
ALYAOUM24 = CORPUS / "homepages" / "alyaoum24_2018_homepage.html"
PUSH_SCRIPT = """
    var pusher = new Pusher('f00dfeed0123', { cluster: 'eu', encrypted: true });
    var channel = pusher.subscribe('kifache-channel');
    channel.bind('kifache-push-event', function(data) {
        $( ".urgent" ).addClass('active');
        $( ".dataAlter" ).append(data.message);
    });
"""
# What a self-hosted Pusher-protocol server looks like in a page (the sandbox's is one).
LOCAL_PUSH_SCRIPT = """
    const socket = new Pusher("local-key", {
        wsHost: window.location.hostname, wsPort: PORT, forceTLS: false, cluster: "mt1"
    });
    socket.subscribe("breaking").bind("story", (event) => {
        document.querySelector(".dataAlter").insertAdjacentHTML("afterbegin", event.message);
    });
"""
PUSHER_KEYS = {"name", "kind", "url", "key", "channel", "event", "message_field"}
FEED_ITEMS = [
    ("/feedsite/article/1", "عاجل: زلزال بقوة خمس درجات يضرب إقليم الحسيمة"),
    ("/feedsite/article/2", "افتتاح الدورة الخريفية للبرلمان بحضور الحكومة"),
    ("/feedsite/article/3", "ارتفاع أسعار الخضر في أسواق الجملة هذا الأسبوع"),
    ("/feedsite/article/4", "فريق المدينة يتأهل إلى ربع نهائي كأس العرش"),
    ("/feedsite/article/5", "حملة تلقيح جديدة في المدارس الابتدائية بالجهة"),
    ("/feedsite/article/6", "انطلاق أشغال الطريق السيار الجديد نحو الجنوب"),
]
ETAG = '"v1-feed"'
MODIFIED = format_datetime(datetime(2026, 11, 29, 9, 0, tzinfo=UTC), usegmt=True)


def kifache_page(base: str, script: str | None) -> str:
    html = KIFACHE.read_text(encoding="utf-8").replace("http://kifache.com", base)
    if script is not None:
        html = html.replace("</body>", f"<script>{script}</script></body>")
    return html


def feed_xml(base: str) -> str:
    return wild.rss(
        [
            {
                "title": t,
                "link": base + u,
                "pubDate": format_datetime(datetime(2026, 11, 29, 10, 30 - n)),
            }
            for n, (u, t) in enumerate(FEED_ITEMS)
        ]
    )


def feed_home() -> str:
    # A homepage with no urgent block, announcing its feed: a feed-only site.
    listing = "".join(f'<h2><a href="{u}">{t}</a></h2>' for u, t in FEED_ITEMS)
    return (
        '<html lang="ar"><head><meta charset="windows-1256"><title>جريدة</title>'
        '<link rel="alternate" type="application/rss+xml" href="/feedsite/feed/"></head>'
        f"<body><main>{listing}</main></body></html>"
    )


@pytest.fixture
async def site() -> AsyncIterator[hostile.Server]:
    """Our sites on one 127.0.0.1 origin: kifache (as saved, with a Pusher script, with a
    local push server's script), a feed-only site whose feed answers conditional GETs."""

    def kifache(script: str | None) -> hostile.Handler:
        async def serve(request: web.Request) -> web.Response:
            page = kifache_page(_base(request), script)
            return web.Response(text=page, content_type="text/html", charset="utf-8")

        return serve

    corpus_routes: dict[str, hostile.Handler] = {}
    if KIFACHE.exists():
        corpus_routes = {
            "/kifache/": kifache(PUSH_SCRIPT),
            "/kifache-local/": kifache(LOCAL_PUSH_SCRIPT.replace("PORT", "6001")),
            "/kifache-saved/": kifache(None),
        }

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == ETAG:
            return web.Response(status=304, headers={"ETag": ETAG})
        headers = {"ETag": ETAG, "Last-Modified": MODIFIED}
        return web.Response(
            body=feed_xml(_base(request)).encode(),
            headers={**headers, "Content-Type": "application/rss+xml; charset=utf-8"},
        )

    async def home(_: web.Request) -> web.Response:
        return web.Response(
            body=feed_home().encode("cp1256"), headers={"Content-Type": "text/html"}
        )

    async def pushed_home(_: web.Request) -> web.Response:
        bar = '<div class="urgent"><span>عاجل</span><div class="dataAlter"></div></div>'
        page = (
            feed_home()
            .replace("<main>", f"{bar}<main>")
            .replace("</body>", f"<script>{PUSH_SCRIPT}</script></body>")
        )
        return web.Response(body=page.encode("cp1256"), headers={"Content-Type": "text/html"})

    async def alyaoum24(request: web.Request) -> web.Response:
        # The real page at /alyaoum24/ of this origin: its feed link then leads to nothing here.
        page = ALYAOUM24.read_text(encoding="utf-8").replace(
            "http://www.alyaoum24.com", f"{_base(request)}/alyaoum24"
        )
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    if ALYAOUM24.exists():
        corpus_routes["/alyaoum24/"] = alyaoum24
    routes = {
        **corpus_routes,
        "/feedsite/": home,
        "/feedsite/feed/": feed,
        "/feedpush/": pushed_home,
    }
    async with hostile.serve(routes) as server:
        yield server


def _base(request: web.Request) -> str:
    return f"http://{request.host}"


def needs_kifache() -> None:
    if not KIFACHE.exists():
        pytest.skip(f"the saved kifache homepage is absent ({KIFACHE})")


async def look(url: str, origin: str) -> probe.Report:
    async with HttpFetcher(total_timeout=5, policy=FetchPolicy([origin])) as fetcher:
        return await probe.probe(url, fetcher, ZONE)


def tables(report: probe.Report) -> list[dict[str, object]]:
    """The printed [[sources]] blocks, as TOML reads them back."""
    found: list[dict[str, object]] = tomllib.loads(report.toml())["sources"]
    return found


def loads_with_config(table: dict[str, object]) -> None:
    from_mapping({"sources": [table]}, Path("config.toml"), {})


# -- kifache: the urgent bar is pushed -------------------------------------------------------


async def test_kifache_reports_the_push_channel_and_prints_a_pusher_source(
    site: hostile.Server,
) -> None:
    needs_kifache()
    url = f"{site.url}/kifache/"
    report = await look(url, site.url)
    assert report.usable
    assert report.urgent.block == "div.urgent labelled «عاجل»" and report.urgent.empty
    assert report.push is not None
    assert (report.push.key, report.push.cluster, report.push.ws_url) == (
        "f00dfeed0123",
        "eu",
        None,
    )
    assert (report.push.channel, report.push.event) == ("kifache-channel", "kifache-push-event")
    assert report.render is None  # the channel is how to read the bar, not a browser
    assert report.headline_count == 59 and len(report.headlines) == 5
    (push,) = tables(report)  # a pusher source polls the site as auto does: one block
    assert push == {
        "name": "site",
        "kind": "pusher",
        "url": url,
        "key": "f00dfeed0123",
        "cluster": "eu",
        "channel": "kifache-channel",
        "event": "kifache-push-event",
        "message_field": "message",
    }
    loads_with_config(push)
    text = "\n".join(report.lines(ZONE))
    assert "push channel: Pusher key f00dfeed0123, channel kifache-channel" in text
    assert "the urgent bar is filled by a Pusher" not in text  # said once, not twice


async def test_kifache_on_a_self_hosted_push_server_prints_its_ws_url(
    site: hostile.Server,
) -> None:
    needs_kifache()
    report = await look(f"{site.url}/kifache-local/", site.url)
    push = tables(report)[0]
    assert set(push) == PUSHER_KEYS | {"ws_url"}
    assert push["ws_url"] == "ws://127.0.0.1:6001" and push["channel"] == "breaking"


async def test_the_saved_kifache_page_without_its_script_needs_render(
    site: hostile.Server,
) -> None:
    needs_kifache()
    url = f"{site.url}/kifache-saved/"
    report = await look(url, site.url)
    assert report.push is None and report.urgent.empty
    assert report.render is not None and "no push channel" in report.render
    assert tables(report) == [{"name": "site", "kind": "html", "url": url, "render": True}]
    loads_with_config(tables(report)[0])
    assert report.usable  # its headlines are in the HTML


# -- a WordPress site, a feed-only site ------------------------------------------------------


async def test_a_wordpress_site_with_an_urgent_bar(sites: wild.Wild) -> None:
    url = f"{sites.base}/wpsite/"
    report = await look(url, sites.base)
    assert report.listing is not None and report.listing.kind == "wordpress"
    assert report.listing.url.startswith(f"{sites.base}/wpsite/wp-json/wp/v2/posts")
    assert report.urgent.block == "div.breaking-news labelled «عاجل»"
    assert report.urgent.titles == [t for _, t in wild.URGENT]
    assert [i.title for i in report.headlines] == [t for _, t, _ in wild.REST_POSTS]
    # The homepage's bar is needed: an auto source reads both.
    assert tables(report) == [{"name": "site", "kind": "auto", "url": url}]
    loads_with_config(tables(report)[0])
    assert report.conditional is not None and report.conditional.answers_304 is None
    assert "no ETag nor Last-Modified" in report.conditional.describe()


async def test_a_wordpress_site_without_an_urgent_bar_is_read_by_its_rest_api(
    sites: wild.Wild,
) -> None:
    sites.urgent = []
    report = await look(f"{sites.base}/wpsite/", sites.base)
    assert report.urgent.block is not None and report.urgent.empty
    # An empty bar and no push channel: the bar needs a browser, so the homepage stays.
    assert tables(report)[0]["render"] is True


async def test_a_feed_only_site(site: hostile.Server) -> None:
    url = f"{site.url}/feedsite/"
    report = await look(url, site.url)
    assert report.encoding == "cp1256 (document)"
    assert report.listing == probe.Listing(
        "feed", f"{site.url}/feedsite/feed/", "announced by the page"
    )
    assert report.urgent.block is None
    assert report.headline_count == 6 and len(report.headlines) == 5
    assert report.headlines[0].urgent  # «عاجل:» before its title
    assert tables(report) == [{"name": "site", "kind": "rss", "url": f"{site.url}/feedsite/feed/"}]
    loads_with_config(tables(report)[0])
    assert report.conditional == probe.Conditional(
        f"{site.url}/feedsite/feed/", ETAG, MODIFIED, answers_304=True
    )
    assert site.requests.count("/feedsite/feed/") == 2  # read once, asked again once


async def test_a_pushed_bar_beside_a_feed_gives_one_push_source_that_reads_the_feed(
    site: hostile.Server,
) -> None:
    url = f"{site.url}/feedpush/"
    report = await look(url, site.url)
    # The pusher source polls the site as auto does, the feed it announces included: no
    # second source reads that feed again.
    (push,) = tables(report)
    assert push["kind"] == "pusher" and push["url"] == url and push["name"] == "site"
    assert report.listing is not None and report.listing.url == f"{site.url}/feedsite/feed/"
    assert report.conditional is not None and report.conditional.answers_304


async def test_a_real_wordpress_homepage_whose_feed_fails(site: hostile.Server) -> None:
    if not ALYAOUM24.exists():
        pytest.skip(f"the saved alyaoum24 homepage is absent ({ALYAOUM24})")
    url = f"{site.url}/alyaoum24/"
    report = await look(url, site.url)
    assert report.listing == probe.Listing(
        "feed", f"{site.url}/alyaoum24/feed", "announced by the page", error="HTTP 404"
    )
    assert report.urgent.block is None and report.headline_count == 62
    # The feed said nothing: the homepage's own headlines, read as an html source.
    assert tables(report) == [{"name": "site", "kind": "html", "url": url}]
    text = "\n".join(report.lines(ZONE))
    assert "but it failed (HTTP 404): the homepage's headlines are used" in text
    assert "warning: feed: HTTP 404" not in text  # said once


async def test_a_feed_url_is_a_source_by_itself(site: hostile.Server) -> None:
    url = f"{site.url}/feedsite/feed/"
    report = await look(url, site.url)
    assert report.page == "a feed" and report.encoding == "utf-8 (HTTP header)"
    assert tables(report) == [{"name": "site", "kind": "rss", "url": url}]


# -- nothing usable --------------------------------------------------------------------------


async def test_a_script_only_shell_needs_render(sites: wild.Wild) -> None:
    url = f"{sites.base}/angular/"
    report = await look(url, sites.base)
    assert not report.usable and report.reason is not None
    assert "shell" in report.reason and "render" in report.reason
    assert tables(report) == [{"name": "site", "kind": "html", "url": url, "render": True}]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/about/", "no headlines found"), ("/challenge/", "page looks like a bot challenge")],
)
async def test_nothing_usable_says_why_and_prints_no_block(
    sites: wild.Wild, path: str, reason: str
) -> None:
    report = await look(sites.base + path, sites.base)
    assert report.reason is not None and report.reason.startswith(reason)
    assert report.sources == []


def test_source_names_from_hosts() -> None:
    assert probe.source_name("https://www.kifache.com/") == "kifache"
    assert probe.source_name("https://ar.hibapress.com/") == "ar"
    assert probe.source_name("http://127.0.0.1:8080/") == "site"


def test_printed_values_are_toml_strings_whatever_they_hold() -> None:
    odd = 'قناة "عاجل" \\ \n\t'
    report = probe.Report(
        "u",
        None,
        "",
        None,
        None,
        probe.Urgent(None, [], False),
        None,
        None,
        [],
        0,
        None,
        [],
        [{"name": "n", "kind": "pusher", "channel": odd, "render": True}],
        None,
    )
    assert tables(report) == [{"name": "n", "kind": "pusher", "channel": odd, "render": True}]


# -- the command -----------------------------------------------------------------------------


async def test_the_command_prints_the_report_and_the_block(site: hostile.Server) -> None:
    needs_kifache()
    code, out, err = await ajil("probe", "--name", "kifache", f"{site.url}/kifache/")
    assert code == 0, err
    assert "urgent block: div.urgent labelled «عاجل», empty in the page" in out
    pasted = tomllib.loads(out.split("# paste into config.toml:\n", 1)[1])
    assert [(t["name"], t["kind"]) for t in pasted["sources"]] == [("kifache", "pusher")]
    code, out, err = await ajil("probe", "--json", f"{site.url}/kifache/")
    data = json.loads(out)
    assert code == 0 and data["usable"] and data["push"]["channel"] == "kifache-channel"
    assert tomllib.loads(data["toml"])["sources"] == data["sources"]


async def test_the_printed_blocks_pasted_as_they_are_read_the_site_without_a_warning(
    site: hostile.Server, tmp_path: Path
) -> None:
    # The operator pastes what probe printed and checks it with ajil fetch: a second source
    # polling the same homepage would warn at every poll "add a kind = pusher source", which
    # is there, and split the site's alerts and headlines between two names.
    needs_kifache()
    code, out, err = await ajil("probe", f"{site.url}/kifache/")
    assert code == 0, err
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"\n'
        + out.split("# paste into config.toml:\n", 1)[1],
        encoding="utf-8",
    )
    code, out, err = await ajil("--config", str(config), "fetch")
    assert code == 0, err
    assert "warning" not in err
    assert {line.split("\t")[0] for line in out.splitlines()} == {"site"}


async def test_the_command_exits_1_with_the_reason(sites: wild.Wild) -> None:
    code, out, err = await ajil("probe", f"{sites.base}/angular/")
    assert code == 1
    assert "render = true" in out and "nothing usable found" in err and "shell" in err
    # The report printed says first that it failed, and offers its block to try, not to paste.
    first = out.splitlines()[0]
    assert first.startswith("NOTHING USABLE FOUND (exit status 1): ") and "shell" in first
    assert "# paste into config.toml:" not in out
    assert "# nothing usable as served; to try reading it rendered" in out
    code, out, err = await ajil("probe", f"{sites.base}/about/")
    assert code == 1 and out.splitlines()[0].startswith("NOTHING USABLE FOUND")
    assert "[[sources]]" not in out and "nothing usable found: no headlines found" in err
    code, _, err = await ajil("probe", f"{sites.base}/no-such-page/")
    assert code == 1 and "cannot read the site: HTTP 404" in err


async def test_the_command_refuses_what_is_not_a_web_address() -> None:
    code, _, err = await ajil("probe", "file:///etc/passwd")
    assert code == 2 and "expected an http:// or https:// URL" in err
    # Malformed or hostless: a usage error too, not "cannot read the site" (exit 1).
    for url in ("http://[::1", "https://", "http:///path"):
        code, _, err = await ajil("probe", url)
        assert (code, err) == (2, f"ajil: {url}: expected an http:// or https:// URL\n"), url


def test_why_no_block_counts_as_urgent_is_said() -> None:
    passed = ("div.ticker (no urgent label)", "div.news-bar labelled «آخر الأخبار» (headlines)")
    assert probe.Urgent(None, [], False, passed).describe() == (
        "none (no block on the page is labelled urgent («عاجل», Breaking, Dernière minute...); "
        "not urgent: div.ticker (no urgent label); div.news-bar labelled «آخر الأخبار» (headlines))"
    )
    assert probe.Urgent("div.bar labelled «عاجل»", ["a"], False).describe() == (
        "div.bar labelled «عاجل», 1 entry"
    )


def test_conditional_get_in_words() -> None:
    none = probe.Conditional("u", None, None, None)
    assert none.describe() == "u: no ETag nor Last-Modified; every poll downloads it whole"
    ignored = probe.Conditional("u", '"e"', None, answers_304=False)
    assert (
        ignored.describe()
        == "u: gives ETag, yet answers a conditional request with the whole body again"
    )
    failed = probe.Conditional("u", None, "d", None, "HTTP 500")
    assert failed.describe() == "u: gives Last-Modified; the conditional request failed (HTTP 500)"
