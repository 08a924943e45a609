"""Reading what users type for their preferences: times, quiet hours, keywords, languages.

Pure functions; each returns None (or raises nothing) for input that is not valid, so that the
handler answers with a usage line.
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import LANGUAGES, Language
from bot.news.text import normalize, western_digits

MAX_FILTERS = 20
MAX_WORD = 40
_TIME = re.compile(r"^([01]?\d|2[0-3])[:h.]([0-5]\d)$")


def parse_time(text: str) -> int | None:
    """'07:30', '7:30', '07h30', '٠٧:٣٠' -> minutes after midnight."""
    match = _TIME.match(western_digits(text.strip()))
    if not match:
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_quiet(args: list[str]) -> tuple[int, int] | bool | None:
    """/quiet 23:00-07:00 -> (1380, 420); /quiet off -> None; anything else -> False."""
    text = " ".join(args).strip()
    if text.lower() in ("off", "stop", "none", "لا", "إلغاء", "الغاء"):
        return None
    parts = re.split(r"\s*[-–—]\s*|\s+", western_digits(text))
    if len(parts) != 2:
        return False
    start, end = parse_time(parts[0]), parse_time(parts[1])
    if start is None or end is None or start == end:
        return False
    return start, end


def parse_digest(args: list[str]) -> int | bool | None:
    """/digest 20:00 -> 1200; /digest off -> None; anything else -> False."""
    if len(args) != 1:
        return False
    if args[0].lower() in ("off", "stop", "none", "إلغاء", "الغاء"):
        return None
    minutes = parse_time(args[0])
    return False if minutes is None else minutes


def parse_language(args: list[str]) -> Language | None:
    if len(args) != 1:
        return None
    wanted = args[0].strip().lower()
    aliases = {"العربية": "ar", "عربي": "ar", "français": "fr", "francais": "fr", "english": "en"}
    wanted = aliases.get(wanted, wanted)
    for language in LANGUAGES:
        if wanted == language:
            return language
    return None


def shown_keyword(text: str) -> str:
    """A keyword as the user wrote it, for display: controls, direction overrides and the
    punctuation around it removed, spaces collapsed; letters and spelling untouched."""
    visible = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs"))
    return " ".join(visible.split()).strip(" .,;:!?\"'«»()[]{}<>")


def clean_keyword(text: str) -> str | None:
    """A keyword as stored: normalized, without controls, direction overrides or markup."""
    visible = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs"))
    word = normalize(visible).strip(" .,;:!?\"'«»()[]{}<>")
    if not word or len(word) > MAX_WORD or any(c in word for c in "<>&"):
        return None
    return word
