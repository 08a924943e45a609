"""Message catalogs: every message in every language, the same placeholders, right plurals."""

from __future__ import annotations

import re

import pytest

from bot.i18n import LANGUAGES, catalog, pick_language, translator

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_no_message_is_missing_in_any_language() -> None:
    keys = {lang: set(catalog(lang).singular) | set(catalog(lang).plural) for lang in LANGUAGES}
    every = set().union(*keys.values())
    for lang in LANGUAGES:
        assert not every - keys[lang], f"{lang} lacks {sorted(every - keys[lang])}"
        assert all(catalog(lang).singular.values()), f"{lang} has an empty message"


def test_placeholders_agree_across_languages() -> None:
    for key, text in catalog("ar").singular.items():
        wanted = set(PLACEHOLDER.findall(text))
        for lang in ("fr", "en"):
            assert set(PLACEHOLDER.findall(catalog(lang).singular[key])) == wanted, (lang, key)


def test_arabic_has_six_plural_forms() -> None:
    forms = catalog("ar").plural["n-headlines"]
    assert len(forms) == 6 and len(set(forms)) == 6
    t = translator("ar")
    assert [t.n("n-headlines", n) for n in (0, 1, 2, 3, 11, 100)] == [
        "لا عناوين",
        "عنوان واحد",
        "عنوانان",
        "3 عناوين",
        "11 عنوانا",
        "100 عنوان",
    ]
    assert t.n("n-headlines", 105) == "105 عناوين"  # 105 % 100 = 5: the 3-10 form
    assert translator("en").n("n-headlines", 1) == "1 headline"
    assert translator("fr").n("n-headlines", 0) == "0 titre"


@pytest.mark.parametrize(
    ("code", "language"),
    [("ar", "ar"), ("fr-FR", "fr"), ("en-US", "en"), ("es", "ar"), (None, "ar"), ("ar_MA", "ar")],
)
def test_language_from_telegram(code: str | None, language: str) -> None:
    assert pick_language(code) == language


def test_counts_in_admin_texts_take_each_languages_plural_forms() -> None:
    from bot.i18n import translator

    ar, en, fr = translator("ar"), translator("en"), translator("fr")
    assert [ar.n("n-chats", n) for n in (1, 2, 5, 11, 100)] == [
        "محادثة واحدة",
        "محادثتان",
        "5 محادثات",
        "11 محادثة",
        "100 محادثة",
    ]
    assert ar("broadcast-queued", chats=ar.n("n-chats", 5)).endswith("إلى 5 محادثات.")
    assert [en.n("n-chats", n) for n in (1, 2)] == ["1 chat", "2 chats"]
    assert [fr.n("n-failures", n) for n in (1, 3)] == ["1 échec", "3 échecs"]
    assert ar.n("n-minutes", 2) == "دقيقتان" and en.n("n-messages", 1) == "1 message"
