"""Links: every URL Ajil puts in a button or an <a href> is a valid absolute http(s) URI, and
the emulator refuses button URLs as Telegram does."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.compose.links import MAX_URL, safe_url
from bot.sandbox.faults import BUTTON_URL_WORDINGS, Faults, Refusal
from bot.sandbox.methods import validate_message
from bot.sandbox.telegram_html import check_button_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://site.ma/أخبار/تعليق الدراسة.html",
            "https://site.ma/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/"
            "%D8%AA%D8%B9%D9%84%D9%8A%D9%82%20%D8%A7%D9%84%D8%AF%D8%B1%D8%A7%D8%B3%D8%A9.html",
        ),
        ("http://مثال.إختبار/?q=زلزال الحسيمة#أ", None),  # checked below, host in IDNA
        ("HTTPS://Site.MA", "https://site.ma/"),
        ("https://site.ma/a%20b%zz", "https://site.ma/a%20b%25zz"),  # valid escapes kept
        ("https://trusted.ma@evil.example/x", "https://evil.example/x"),  # no user info
        ("  https://site.ma/x\n", "https://site.ma/x"),
        ("https://site.ma/\u202egnp.exe", "https://site.ma/gnp.exe"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_iris_become_uris(raw: str, expected: str | None) -> None:
    uri = safe_url(raw)
    assert uri is not None and check_button_url(uri) is None
    if expected is not None:
        assert uri == expected
    assert unquote(urlsplit(uri).path) == unquote(urlsplit(uri).path)  # decodable


def test_idna_host_and_utf8_query() -> None:
    uri = safe_url("http://مثال.إختبار/?q=زلزال الحسيمة#أ")
    assert uri == (
        "http://xn--mgbh0fb.xn--kgbechtv/?q=%D8%B2%D9%84%D8%B2%D8%A7%D9%84%20"
        "%D8%A7%D9%84%D8%AD%D8%B3%D9%8A%D9%85%D8%A9#%D8%A3"
    )


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://site.ma/x",
        "mailto:a@b.ma",
        "tg://resolve?domain=x",
        "//site.ma/x",
        "/relative/path",
        "https://",
        "https:///x",
        "https://exa mple.ma/",
        "https://site.ma:99999/",
        "https://site.ma:8o/",
        "https://[::1/x",
        "https://x.ma/" + "a" * MAX_URL,
        "",
        None,
    ],
)
def test_other_schemes_and_broken_urls_give_no_link(raw: str | None) -> None:
    assert safe_url(raw) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_path_gives_a_uri_telegram_takes(path: str) -> None:
    uri = safe_url("https://site.ma/" + path)
    if uri is not None:
        assert check_button_url(uri) is None, uri
        assert uri.isascii() and " " not in uri and len(uri) <= MAX_URL


def test_the_emulator_refuses_button_urls_like_telegram() -> None:
    def send(url: str) -> None:
        markup = {"inline_keyboard": [[{"text": "اقرأ", "url": url}]]}
        validate_message({"text": "x", "reply_markup": json.dumps(markup, ensure_ascii=False)})

    send("https://site.ma/%D8%A3")
    for bad in ("https://site.ma/أخبار", "https://site.ma/a b", "javascript:alert(1)", "x"):
        with pytest.raises(Refusal, match="inline keyboard button URL"):
            send(bad)


@pytest.mark.parametrize("wording", BUTTON_URL_WORDINGS)
def test_a_button_url_refusal_on_demand_in_each_wording(wording: str) -> None:
    faults = Faults(button_url_refusals={"": wording})
    faults.check_buttons({"inline_keyboard": [[{"text": "t", "callback_data": "sum:1"}]]})
    with pytest.raises(Refusal) as refused:
        faults.check_buttons({"inline_keyboard": [[{"text": "t", "url": "https://a.ma/"}]]})
    assert refused.value.code == 400
    assert refused.value.description == "Bad Request: " + wording.replace("{url}", "https://a.ma/")
