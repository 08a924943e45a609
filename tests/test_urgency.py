"""Urgent labels and title markers: every label and separator the sites use, and what is not one.

Every text here was written for these tests.
"""

from __future__ import annotations

import pytest

from bot.news.urgency import (
    HEADLINE_LABELS,
    URGENT_LABELS,
    is_urgent_label,
    label_kind,
    might_be_label,
    title_urgency,
)
from tests import sites

URGENT = [
    *sites.URGENT_LABELS,
    "اخبار عاجلة",
    "عـاجِل",
    "BREAKING NEWS",
    "عاجل:",
    "🔴 عاجل",
    "« عاجل »",
]
HEADLINES = sites.HEADLINE_LABELS


@pytest.mark.parametrize("label", URGENT)
def test_urgent_labels(label: str) -> None:
    assert label_kind(label) == "urgent"
    assert might_be_label(label)


@pytest.mark.parametrize(
    ("name", "urgent"),
    [
        # Labels with no "breaking" word of their own: known as labels, not by their words.
        ("Dernière minute", True),
        ("Alerte info", True),
        # Short names built on such a word: three words at most.
        ("عاجل المغرب", True),
        ("عاجل من المغرب", True),
        ("عاجل من جهة المغرب", False),
        ("رياضة", False),
    ],
)
def test_categories_and_tags_that_mean_breaking(name: str, urgent: bool) -> None:
    assert is_urgent_label(name) is urgent


@pytest.mark.parametrize("label", HEADLINES)
def test_headline_labels_are_not_urgent(label: str) -> None:
    assert label_kind(label) == "headlines"
    assert might_be_label(label)
    assert not is_urgent_label(label)


@pytest.mark.parametrize(
    "text",
    ["رياضة", "تدخل عاجل للسلطات المحلية في المدينة", "", "أخبار عاجلة " * 5, "Trending topics"],
)
def test_other_texts_are_no_label(text: str) -> None:
    assert label_kind(text) is None


def test_the_fast_filter_lets_every_label_through() -> None:
    # might_be_label must never drop a label the normalized tables hold.
    assert all(might_be_label(label) for label in URGENT_LABELS | HEADLINE_LABELS)
    assert not might_be_label("مجلس المدينة يصادق على الميزانية")


@pytest.mark.parametrize(
    ("title", "clean"),
    [
        ("عاجل. تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل.. تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل: تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل | تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل| تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل - تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل/ تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("عاجل، تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("[عاجل] تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("(عاجل) تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("«عاجل» تعليق الدراسة بسبب العاصفة", "تعليق الدراسة بسبب العاصفة"),
        ("خبر عاجل: تعليق الدراسة", "تعليق الدراسة"),
        ("Urgent : fermeture du port", "fermeture du port"),
        ("Breaking: port closed", "port closed"),
    ],
)
def test_title_markers_with_any_separator(title: str, clean: str) -> None:
    assert title_urgency(title) == (True, clean)


@pytest.mark.parametrize(
    "title",
    [
        "بيان عاجل من الولاية بشأن العاصفة",
        "عاجل تعليق الدراسة",  # no separator: an ordinary sentence
        "الوزارة: تدخل عاجل لإصلاح الطريق",
        "صور | الأمطار تغمر الشوارع",
        "عاجل.",
        "[عاجل]",
    ],
)
def test_ordinary_titles_stay_as_they_are(title: str) -> None:
    assert title_urgency(title) == (False, title.strip())


def test_a_label_is_forty_characters_at_most() -> None:
    # Padding stands in for a sentence's length: what decides is the length, before stripping.
    assert label_kind("عاجل" + " " * 36) == "urgent"  # 40 characters
    assert might_be_label("عاجل" + " " * 36)
    assert label_kind("عاجل" + " " * 37) is None  # 41: a sentence, not a label
    assert not might_be_label("عاجل" + " " * 37)


def test_a_decorated_marker_in_brackets_leads_an_urgent_title() -> None:
    assert title_urgency("[🔴 عاجل] انقطاع الماء عن حي السلام") == (
        True,
        "انقطاع الماء عن حي السلام",
    )


def test_a_separator_after_a_bracketed_marker_goes_with_it() -> None:
    assert title_urgency("[عاجل] - انقطاع الماء عن حي السلام") == (
        True,
        "انقطاع الماء عن حي السلام",
    )
