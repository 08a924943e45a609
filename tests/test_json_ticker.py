"""kind = "json": breaking-news tickers served as JSON, read by a mapping of their fields.

Every headline here was written for these tests; the shapes are those of research.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.config import ConfigError, load
from bot.news.fetch import HttpFetcher, Validators
from bot.news.jsonticker import MAX_ENTRIES, TickerMapping, parse_ticker, read_time
from bot.news.models import ParseError
from bot.news.netguard import FetchPolicy
from bot.news.sources import SourceError, SourcePoller, SourceSettings
from tests.test_cli_news import ajil

ZONE = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
ENDPOINT = "https://api.example.test/breaking.json"
FIRST = "انفجار قوي يهز الميناء التجاري للمدينة"
SECOND = "إغلاق مؤقت للطريق السيار بين المدينتين"


def read(body: object, **mapping: object) -> tuple[list, list[str]]:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    reading = parse_ticker(text, TickerMapping(**mapping), "sna", ENDPOINT, ZONE)  # type: ignore[arg-type]
    return reading.items, reading.warnings


# -- every time form ---------------------------------------------------------------------------

MOMENT = datetime(2026, 11, 29, 8, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-29T08:15:30Z",
        "2026-11-29T08:15:30+00:00",
        "2026-11-29T09:15:30+01:00",
        "2026-11-29T08:15:30.000Z",
        "2026-11-29 09:15:30",  # no offset: the source's zone (Casablanca, UTC+01 in November)
        int(MOMENT.timestamp()),  # epoch seconds
        float(MOMENT.timestamp()),
        str(int(MOMENT.timestamp())),
        int(MOMENT.timestamp()) * 1000,  # epoch milliseconds (Sky News Arabia's "date")
        str(int(MOMENT.timestamp()) * 1000),
        "Sun, 29 Nov 2026 08:15:30 GMT",  # RFC 5322, as feeds write it
    ],
)
def test_every_time_form(value: object) -> None:
    assert read_time(value, ZONE) == MOMENT


@pytest.mark.parametrize("value", ["yesterday", "", True, 12, "2026-13-45", [], {}, 10**30])
def test_what_is_not_a_time(value: object) -> None:
    assert read_time(value, ZONE) is None


def test_times_in_entries_and_a_bad_one_warned() -> None:
    items, warnings = read(
        [
            {"text": FIRST, "date": int(MOMENT.timestamp() * 1000)},
            {"text": SECOND, "date": "soon"},
        ],
        title_field="text",
        time_field="date",
    )
    assert [i.published for i in items] == [MOMENT, None]
    assert warnings == [
        '1 of 2 entries have a "date" that is not a time '
        "(expected ISO 8601, epoch seconds or milliseconds)"
    ]


# -- shapes ------------------------------------------------------------------------------------


def test_top_level_list_every_entry_urgent_from_ticker() -> None:
    items, warnings = read(
        [{"text": FIRST, "date": 1_764_404_130_000}, {"text": SECOND, "date": 1_764_404_000_000}],
        title_field="text",
        time_field="date",
    )
    assert warnings == []
    assert [i.title for i in items] == [FIRST, SECOND]
    assert all(i.urgent and i.from_ticker for i in items)
    # No link of their own: the site's front page, so each gets its id from its text.
    assert {i.url for i in items} == {"https://api.example.test/"}
    assert len({i.uid for i in items}) == 2


def test_nested_path_and_nested_fields() -> None:
    body = {
        "data": {
            "breakingNews": {
                "tickerTitle": "عاجل",
                "tickerText": FIRST,
                "post": {"link": "/news/2026/11/29/harbour", "date": "2026-11-29T08:15:30Z"},
            }
        }
    }
    items, warnings = read(
        body,
        items="data.breakingNews",
        title_field="tickerText",
        url_field="post.link",
        time_field="post.date",
    )
    assert warnings == []
    assert [(i.title, i.url, i.published) for i in items] == [
        (FIRST, "https://api.example.test/news/2026/11/29/harbour", MOMENT)
    ]


def test_path_through_a_list_index() -> None:
    body = {"result": [{"entries": [{"title": FIRST}]}]}
    items, _ = read(body, items="result.0.entries")
    assert [i.title for i in items] == [FIRST]


def test_one_object_is_a_ticker_of_one_and_an_empty_message_is_none() -> None:
    items, _ = read({"message": FIRST}, title_field="message")
    assert [i.title for i in items] == [FIRST]
    items, warnings = read({"message": ""}, title_field="message")
    assert items == [] and warnings == []


def test_empty_titles_among_headlines_are_skipped_and_counted() -> None:
    items, warnings = read([{"title": FIRST}, {"title": ""}, {"title": "  <b> </b> "}])
    assert [i.title for i in items] == [FIRST]
    assert warnings == ['2 of 3 entries have an empty "title" (title_field); skipped']
    # Every entry empty: the ticker is empty now, its usual state, and no warning.
    assert read([{"title": ""}, {"title": " "}]) == ([], [])


def test_a_number_is_no_title() -> None:
    items, warnings = read([{"title": FIRST}, {"title": 12345}, {"title": 3.5}])
    assert [i.title for i in items] == [FIRST]
    assert warnings == [
        '2 of 3 entries have a "title" (title_field) that is not text (the first: a number); '
        "skipped"
    ]


def test_a_number_too_long_to_read_fails_its_entry_not_the_ticker() -> None:
    huge = "9" * 5000  # past Python's 4,300-digit limit for int()
    body = (
        f'[{{"title": "{FIRST}", "id": {huge}}}, {{"title": {huge}}},'
        f' {{"title": "{SECOND}", "when": {huge}}}]'
    )
    items, warnings = read(body, time_field="when")
    assert [i.title for i in items] == [FIRST, SECOND]
    assert items[1].published is None
    assert warnings == [
        '1 of 3 entries have a "title" (title_field) that is not text (the first: a number '
        "too long); skipped",
        '1 of 3 entries have no "when" (time_field)',
        '1 of 3 entries have a "when" that is not a time (expected ISO 8601, epoch seconds or '
        "milliseconds)",
    ]


def test_null_on_the_path_is_an_empty_ticker() -> None:
    assert read({"data": {"breakingNews": None}}, items="data.breakingNews") == ([], [])
    assert read({"data": None}, items="data.breakingNews") == ([], [])


def test_html_fragment_title_gives_its_text_and_link() -> None:
    items, _ = read(
        {"message": f'<a href="/article/77">{FIRST}</a> &amp; <b>{SECOND}</b>'},
        title_field="message",
    )
    assert [(i.title, i.url) for i in items] == [
        (f"{FIRST} & {SECOND}", "https://api.example.test/article/77")
    ]


def test_urgent_false_keeps_only_marked_titles_urgent() -> None:
    items, _ = read([{"title": f"عاجل | {FIRST}"}, {"title": SECOND}], urgent=False)
    assert [(i.title, i.urgent, i.from_ticker) for i in items] == [
        (FIRST, True, False),
        (SECOND, False, False),
    ]


def test_site_url_for_entries_without_a_link() -> None:
    items, _ = read([{"title": FIRST}], site_url="https://www.example.test/")
    assert items[0].url == "https://www.example.test/"


def test_jsonp_and_byte_order_mark() -> None:
    items, _ = read("\ufeffbreaking_cb(" + json.dumps([{"title": FIRST}]) + ");")
    assert [i.title for i in items] == [FIRST]


def test_too_many_entries_read_in_part() -> None:
    items, warnings = read([{"title": f"{FIRST} {n}"} for n in range(MAX_ENTRIES + 5)])
    assert len(items) == MAX_ENTRIES
    assert warnings == [f"the ticker lists {MAX_ENTRIES + 5} entries; only the first 100 are read"]


# -- what goes wrong, said clearly --------------------------------------------------------------


def test_missing_fields_are_counted_and_named() -> None:
    items, warnings = read(
        [
            {"text": FIRST, "url": "/a/1"},
            {"headline": SECOND, "when": 1},
            {"text": SECOND},
            7,
        ],
        title_field="text",
        url_field="url",
        time_field="date",
    )
    assert [i.title for i in items] == [FIRST, SECOND]
    assert warnings == [
        '1 of 4 entries have no "text" (title_field); skipped '
        "(the first one's keys: headline, when)",
        "1 of 4 entries are not objects; skipped",
        '1 of 4 entries have no usable "url" (url_field); they link to https://api.example.test/',
        '2 of 4 entries have no "date" (time_field)',
    ]


def test_a_title_field_that_holds_no_text_is_warned_not_dropped_silently() -> None:
    # title_field names an object (a headline per language), a list, a flag: none is a title,
    # and without a word the ticker would read as empty, the usual state of one.
    items, warnings = read(
        {"breaking": [{"text": {"ar": FIRST}}, {"text": [SECOND]}, {"text": True}]},
        items="breaking",
        title_field="text",
    )
    assert items == []
    assert warnings == [
        '3 of 3 entries have a "text" (title_field) that is not text (the first: an object); '
        "skipped"
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "{not json",
            "not JSON (Expecting property name enclosed in double quotes at line 1 column 2)",
        ),
        (
            "<!doctype html><html><body>Service unavailable</body></html>",
            "not JSON: the response is an HTML or XML page",
        ),
        ("", "not JSON (Expecting value at line 1 column 1)"),
        ("[" * 100_000 + "]" * 100_000, "too complex (JSON nested too deep)"),
        ('"just a string"', "the body is a string, not a list or an object"),
    ],
)
def test_malformed_body(body: str, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        read(body)
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (
            {"data": {"items": []}},
            "data.breaking",
            'items "data.breaking": "data" has no key "breaking" (its keys: items)',
        ),
        ({"result": 5}, "data", 'items "data": the body has no key "data" (its keys: result)'),
        (
            {"data": [1, 2]},
            "data.breaking",
            'items "data.breaking": "data" is a list, so it has no "breaking"',
        ),
        ({"data": [1, 2]}, "data.5", 'items "data.5": "data" has 2 entries, no [5]'),
        (
            {"data": {"breaking": "none"}},
            "data.breaking",
            'items "data.breaking" leads to a string, not a list or an object',
        ),
    ],
)
def test_wrong_path(body: object, path: str, reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        read(body, items=path)
    assert raised.value.reason == reason


# -- configuration ------------------------------------------------------------------------------


def test_config_keys_belong_to_their_kind(write_config: Callable[[str], Path]) -> None:
    good = load(
        write_config(
            "[[sources]]\nname = 'sna'\nurl = 'https://api.example.test/t.json'\nkind = 'json'\n"
            "items = 'data.breaking'\ntitle_field = 'text'\ntime_field = 'date'\n"
        )
    )
    assert good.sources[0].items == "data.breaking"
    with pytest.raises(ConfigError) as wrong_kind:
        load(write_config("[[sources]]\nname = 'a'\nurl = 'https://a.test/'\ntitle_field = 'x'\n"))
    assert 'title_field: only for kind = "json"' in str(wrong_kind.value)
    with pytest.raises(ConfigError) as bad_path:
        load(
            write_config(
                "[[sources]]\nname = 'a'\nurl = 'https://a.test/'\nkind = 'json'\nitems = 'data..x'\n"
            )
        )
    assert "sources[0].items: expected a dotted path of keys such as data.breaking" in str(
        bad_path.value
    )


# -- through the poller, over HTTP --------------------------------------------------------------


class Ticker:
    """A breaking-news endpoint on 127.0.0.1 with an ETag, counting its full answers."""

    def __init__(self) -> None:
        self.body = b"[]"
        self.etag = '"v1"'
        self.full = 0
        self.not_modified = 0

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == self.etag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": self.etag})
        self.full += 1
        return web.Response(
            body=self.body, content_type="application/json", headers={"ETag": self.etag}
        )

    def publish(self, entries: object, etag: str) -> None:
        self.body = json.dumps(entries, ensure_ascii=False).encode()
        self.etag = etag


@pytest.fixture
async def ticker() -> AsyncIterator[tuple[Ticker, str]]:
    state = Ticker()
    app = web.Application()
    app.router.add_get("/breaking.json", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state, f"http://127.0.0.1:{port}/breaking.json"
    finally:
        await runner.cleanup()


async def test_conditional_get_and_a_new_entry(ticker: tuple[Ticker, str]) -> None:
    state, url = ticker
    mapping = TickerMapping(title_field="text", time_field="date")
    settings = SourceSettings("sna", url, "json", ZONE, ticker=mapping)
    stamp = int((NOW - timedelta(minutes=3)).timestamp() * 1000)
    state.publish([{"text": FIRST, "date": stamp}], '"v1"')
    async with HttpFetcher(total_timeout=5, policy=FetchPolicy([url])) as fetcher:
        poller = SourcePoller(settings, fetcher)
        first = await poller.poll(None, NOW)
        assert [(i.title, i.urgent, i.published) for i in first.items] == [
            (FIRST, True, datetime.fromtimestamp(stamp / 1000, UTC))
        ]
        assert first.validators == Validators('"v1"', None)
        assert first.urgent_block == "JSON ticker at the top level, every entry urgent"
        again = await poller.poll(first.validators, NOW)
        assert again.not_modified and again.items == []
        assert (state.full, state.not_modified) == (1, 1)
        state.publish([{"text": SECOND, "date": stamp}, {"text": FIRST, "date": stamp}], '"v2"')
        changed = await poller.poll(again.validators, NOW)
        assert [i.title for i in changed.items] == [SECOND, FIRST]
        assert changed.validators == Validators('"v2"', None)
        # An empty ticker is the usual state: no item and no warning.
        state.publish([], '"v3"')
        empty = await poller.poll(changed.validators, NOW)
        assert empty.items == [] and empty.warnings == []


async def test_a_broken_body_fails_the_poll_with_its_reason(ticker: tuple[Ticker, str]) -> None:
    state, url = ticker
    state.body = b"{'single': 'quotes'}"
    settings = SourceSettings("sna", url, "json", ZONE, ticker=TickerMapping())
    async with HttpFetcher(total_timeout=5, policy=FetchPolicy([url])) as fetcher:
        with pytest.raises(SourceError) as raised:
            await SourcePoller(settings, fetcher).poll(None, NOW)
    assert raised.value.reason == (
        "not JSON (Expecting property name enclosed in double quotes at line 1 column 2)"
    )


async def test_ajil_fetch_shows_entries_and_warnings(
    ticker: tuple[Ticker, str], write_config: Callable[[str], Path]
) -> None:
    state, url = ticker
    now = datetime.now(timezone(timedelta(hours=1)))
    state.publish([{"text": FIRST, "date": now.isoformat()}, {"headline": SECOND}], '"w1"')
    config = write_config(
        f"[[sources]]\nname = 'sna'\nurl = '{url}'\nkind = 'json'\n"
        "title_field = 'text'\ntime_field = 'date'\n"
    )
    code, out, err = await ajil("fetch", "--config", str(config))
    assert code == 3, err
    assert f"URGENT {FIRST}" in out
    assert "ajil: sna: urgent block: JSON ticker at the top level, every entry urgent" in err
    assert (
        'ajil: sna: warning: 1 of 2 entries have no "text" (title_field); skipped '
        "(the first one's keys: headline)"
    ) in err
    wrong = write_config(
        f"[[sources]]\nname = 'sna'\nurl = '{url}'\nkind = 'json'\nitems = 'data.breaking'\n",
        "wrong.toml",
    )
    code, _, err = await ajil("fetch", "--config", str(wrong))
    assert code == 1
    assert (
        'ajil: sna: failed: items "data.breaking": the body is a list, so it has no "data"' in err
    )


def test_the_example_presets_validate_once_uncommented(write_config: Callable[..., Path]) -> None:
    example = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text("utf-8")
    blocks: list[list[str]] = []
    for line in example.splitlines():
        if line == "# [[sources]]":
            blocks.append([])
        elif blocks and re.match(r"# [a-z_]+ = ", line):
            blocks[-1].append(line[2:].replace("...", "ticker").split("  #")[0])
    text = "\n".join("[[sources]]\n" + "\n".join(block) for block in blocks)
    config = load(write_config(text))
    kinds = {s.name: (s.kind, s.render) for s in config.sources}
    assert kinds == {
        "skynewsarabia": ("json", False),
        "alarabiya": ("json", False),
        "aljazeera": ("json", False),
        "skynewsarabia_home": ("html", True),
        "kifache": ("pusher", False),
    }
