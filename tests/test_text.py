"""Arabic text: normalization for matching, sentence splitting, urgency markers, stable ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.news.identity import canonical_url, stable_id
from bot.news.text import normalize, split_sentences, words
from bot.news.urgency import is_urgent_label, title_urgency


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("أحمد", "احمد"),
        ("إسلام", "اسلام"),
        ("آخر", "اخر"),
        ("مدرسة", "مدرسه"),
        ("على", "علي"),
        ("مسؤول", "مسوول"),
        ("رئيس", "رييس"),
        ("عـاجـل", "عاجل"),
        ("عَاجِلٌ", "عاجل"),
        ("\u200fعاجل\u200e", "عاجل"),
        ("٢٠٢٦", "2026"),
        ("ﻻ", "لا"),
        ("Élève  À   Rabat", "eleve a rabat"),
    ],
)
def test_spellings_a_reader_takes_as_the_same_match(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_words_drop_punctuation() -> None:
    assert words("عاجل: «زلزال» يضرب، الحسيمة!") == ["عاجل", "زلزال", "يضرب", "الحسيمه"]


@given(st.text(max_size=200))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_sentence_splitter_keeps_numbers_times_and_headline_dots() -> None:
    body = (
        "نشرت المصالح 6.037 مذكرة بحث قبل الساعة 20:30. وقال المسؤول: «العمل مستمر.» "
        "هل انتهى الأمر؟ لا! مراكش.. مدينة لا تنام… ثم جاء الرد؛ وانتهى النقاش\n"
        "سطر جديد بلا نقطة"
    )
    assert split_sentences(body) == [
        "نشرت المصالح 6.037 مذكرة بحث قبل الساعة 20:30.",
        "وقال المسؤول: «العمل مستمر.»",
        "هل انتهى الأمر؟",
        "لا!",
        "مراكش.. مدينة لا تنام… ثم جاء الرد؛",
        "وانتهى النقاش",
        "سطر جديد بلا نقطة",
    ]


def test_sentence_splitter_keeps_initials() -> None:
    assert split_sentences("صرح د. يوسف العلمي بأن J. Martin حاضر. ثم غادر.") == [
        "صرح د. يوسف العلمي بأن J. Martin حاضر.",
        "ثم غادر.",
    ]


@given(st.text(max_size=400))
def test_sentences_are_verbatim_pieces_of_the_text(text: str) -> None:
    for sentence in split_sentences(text):
        assert sentence and sentence in text


@pytest.mark.parametrize(
    ("title", "urgent", "clean"),
    [
        ("عاجل| وفاة فنان مغربي", True, "وفاة فنان مغربي"),
        ("عاجل: زلزال يضرب الحسيمة", True, "زلزال يضرب الحسيمة"),
        ("عاجل - إغلاق الطريق", True, "إغلاق الطريق"),
        ("عاجل.. انقطاع الكهرباء", True, "انقطاع الكهرباء"),
        ("🔴 عاجل .. انقطاع الكهرباء", True, "انقطاع الكهرباء"),
        ("[عاجل] حريق بسوق", True, "حريق بسوق"),
        ("عاجلة: بيان للوزارة", True, "بيان للوزارة"),
        ("عـاجِل : خبر", True, "خبر"),
        ("Urgent - Séisme près d'Al Hoceima", True, "Séisme près d'Al Hoceima"),
        ("BREAKING: Earthquake hits Morocco", True, "Earthquake hits Morocco"),
        ("بيان عاجل من وزارة الداخلية", False, "بيان عاجل من وزارة الداخلية"),
        ("الحكومة: تدخل عاجل لإنقاذ الموسم", False, "الحكومة: تدخل عاجل لإنقاذ الموسم"),
        ("عاجل", False, "عاجل"),
        ("عاجل:", False, "عاجل:"),
    ],
)
def test_title_urgency(title: str, urgent: bool, clean: str) -> None:
    assert title_urgency(title) == (urgent, clean)


def test_urgent_labels() -> None:
    assert is_urgent_label("عاجل")
    assert is_urgent_label("أخبار عاجلة")
    assert is_urgent_label("Breaking News")
    assert not is_urgent_label("رياضة")
    assert not is_urgent_label("تدخل عاجل للسلطات المحلية في المدينة")


def test_canonical_url_merges_the_same_page() -> None:
    raw = "http://www.Site.ma/2026/11/عاجل-زلزال/?utm_source=fb&fbclid=1#comments"
    encoded = "https://site.ma/2026/11/%D8%B9%D8%A7%D8%AC%D9%84-%D8%B2%D9%84%D8%B2%D8%A7%D9%84"
    assert canonical_url(raw) == canonical_url(encoded)
    assert canonical_url("https://site.ma/?p=12&b=1") == canonical_url("https://site.ma/?b=1&p=12")
    assert canonical_url("https://site.ma/?p=12") != canonical_url("https://site.ma/?p=13")


def test_stable_id_prefers_url_then_guid_then_title() -> None:
    assert stable_id("s", "https://site.ma/a", "g1", "t") == "url:site.ma/a"
    assert stable_id("s", None, "https://site.ma/a/", "t") == "url:site.ma/a"
    assert stable_id("s", None, "tag:site.ma,2026:1", "t") == "guid:s:tag:site.ma,2026:1"
    assert stable_id("s", None, None, "عاجلٌ: خبر") == stable_id("s", None, " ", "عاجل: خبر")


@given(st.text(max_size=80), st.text(max_size=80), st.text(max_size=40))
def test_stable_id_never_raises(url: str, guid: str, title: str) -> None:
    for candidate in (url, "http://" + url, "https://[" + url):
        assert stable_id("s", candidate, guid, title)
