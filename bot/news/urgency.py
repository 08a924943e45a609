"""Telling urgent items apart: «عاجل» labels on blocks, markers in titles, categories and tags.

Only what a site *says* is urgent is urgent (issue 10): a block introduced by an urgent label
(«عاجل», «خبر عاجل», "Breaking", "Dernière minute"...), a category or tag with such a name, or a
title that *starts* with a marker followed by a separator («عاجل | ...», «عاجل. ...», «[عاجل] ...»),
the marker then removed. «عاجل» inside an ordinary headline is not urgent, and blocks labelled as
latest, most read, trending or a news strip («آخر الأخبار», «الأكثر قراءة», «شريط الأحداث»,
"Trending", "À la une") are headlines, whatever their class names say.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.news.text import normalize

LabelKind = Literal["urgent", "headlines"]

# Labels and title markers that mean "breaking". Matched on normalized text, so «عاجلة» and
# «عاجله», «أخبار» and «اخبار», "Dernière" and "derniere" are the same key.
URGENT_LABELS = frozenset(
    normalize(m)
    for m in (
        "عاجل",
        "عاجلة",
        "عاجل الآن",
        "عاجل جدا",
        "خبر عاجل",
        "أخبار عاجلة",
        "الأخبار العاجلة",
        "تنبيه عاجل",
        "urgent",
        "breaking",
        "breaking news",
        "flash",
        "flash info",
        "alerte",
        "alerte info",
        "dernière minute",
        "dernière heure",
    )
)
MARKERS = URGENT_LABELS
# Labels of blocks that list ordinary headlines, however their markup is named.
HEADLINE_LABELS = frozenset(
    normalize(m)
    for m in (
        "آخر الأخبار",
        "أخر الأخبار",
        "أحدث الأخبار",
        "آخر الأنباء",
        "الأكثر قراءة",
        "الأكثر مشاهدة",
        "الأكثر تداولا",
        "الأكثر تعليقا",
        "شريط الأحداث",
        "شريط الأخبار",
        "مختارات",
        "اخترنا لك",
        "trending",
        "trending now",
        "latest",
        "latest news",
        "most read",
        "most popular",
        "à la une",
        "les plus lus",
        "dernières nouvelles",
        "dernières infos",
        "en continu",
    )
)
_LABEL_WORDS = frozenset(normalize(w) for w in ("عاجل", "عاجلة", "urgent", "breaking", "flash"))
# Decorations around a marker or label: emoji circles and sirens, brackets, quotes, and the
# punctuation that closes a label («عاجل:», "Breaking |").
_DECORATION = " \t\u00a0🔴🚨⚡️❗•*[](){}«»\"'“”:|-–—.…/،"
# What may follow a leading marker: any run of separators or punctuation, spaces around.
_SEPARATOR = re.compile(r"\s*[|:\-–—.…/،؛;!>»]+\s*")
_BRACKETED = re.compile(r"^\s*[\[(«]\s*([^\])»]{1,30}?)\s*[\])»]\s*")
_MAX_LABEL = 40  # characters: a longer text is a sentence, not a label


def label_kind(text: str) -> LabelKind | None:
    """What a block's label says: "urgent", "headlines" (latest, most read...), or None.

    `text` is the label's visible text, a data-* attribute value or an image's alt text; it
    must be the label alone («عاجل», «عاجل:», "Breaking news"), not a sentence containing one.
    """
    if not text or len(text) > _MAX_LABEL:
        return None
    key = normalize(text.strip(_DECORATION))
    if key in URGENT_LABELS:
        return "urgent"
    if key in HEADLINE_LABELS:
        return "headlines"
    return None


def title_urgency(title: str) -> tuple[bool, str]:
    """(urgent?, the title without its marker). Other titles come back unchanged (stripped).

    Urgent: a title that starts with a marker followed by a separator or punctuation
    («عاجل. ...», «عاجل.. ...», «عاجل: ...», «عاجل | ...», «عاجل - ...», «عاجل/ ...»,
    «[عاجل] ...», «(عاجل) ...», "Urgent : ..."), with something after it.
    """
    bracketed = _BRACKETED.match(title)
    if bracketed and normalize(bracketed.group(1).strip(_DECORATION)) in MARKERS:
        rest = title[bracketed.end() :].strip()
        separator = _SEPARATOR.match(rest)
        rest = rest[separator.end() :] if separator else rest
        if rest:
            return True, rest.strip()
    separator = _SEPARATOR.search(title, 0, 40)
    if separator is not None:
        head = title[: separator.start()]
        if normalize(head.strip(_DECORATION)) in MARKERS:
            rest = title[separator.end() :].strip()
            if rest:
                return True, rest
    return False, title.strip()


def is_urgent_label(text: str) -> bool:
    """A category or tag that means "breaking": «عاجل», «أخبار عاجلة», "Urgent", "Breaking News".

    Also a short name built on such a word («عاجل المغرب»); never a headline label.
    """
    kind = label_kind(text)
    if kind is not None:
        return kind == "urgent"
    key = normalize(text.strip(_DECORATION))
    return bool(_LABEL_WORDS & set(key.split())) and len(key.split()) <= 3


# Cheap test before normalizing (a page has thousands of short texts): a letter sequence
# that every label above contains, tatweel and diacritics allowed between Arabic letters.
def _arabic(word: str) -> str:
    return "[\u0640\u064b-\u0652]*".join(word)


_MAYBE_LABEL = re.compile(
    "|".join(
        [_arabic(w) for w in ("عاجل", "خر", "خبار", "كثر", "شريط", "ختار", "خترنا", "حدث", "نباء")]
        + ["breaking", "urgent", "flash", "alert", "derni", "trend", "latest", "most", "une"]
        + ["plus lus", "continu"]
    ),
    re.I,
)


def might_be_label(text: str) -> bool:
    """False when `text` surely is no label of `label_kind` (a fast filter, no normalizing)."""
    return 0 < len(text) <= _MAX_LABEL and _MAYBE_LABEL.search(text) is not None
