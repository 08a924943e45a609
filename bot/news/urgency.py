"""Telling urgent items apart: «عاجل» markers in titles, categories and tags.

A title is urgent when it *starts* with a marker and a separator («عاجل | ...», «عاجل: ...»,
«Urgent - ...»); the marker is then removed. «عاجل» inside an ordinary headline is not urgent.
"""

from __future__ import annotations

import re

from bot.news.text import normalize

# Normalized forms. «عاجلة» normalizes to «عاجله».
MARKERS = frozenset(
    normalize(m)
    for m in (
        "عاجل",
        "عاجلة",
        "خبر عاجل",
        "أخبار عاجلة",
        "عاجل جدا",
        "تنبيه عاجل",
        "urgent",
        "breaking",
        "breaking news",
        "flash",
        "flash info",
        "alerte",
        "dernière minute",
        "dernière heure",
    )
)
_LABEL_WORDS = frozenset(normalize(w) for w in ("عاجل", "عاجلة", "urgent", "breaking", "flash"))
# Decorations around a marker: emoji circles and sirens, brackets, quotes.
_DECORATION = " \t🔴🚨⚡️❗•*[](){}«»\"'“”"
# Separator after the marker: | : - – — .. (and their runs); a bracketed marker needs none.
_SEPARATOR = re.compile(r"\s*(?:\||:|-|–|—|\.{2,}|…|/)\s*")
_BRACKETED = re.compile(r"^\s*[\[(«]\s*([^\])»]{1,30}?)\s*[\])»]\s*")


def title_urgency(title: str) -> tuple[bool, str]:
    """(urgent?, the title without its marker). Other titles come back unchanged."""
    bracketed = _BRACKETED.match(title)
    if bracketed and normalize(bracketed.group(1).strip(_DECORATION)) in MARKERS:
        rest = title[bracketed.end() :].strip()
        rest = _SEPARATOR.sub("", rest, count=1) if _SEPARATOR.match(rest) else rest
        if rest:
            return True, rest
    for separator in _SEPARATOR.finditer(title, 0, 40):
        head = title[: separator.start()]
        if normalize(head.strip(_DECORATION)) in MARKERS:
            rest = title[separator.end() :].strip()
            if rest:
                return True, rest
        break  # only the first separator can close a leading marker
    return False, title.strip()


def is_urgent_label(text: str) -> bool:
    """A category, tag or ticker label that means "breaking": «عاجل», «أخبار عاجلة», "Urgent"."""
    key = normalize(text.strip(_DECORATION))
    if key in MARKERS:
        return True
    return bool(_LABEL_WORDS & set(key.split())) and len(key.split()) <= 3
