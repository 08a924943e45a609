"""A source's warnings and errors, stored in English by the news code, shown in /sources and
the admins' incidents in the chat's language (bot/compose/reasons.py), each made here by the
code that really makes it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.pushes import PushCap
from bot.compose import views
from bot.compose.bidi import LRM
from bot.compose.reasons import reasons_text
from bot.config import Config, SourceConfig
from bot.i18n import translator
from bot.news.homepage import push_note
from bot.news.jsonticker import TickerMapping, parse_ticker
from bot.news.pagekind import classify
from bot.news.push_client import PushClient, PushSettings
from bot.news.pushscript import PushBinding
from bot.news.sources import NO_HEADLINES, NO_RENDERER, STILL_EMPTY_NOTE
from bot.news.ticker import EMPTY_BLOCK_NOTE
from storage.models import SourceState
from tests import wild

ZONE = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def _noop(*_: object) -> None:
    return None


def real_reasons() -> list[str]:
    """Every kind of reason, as the code that stores it writes it."""
    binding = PushBinding("k1", "eu", None, "news", "flash", "message", ("#bar",))
    client = PushClient(PushSettings("s", "wss://x", "news", "flash"), _noop, _noop)
    client.refused, client.last_error = True, "4001 KEY-UNKNOWN"  # the server's words, kept
    refused = client.problem()
    client.refused, client.failures = False, 3
    down = client.problem()
    cap = PushCap(2)
    cap.admit(5, NOW)
    body = json.dumps(
        [{"title": "خبر أول عن الطقس", "when": "x"}, {"headline": "y"}, 7, {"title": ["z"]}]
        + [{"title": ""}]
        + [{"title": "خبر"}] * 120
    )
    ticker = parse_ticker(
        body, TickerMapping(url_field="link", time_field="when"), "s", "https://t.ma/", ZONE
    )
    shells = [classify(page, 200, "http://s.ma/").reason for page in (wild.ANGULAR, wild.REACT)]
    reasons = [
        NO_HEADLINES,
        EMPTY_BLOCK_NOTE,
        STILL_EMPTY_NOTE,
        NO_RENDERER,
        push_note(binding, "https://s.ma/"),
        'ticker_selector ".bar a" matches nothing in the page',
        classify(wild.CHALLENGE, 200, "http://s.ma/").reason,
        classify(wild.MOVED, 302, "http://s.ma/").reason,
        *shells,
        refused,
        down,
        cap.problem(NOW),
        "feed: HTTP 503",
        "homepage: timed out after 20 s",
        "REST API: too large (over 5 MB)",
        f"homepage: render: {NO_RENDERER}",
        *ticker.warnings,
    ]
    assert all(reasons) and len(ticker.warnings) >= 6, ticker.warnings
    return [r for r in reasons if r]


# Words that only an English phrase holds (a detail holds none: a push channel's description
# "key K, channel C, event E, cluster eu" names its configuration keys, and stays).
ENGLISH = re.compile(
    r"\b(the|is|no|not|of|found|page|entries|have|with|fills?|stored|read|"
    r"headlines|skipped|answered|instead|check|still|browser)\b"
)


def test_every_reason_is_told_in_arabic_and_french() -> None:
    for reason in real_reasons():
        arabic = reasons_text(reason, translator("ar"))
        french = reasons_text(reason, translator("fr"))
        assert not ENGLISH.search(arabic), (reason, arabic)
        assert re.search(r"[\u0621-\u064a]", arabic), (reason, arabic)
        assert french != reason, reason
        english = reasons_text(reason, translator("en"))
        assert not re.search(r"[\u0621-\u064a]", english.replace("خبر", "")), english


def test_a_stored_warning_of_several_reasons_keeps_them_apart() -> None:
    # "; " joins the reasons and is inside some of them: each is told whole.
    stored = "; ".join([*real_reasons()[-3:], "feed: a library's own words", NO_HEADLINES])
    told = reasons_text(stored, translator("ar"))
    assert told.count("؛ ") == 4, told
    assert "الخلاصة: a library's own words" in told  # unknown: shown as it is, its place told
    assert told.endswith("لم يُعثر على عناوين")


def test_a_long_text_of_many_separators_is_told_at_once() -> None:
    text = "x; " * 5000
    assert reasons_text(text, translator("ar")).count("x") == 5000


def test_sources_shows_the_reason_in_arabic_with_its_details_left_to_right() -> None:
    config = Config(sources=[SourceConfig(name="site", url="https://site.ma/", title="موقع")])
    since = NOW - timedelta(hours=1)
    binding = PushBinding("k1", "eu", None, "news", "flash", "message", ())
    warning = f"feed: HTTP 503; {push_note(binding, 'https://site.ma/')}"
    state = SourceState(
        1,
        "site",
        "https://site.ma/",
        "auto",
        None,
        None,
        NOW,
        NOW,
        0,
        None,
        None,
        None,
        False,
        True,
        warning=warning,
        warning_since=since,
    )
    text = views.sources_status(config, [state], set(), "ar", ZONE, NOW).text
    assert "أجاب الخادم بالرمز" in text and "شريط العاجل تملؤه قناة دفع" in text
    assert f"{LRM}HTTP 503{LRM}" in text
    assert not ENGLISH.search(text.replace("https://site.ma/", "")), text
    english = views.sources_status(config, [state], set(), "en", ZONE, NOW).text
    assert "HTTP 503" in english and "the urgent bar is filled by a Pusher push channel" in english


@pytest.mark.parametrize("language", ["ar", "fr", "en"])
def test_each_language_has_every_reason(language: str) -> None:
    from bot.i18n import catalog

    keys = {k for k in catalog("ar").singular if k.startswith("reason-")}
    assert keys and keys <= set(catalog(language).singular)  # type: ignore[arg-type]
