"""Every composer, fed hostile input, gives a message Telegram accepts: checked by the
emulator's validation and by an independent count (tests/telegram_rules.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.compose import views
from bot.compose.alerts import (
    ALERT_HEADLINE,
    DigestEntry,
    admin_broken_notice,
    alert_message,
    broadcast_message,
    digest_body,
    digest_message,
)
from bot.compose.limits import (
    ELLIPSIS,
    MAX_TEXT,
    clean,
    fit_html,
    shorten,
    utf16_units,
    visible_text,
)
from bot.compose.lines import shown_at
from bot.compose.outgoing import Outgoing
from bot.config import Config, from_mapping
from bot.i18n import LANGUAGES, Language
from bot.reading import listing, summary_message
from bot.sandbox.faults import Refusal
from storage import Database, items
from storage import sources as source_store
from storage.models import FanOutProgress, NewItem, SourceState, StoredItem
from storage.sources import SourceSpec
from storage.subscribers import Keyword, keyword_id
from tests.conftest import TOKEN
from tests.telegram_rules import assert_accepted, emulator_check, independent_check

ZONE = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 8, 23, tzinfo=UTC)
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 11 UTF-16 units
HOSTILE = {
    "10,000 Arabic letters": "ع" * 10_000,
    "10,000 characters in words": "زلزال بقوة " * 910,
    "10,000 Latin, no space": "x" * 10_000,
    "emoji run": FAMILY * 1000,
    "flags": "🇲🇦" * 3000,
    "lone surrogates": "\ud800عاجل\udfff" * 2000,
    "control characters": "\x00\x07\x1b[31m\x7f\x85\u2028خبر\r\n" * 800,
    "unbalanced markup": "<b><i>unclosed <a href='javascript:x'>" * 400,
    "references": "&amp; &bogus; &#xD800; &#0; <script>alert(1)</script>" * 200,
    "direction overrides": "\u202eevil\u2066 \u202a" * 2000,
    "newlines": "\n" * 5000 + "x",
    "combining marks": "بِّ" * 4000,
}
LINKS = [
    "https://site.ma/أخبار/تعليق الدراسة بسبب العاصفة.html",
    "javascript:alert(1)",
    "data:text/html,<b>x</b>",
    "file:///etc/passwd",
    "https://x.ma/" + "ا" * 3000,
    " https://site.ma/a b ",
    None,
]


def item(title: str, url: str | None = "https://site.ma/a", **changes: object) -> StoredItem:
    fields: dict[str, object] = {
        "id": 2**63 - 1,
        "uid": "u",
        "source_id": 1,
        "source_name": "site",
        "url": url,
        "title": title,
        "published_at": NOW,
        "sort_at": NOW,
        "urgent": True,
        "summary": None,
        "image_url": None,
        "story_id": None,
    }
    fields.update(changes)
    return StoredItem(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("language", LANGUAGES)
def test_alerts_fit_whatever_the_headline(name: str, language: Language) -> None:
    for url in LINKS:
        message = alert_message(item(HOSTILE[name], url), language, ZONE, HOSTILE[name], True)
        assert_accepted(message)
        # The summary button always works, whatever the headline and the link.
        assert message.buttons[0][-1].callback == f"sum:{2**63 - 1}"


def test_a_5600_character_headline_is_cut_at_a_word_with_an_ellipsis() -> None:
    headline = "تفاصيل " * 800  # 5,600 characters
    message = alert_message(item(headline), "ar", ZONE, "أخبار المدينة", True)
    assert_accepted(message)
    shown = visible_text(message.text).splitlines()[1].strip("\u200f")
    assert shown.endswith("تفاصيل" + ELLIPSIS)  # a whole word, then «…»
    assert ALERT_HEADLINE // 2 < utf16_units(shown) <= ALERT_HEADLINE
    assert "أخبار المدينة" in message.text  # the source line is still there


def test_links_that_cannot_be_valid_give_no_read_button() -> None:
    for url in ("javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", None):
        message = alert_message(item("خبر", url), "ar", ZONE, "site", True)
        assert [b.url for b in message.buttons[0]] == [None], url
    arabic = alert_message(item("خبر", LINKS[0]), "ar", ZONE, "site", True)
    assert arabic.buttons[0][0].url == (
        "https://site.ma/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D8%AA%D8%B9%D9%84%D9%8A%D9%82%20"
        "%D8%A7%D9%84%D8%AF%D8%B1%D8%A7%D8%B3%D8%A9%20%D8%A8%D8%B3%D8%A8%D8%A8%20"
        "%D8%A7%D9%84%D8%B9%D8%A7%D8%B5%D9%81%D8%A9.html"
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_broadcasts_admin_notices_and_digests_fit(name: str) -> None:
    text = HOSTILE[name]
    for language in LANGUAGES:
        assert_accepted(broadcast_message(text, language))
        assert_accepted(admin_broken_notice(text, text, language))
        entries = [DigestEntry(text, url, text, NOW, True) for url in LINKS] * 5
        assert_accepted(digest_message(digest_body(entries), language, ZONE, NOW))


def test_an_admin_notice_quoting_a_refused_5600_character_title_fits() -> None:
    refused = "Bad Request: message is too long " + "x" * 5000
    notice = admin_broken_notice(refused, "عنوان " * 933)
    assert_accepted(notice)
    assert utf16_units(visible_text(notice.text)) < 1000  # readable, not just under 4,096


@pytest.mark.parametrize("name", HOSTILE)
def test_views_fit(name: str) -> None:
    text = HOSTILE[name]
    config = _config_with_title(text)
    state = SourceState(
        1, "site", "https://site.ma/", "auto", None, None, NOW, NOW, 3, text, NOW, None, False, True
    )
    found = [item(text, url) for url in LINKS] * 3
    for language in LANGUAGES:
        assert_accepted(views.search_results(found, text, config, language))
        assert_accepted(views.sources_status(config, [state] * 30, set(), language, ZONE, NOW))
        assert_accepted(views.settings(None, language, [text] * 20))
        keywords = [Keyword(keyword_id(str(n)), text[:40]) for n in range(20)]
        assert_accepted(views.filters_view(keywords, language))
        assert_accepted(views.help_message(language, admin=True))
        assert_accepted(views.welcome(language))


def _config_with_title(title: str) -> Config:
    data = {"telegram": {"token": TOKEN}, "sources": [{"name": "site", "url": "https://site.ma/"}]}
    config = from_mapping(data, Path("config.toml"), env={})
    # The configuration keeps titles short; the composers must not count on it.
    source = config.sources[0].model_copy(update={"title": title})
    return config.model_copy(update={"sources": [source]})


async def test_latest_and_summary_fit_with_hostile_items(db: Database) -> None:
    config = _config_with_title("أخبار المدينة")
    await source_store.sync(db, [SourceSpec("site", "https://site.ma/", "auto")])
    news = [
        NewItem(
            f"u{n}",
            1,
            f"https://site.ma/{n}" if n % 2 else LINKS[n % len(LINKS)],
            title,
            title,
            NOW + timedelta(hours=3),  # a site's clock running ahead
            NOW,
            urgent=True,
        )
        # SQLite cannot store a lone surrogate (UTF-8): such a title never reaches storage.
        for n, title in enumerate([t for k, t in HOSTILE.items() if k != "lone surrogates"] * 2)
    ]
    ids = await items.insert_new(db, news)
    for language in LANGUAGES:
        found = await listing(db, config, language, 20)
        assert_accepted(found.message)
        assert "11:23" not in found.message.text  # the future time is never shown
        assert "09:23" in found.message.text  # first seen 08:23 UTC, 09:23 in Casablanca
    stored = ids[0]
    assert stored is not None
    await items.save_article_summary(db, stored, [HOSTILE["emoji run"], HOSTILE["flags"]])
    summary = await summary_message(db, config, None, "ar", item_id=stored)  # type: ignore[arg-type]
    assert_accepted(summary)


def test_times_shown_are_the_earlier_of_published_and_first_seen() -> None:
    future = item("خبر", published_at=NOW + timedelta(hours=3), sort_at=NOW)
    assert shown_at(future) == NOW
    past = item("خبر", published_at=NOW - timedelta(hours=1), sort_at=NOW - timedelta(hours=1))
    assert shown_at(past) == NOW - timedelta(hours=1)
    assert shown_at(item("خبر", published_at=None)) == NOW
    alert = alert_message(future, "ar", ZONE, "site", True)
    assert "09:23" in alert.text and "12:23" not in alert.text  # Casablanca is UTC+1
    entries = [DigestEntry.of(future, "site"), DigestEntry("x", None, "s", NOW + timedelta(1), 0)]
    digest = digest_message(digest_body(entries), "fr", ZONE, NOW)
    assert "12:23" not in digest.text and digest.text.count("09:23") == 2


# -- the cut itself -------------------------------------------------------------------------


def test_fit_html_cuts_at_a_line_then_a_word_and_balances_tags() -> None:
    lines = "\n".join(f'<b>سطر {n}</b> <a href="https://x.ma/{n}">رابط {n}</a>' for n in range(900))
    cut = fit_html(lines, 4096)
    assert cut.endswith(ELLIPSIS) and "\n" in cut
    assert cut.count("<b>") == cut.count("</b>") and cut.count("<a ") == cut.count("</a>")
    assert utf16_units(visible_text(cut)) <= 4096
    inside = fit_html("<b><i>" + "كلمة " * 2000 + "</i></b>", 100)
    assert inside.endswith("كلمة" + ELLIPSIS + "</i></b>")


def test_a_cut_never_splits_an_emoji_a_flag_or_a_reference() -> None:
    assert shorten(FAMILY * 10, 30) == FAMILY * 2 + ELLIPSIS  # 22 + 1 units
    assert shorten("🇲🇦" * 10, 11) == "🇲🇦" * 2 + ELLIPSIS
    assert fit_html("&amp;" * 100, 10) == "&amp;" * 9 + ELLIPSIS


def test_clean_drops_what_telegram_or_the_layout_cannot_take() -> None:
    assert clean("a\x00b\x1bc\ud800d\u202ee\u2066f\ufffeg\r\nh\ti") == "abcdefg\nh i"
    assert clean("عَاجِل 👨\u200d👩 ‌") == "عَاجِل 👨\u200d👩 ‌"  # marks, ZWJ, ZWNJ kept


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=6000), st.sampled_from(LANGUAGES))
def test_any_text_makes_an_accepted_alert_and_broadcast(text: str, language: Language) -> None:
    assert_accepted(alert_message(item(text or "x", text), language, ZONE, text, False))
    if clean(text).strip():
        assert_accepted(broadcast_message(text, language))


# -- the checks can fail ---------------------------------------------------------------------


def test_both_checks_refuse_what_telegram_refuses() -> None:
    too_long = object.__new__(Outgoing)  # bypasses the guard, as a composer without it would
    object.__setattr__(too_long, "text", "ع" * 4097)
    object.__setattr__(too_long, "buttons", [])
    with pytest.raises(Refusal, match="too long"):
        emulator_check(too_long)
    assert independent_check(too_long) == ["4097 UTF-16 units"]
    emoji = object.__new__(Outgoing)
    object.__setattr__(emoji, "text", "😀" * 2049)  # 2,049 characters, 4,098 units
    object.__setattr__(emoji, "buttons", [])
    with pytest.raises(Refusal):
        emulator_check(emoji)
    assert independent_check(emoji) == ["4098 UTF-16 units"]
    unbalanced = object.__new__(Outgoing)
    object.__setattr__(unbalanced, "text", "<b>x")
    object.__setattr__(unbalanced, "buttons", [])
    with pytest.raises(Refusal, match="parse entities"):
        emulator_check(unbalanced)
    assert independent_check(unbalanced)


def test_outgoing_guards_every_message() -> None:
    message = Outgoing("ع" * 10_000 + "<b>" + "x" * 10 + "</b>")
    assert utf16_units(visible_text(message.text)) <= MAX_TEXT
    assert json.dumps(message.text)  # serializable as Telegram's JSON
    for empty in ("", "<b></b>", "\u200f\n \u200e"):
        assert_accepted(Outgoing(empty))


def test_stats_show_the_fan_outs_still_walking_only_when_there_are_some() -> None:
    config = _config_with_title("أخبار")
    pending = (0, None)
    walking = FanOutProgress(alerts=2, chats_left=1500)
    expected = {
        "ar": "قيد التوزيع: تنبيهان، ما زال أمامها 1500 محادثة",
        "fr": "En cours de distribution : 2 alertes, encore 1500 conversations à parcourir",
        "en": "Being fanned out: 2 alerts, 1500 chats still to reach",
    }
    for language in LANGUAGES:
        shown = views.stats(10, 9, {}, pending, [], config, language, walking, NOW)
        assert_accepted(shown)
        marks = str.maketrans("", "", "\u200e\u200f")  # the Arabic line isolates its digits
        assert expected[language] in visible_text(shown.text).translate(marks)
        quiet = views.stats(10, 9, {}, pending, [], config, language, FanOutProgress(0, 0), NOW)
        assert "📤" not in quiet.text
    one = views.stats(10, 9, {}, pending, [], config, "en", FanOutProgress(1, 1), NOW)
    assert "Being fanned out: 1 alert, 1 chat still to reach" in visible_text(one.text)


def test_stats_name_broadcasts_being_fanned_out_apart_from_alerts() -> None:
    config = _config_with_title("أخبار")
    expected = {
        # (alerts, broadcasts) → the counted part of the line
        (0, 1): {"ar": "قيد التوزيع: رسالة جماعية واحدة،", "en": "Being fanned out: 1 broadcast,"},
        (3, 2): {
            "ar": "قيد التوزيع: 3 تنبيهات ورسالتان جماعيتان،",
            "fr": "En cours de distribution : 3 alertes et 2 diffusions,",
            "en": "Being fanned out: 3 alerts and 2 broadcasts,",
        },
    }
    marks = str.maketrans("", "", "\u200e\u200f\u2066\u2067\u2068\u2069")
    for (alerts, broadcasts), texts in expected.items():
        walking = FanOutProgress(alerts=alerts, chats_left=10, broadcasts=broadcasts)
        for language, part in texts.items():
            shown = views.stats(10, 9, {}, (0, None), [], config, language, walking, NOW)
            assert_accepted(shown)
            assert part in visible_text(shown.text).translate(marks)
