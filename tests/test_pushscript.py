"""Push channels read from a homepage's scripts (bot/news/pushscript.py), and the urgent bar
they fill (bot/news/homepage.py). Every script here was written for these tests, in the shapes
real pages use (kifache's, minified bundles, Laravel-style self-hosted servers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.news.homepage import parse_homepage, push_note
from bot.news.pushscript import (
    MAX_FOUND,
    MAX_HELPER_SCRIPT,
    MAX_SCRIPT,
    PushBinding,
    find_bindings,
    strip_comments,
)
from bot.news.ticker import EMPTY_BLOCK_NOTE
from tests.conftest import CORPUS

PAGE = "https://site.ma/"
KIFACHE_LIKE = """
    var pusher = new Pusher('0a1b2c3d4e5f', {
        cluster: 'eu',
        encrypted: true
    });
    var channel = pusher.subscribe('site-channel');
    channel.bind('site-push-event', function(data) {
        $( ".urgent" ).addClass('active');
        $( ".dataAlter" ).append(data.message);
    });
"""
URGENT_BAR = (
    '<div class="urgent"><span class="urgent-title">عاجل</span><div class="dataAlter"></div></div>'
)
STORIES = "".join(
    f'<article><h2><a href="/article/{n}">خبر محلي رقم {n} عن أشغال الطريق بالمدينة</a></h2>'
    "</article>"
    for n in range(6)
)


def page(script: str, bar: str = URGENT_BAR) -> str:
    return (
        f'<html lang="ar"><head><meta charset="utf-8"></head><body>{bar}<main>{STORIES}</main>'
        f"<script>{script}</script></body></html>"
    )


def one(script: str, url: str = PAGE) -> PushBinding:
    found = find_bindings([script], url)
    assert len(found) == 1, found
    return found[0]


def test_kifache_shaped_script() -> None:
    assert one(KIFACHE_LIKE) == PushBinding(
        "0a1b2c3d4e5f", "eu", None, "site-channel", "site-push-event", "message", (".dataAlter",)
    )


def test_minified_chained_double_quotes_and_bracket_fields() -> None:
    script = (
        'var p=new Pusher("k9",{cluster:"ap2"});p.subscribe("c1").bind("e1",function(d){'
        'jQuery("#bar").prepend(d["html"])}).bind("e2",d=>{document.querySelector(".x")'
        ".innerHTML=d.title});"
    )
    found = find_bindings([script], PAGE)
    assert [(b.channel, b.event, b.message_field, b.targets) for b in found] == [
        ("c1", "e1", "html", ("#bar",)),
        ("c1", "e2", "title", (".x",)),
    ]
    assert {b.cluster for b in found} == {"ap2"}


@pytest.mark.parametrize(
    ("options", "page_url", "cluster", "ws_url"),
    [
        ("{cluster: 'eu'}", PAGE, "eu", None),
        ("{}", PAGE, "mt1", None),  # pusher-js's default cluster
        (
            "{wsHost: 'push.site.ma', wsPort: 6001, forceTLS: false}",
            PAGE,
            None,
            "ws://push.site.ma:6001",
        ),
        (
            "{wsHost: `push.site.ma`, wssPort: 6002, forceTLS: true}",
            PAGE,
            None,
            "wss://push.site.ma:6002",
        ),
        # Not forced: TLS when the page is https, on the scheme's default port.
        ("{wsHost: 'push.site.ma'}", PAGE, None, "wss://push.site.ma:443"),
        (
            "{wsHost: 'push.site.ma', wsPort: 6001}",
            "http://site.ma/",
            None,
            "ws://push.site.ma:6001",
        ),
        # The page's own host, as Laravel WebSockets pages say it.
        (
            "{wsHost: window.location.hostname, wsPort: 6001, forceTLS: !1}",
            "http://127.0.0.1:8080/",
            None,
            "ws://127.0.0.1:6001",
        ),
    ],
)
def test_server_options(
    options: str, page_url: str, cluster: str | None, ws_url: str | None
) -> None:
    script = (
        f"var pusher = new Pusher('key', {options}); pusher.subscribe('c')"
        ".bind('e', function (m) { $('.bar').html(m.message); });"
    )
    binding = one(script, page_url)
    assert (binding.cluster, binding.ws_url) == (cluster, ws_url)


def test_a_host_that_is_a_variable_gives_no_binding() -> None:
    script = (
        "var pusher = new Pusher('key', {wsHost: settings.host});"
        "pusher.subscribe('c').bind('e', function (m) { $('.bar').html(m.message); });"
    )
    assert find_bindings([script], PAGE) == []


def test_variables_named_handlers_helpers_and_element_aliases() -> None:
    script = """
        const APP_KEY = "abcdef";
        const options = { wsHost: 'ws.site.ma', wssPort: 443, forceTLS: true };
        window.socket = new Pusher(APP_KEY, options);
        let breaking = window.socket.subscribe(`breaking`);
        breaking.bind('flash', onFlash);
        function onFlash(event) { show(event.body); }
        function show(html) {
            var bar = document.getElementById('ticker');
            bar.insertAdjacentHTML('afterbegin', html);
        }
    """
    assert one(script) == PushBinding(
        "abcdef", None, "wss://ws.site.ma:443", "breaking", "flash", "body", ("#ticker",)
    )


def test_a_handler_that_writes_the_whole_payload_has_no_field() -> None:
    script = (
        "var p = new Pusher('k', {cluster: 'eu'});"
        "p.subscribe('c').bind('e', (msg) => $('.urgent .items').html(msg));"
    )
    assert one(script).message_field is None


def test_what_is_not_a_push_binding() -> None:
    scripts = [
        # Commented out: the site stopped using it.
        "// var pusher = new Pusher('k', {cluster: 'eu'});\n"
        "/* pusher.subscribe('c').bind('e', function (d) { $('.bar').append(d.message) }) */",
        # jQuery's own .bind on an element, beside a client with no subscription.
        "$('#menu').bind('click', function (d) { $('.bar').append(d.message) });"
        "var p = new Pusher('k', {cluster: 'eu'});",
        # A handler that only reads the bar, or only changes its class.
        "var p = new Pusher('k', {}); p.subscribe('c').bind('e', function (d) {"
        " var old = document.querySelector('.bar').innerHTML; $('.bar').addClass('on'); });",
        # The key is computed: nothing to connect with.
        "var p = new Pusher(getKey(), {}); p.subscribe('c').bind('e', function (d) {"
        " $('.bar').append(d.message) });",
    ]
    for script in scripts:
        assert find_bindings([script], PAGE) == [], script


def test_comments_are_stripped_but_strings_kept() -> None:
    assert strip_comments("a = 'http://x' // note\nb = \"/* no */\" /* yes */ c") == (
        "a = 'http://x'  \nb = \"/* no */\"   c"
    )


def test_the_urgent_bar_filled_by_a_channel_names_it_instead_of_the_generic_note() -> None:
    reading = parse_homepage(page(KIFACHE_LIKE), "s", PAGE)
    assert reading.push is not None and reading.push.channel == "site-channel"
    assert reading.notes == (push_note(reading.push, PAGE),)
    assert "ajil probe https://site.ma/" in reading.notes[0]
    assert reading.urgent_block == "div.urgent labelled «عاجل»"


def test_a_channel_for_something_else_is_not_urgent() -> None:
    # Two channels: live comment counts first, then the urgent bar's.
    counter = (
        "var p = new Pusher('k', {cluster: 'eu'});"
        "p.subscribe('comments').bind('count', function (d) { $('.comments-count').text(d.n) });"
    )
    both = (
        counter
        + "p.subscribe('alerts').bind('new', function (d) { $('.dataAlter').append(d.message) });"
    )
    extra = '<span class="comments-count"></span>'
    reading = parse_homepage(page(both, URGENT_BAR + extra), "s", PAGE)
    assert reading.push is not None and reading.push.channel == "alerts"
    # Only the counter: the bar's note stays the generic one, no channel is proposed.
    reading = parse_homepage(page(counter, URGENT_BAR + extra), "s", PAGE)
    assert reading.push is None and reading.notes == (EMPTY_BLOCK_NOTE,)


def test_a_channel_into_a_bar_no_label_calls_urgent_is_not_urgent() -> None:
    # «آخر الأخبار» is a latest-news strip: what is pushed there is not breaking.
    latest = URGENT_BAR.replace("عاجل", "آخر الأخبار")
    reading = parse_homepage(page(KIFACHE_LIKE, latest), "s", PAGE)
    assert reading.push is None and reading.notes == ()
    assert reading.passed_over == ("div.urgent labelled «آخر الأخبار» (headlines)",)
    # Nor into a bar with no label at all.
    bare = URGENT_BAR.replace('<span class="urgent-title">عاجل</span>', "")
    reading = parse_homepage(page(KIFACHE_LIKE, bare), "s", PAGE)
    assert reading.push is None and reading.passed_over == ("div.urgent (no urgent label)",)


def test_a_bar_with_entries_and_a_channel_keeps_quiet_but_knows_the_channel() -> None:
    full = URGENT_BAR.replace(
        '<div class="dataAlter"></div>',
        '<div class="dataAlter"><a href="/article/flood">فيضانات تغلق الطريق الساحلية</a></div>',
    )
    reading = parse_homepage(page(KIFACHE_LIKE, full), "s", PAGE)
    assert reading.push is not None and reading.notes == ()
    assert [i.title for i in reading.items if i.urgent] == ["فيضانات تغلق الطريق الساحلية"]


def test_json_scripts_are_not_read() -> None:
    html = page("").replace(
        "<script></script>", f'<script type="application/ld+json">{KIFACHE_LIKE}</script>'
    )
    assert parse_homepage(html, "s", PAGE).push is None


KIFACHE = CORPUS / "homepages" / "kifache_2018_homepage.html"


@pytest.fixture
def kifache() -> str:
    if not KIFACHE.exists():
        pytest.skip(f"the saved kifache homepage is absent ({KIFACHE})")
    return KIFACHE.read_text(encoding="utf-8")


def test_saved_kifache_homepage_without_its_scripts(kifache: str) -> None:
    # The saved copy keeps tags but not script contents: no channel to find, the generic note.
    reading = parse_homepage(kifache, "kifache", "http://kifache.com/")
    assert reading.push is None and reading.notes == (EMPTY_BLOCK_NOTE,)


def test_saved_kifache_homepage_with_a_script_of_its_shape(kifache: str) -> None:
    html = kifache.replace("</body>", f"<script>{KIFACHE_LIKE}</script></body>")
    reading = parse_homepage(html, "kifache", "http://kifache.com/")
    assert reading.push is not None
    assert (reading.push.channel, reading.push.event, reading.push.cluster) == (
        "site-channel",
        "site-push-event",
        "eu",
    )
    assert reading.notes == (push_note(reading.push, "http://kifache.com/"),)


def test_a_bundle_before_the_push_script_does_not_hide_it() -> None:
    # A minified bundle far past every bound, that never names Pusher, is not read at all.
    bundle = "function a(b){return b.c.d(b)}var e=$('.x');" * (MAX_SCRIPT // 40)
    assert len(bundle) > MAX_SCRIPT > MAX_HELPER_SCRIPT
    assert find_bindings([bundle, KIFACHE_LIKE], PAGE) == [one(KIFACHE_LIKE)]


def test_hostile_scripts_are_read_within_bounds() -> None:
    # Thousands of binds whose handlers never close: at most MAX_FOUND are looked at.
    unclosed = "var p = new Pusher('k', {});" + (
        "p.subscribe('c').bind('e', function (d) { $('.a').append(d.m);" * 2000
    )
    assert len(find_bindings([unclosed], PAGE)) == MAX_FOUND
    # A property chain, unclosed brackets and strings: nothing found, nothing raised.
    for script in ("x=" + "a." * 50_000, "(" * 50_000, "x=`" * 20_000, "a=b=" * 50_000):
        assert find_bindings([f"new Pusher('k', {{}});{script}"], PAGE) == []


@given(st.text(alphabet=st.sampled_from(list("Pusher(){}[]'\"`.,;:=/*\\$ \nabc=>")), max_size=300))
def test_any_script_text_is_read_without_raising(text: str) -> None:
    find_bindings([text, "new Pusher(" + text, text + KIFACHE_LIKE], PAGE)
