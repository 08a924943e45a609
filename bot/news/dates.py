"""Dates as news sites write them: Arabic datelines of every region, French, ISO 8601, RFC 822.

Table-driven and pure. A local time is read in the source's time zone (Africa/Casablanca by
default, which is UTC+00 during Ramadan and UTC+01 otherwise). What cannot be read with
certainty is None, never a guess.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from bot.news.text import normalize

CASABLANCA = ZoneInfo("Africa/Casablanca")

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("يناير", "جانفي", "كانون الثاني", "janvier", "janv", "january", "jan"),
    2: ("فبراير", "فيفري", "شباط", "février", "fevrier", "févr", "fevr", "february", "feb"),
    3: ("مارس", "آذار", "mars", "march", "mar"),
    4: ("أبريل", "إبريل", "ابريل", "أفريل", "نيسان", "avril", "avr", "april", "apr"),
    5: ("مايو", "ماي", "أيار", "mai", "may"),
    6: ("يونيو", "يونيه", "جوان", "حزيران", "juin", "june", "jun"),
    7: ("يوليو", "يوليه", "يوليوز", "جويلية", "جويلة", "تموز", "juillet", "juil", "july", "jul"),
    8: ("أغسطس", "اغسطس", "غشت", "أوت", "أغشت", "آب", "août", "aout", "august", "aug"),
    9: ("سبتمبر", "شتنبر", "شتمبر", "أيلول", "septembre", "sept", "september", "sep"),
    10: ("أكتوبر", "اكتوبر", "تشرين الأول", "octobre", "oct", "october"),
    11: ("نوفمبر", "نونبر", "تشرين الثاني", "novembre", "nov", "november"),
    12: (
        "ديسمبر",
        "دجنبر",
        "دجمبر",
        "كانون الأول",
        "décembre",
        "decembre",
        "déc",
        "dec",
        "december",
    ),
}
# Normalized name -> month; two-word Levantine names are looked up as a pair of tokens.
MONTHS: dict[str, int] = {
    normalize(name): month for month, names in _MONTH_NAMES.items() for name in names
}
_PM = {normalize(w) for w in ("م", "مساء", "مساءً", "مساءا", "ليلا", "pm", "p.m")}
_AM = {normalize(w) for w in ("ص", "صباحا", "صباحًا", "صباح", "فجرا", "am", "a.m")}

_TOKEN = re.compile(
    r"(?P<time>\d{1,2}[:h]\d{2}(?::\d{2})?|\d{1,2}h(?![^\W\d_]))|(?P<num>\d+)|(?P<word>[^\W\d_]+(?:\.[^\W\d_]+)?)"
)
_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$",
    re.IGNORECASE,
)

# Relative times: «منذ 3 ساعات», «قبل ساعتين», «il y a 5 minutes», «5 minutes ago».
_UNITS: dict[str, tuple[str, int]] = {}
# Arabic duals carry their number: «ساعتين» is two hours.
_DUALS = {"ثانيتين", "دقيقتين", "دقيقتان", "ساعتين", "ساعتان", "يومين", "يومان", "اسبوعين"}
for _unit, _forms in {
    "seconds": ("ثانيه", "ثواني", "ثوان", "ثانيتين", "seconde", "secondes", "second", "seconds"),
    "minutes": ("دقيقه", "دقائق", "دقيقتين", "دقيقتان", "minute", "minutes", "min", "mn"),
    "hours": ("ساعه", "ساعات", "ساعتين", "ساعتان", "heure", "heures", "hour", "hours", "h"),
    "days": ("يوم", "ايام", "يومين", "يومان", "jour", "jours", "day", "days"),
    "weeks": ("اسبوع", "اسابيع", "اسبوعين", "semaine", "semaines", "week", "weeks"),
}.items():
    for _form in _forms:
        _UNITS[normalize(_form)] = (_unit, 2 if _form in _DUALS else 1)
_RELATIVE_AR = re.compile(r"^(?:منذ|قبل)\s+(?:(\d+)\s+)?([^\W\d_]+)$")
_RELATIVE_FR = re.compile(r"^il y a\s+(\d+|une?|quelques)\s+([a-z]+)$")
_RELATIVE_EN = re.compile(r"^(\d+|an?|one)\s+([a-z]+)\s+ago$")
_JUST_NOW = {"منذ لحظات", "قبل لحظات", "الان", "a l'instant", "just now"}


def parse_date(
    text: str | None, tz: tzinfo = CASABLANCA, now: datetime | None = None
) -> datetime | None:
    """The moment a dateline names, timezone-aware, or None when it cannot be read for sure."""
    if not text:
        return None
    plain = normalize(text)
    if not plain or len(plain) > 200:
        return None
    return _iso(plain, tz) or _rfc822(text) or _relative(plain, now) or _dateline(plain, tz)


def _iso(plain: str, tz: tzinfo) -> datetime | None:
    match = _ISO.match(plain.upper())
    if not match:
        return None
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if offset is None:
        return moment.replace(tzinfo=tz)
    if offset == "Z":
        return moment.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return moment.replace(tzinfo=_fixed(sign * (hours * 60 + minutes)))


def _fixed(minutes: int) -> tzinfo:
    return timezone(timedelta(minutes=minutes))


def _rfc822(text: str) -> datetime | None:
    if not re.search(r"\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}", text):
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": UTC with no claim about the local zone
        moment = moment.replace(tzinfo=UTC)
    return moment


def _relative(plain: str, now: datetime | None) -> datetime | None:
    if now is None:
        return None
    plain = plain.rstrip(". ")
    if plain in _JUST_NOW:
        return now
    for pattern in (_RELATIVE_AR, _RELATIVE_FR, _RELATIVE_EN):
        match = pattern.match(plain)
        if not match:
            continue
        number, unit_word = match.groups()
        found = _UNITS.get(unit_word)
        if found is None:
            return None
        unit, implied = found
        if number is None or not number.isdigit():
            if number == "quelques":
                return None  # "a few": not a number we can stand behind
            count = implied
        else:
            count = int(number)
        if count > 10_000:
            return None
        return now - timedelta(**{unit: count})
    return None


def _dateline(plain: str, tz: tzinfo) -> datetime | None:
    tokens = [
        (m.lastgroup, m.group(m.lastgroup or "word"))
        for m in _TOKEN.finditer(plain.replace("/", " ").replace(",", " "))
    ]
    day = month = year = None
    hour = minute = second = None
    meridiem: str | None = None
    time_seen_at = -1
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "word":
            pair = f"{value} {tokens[i + 1][1]}" if i + 1 < len(tokens) else None
            found = MONTHS.get(pair) if pair else None
            step = 2 if found else 1
            found = found or MONTHS.get(value.rstrip("."))
            if found is not None:
                if month is not None and month != found:
                    return None  # two different months: ambiguous
                if month is None:
                    month = found
                    day = day or _adjacent_day(tokens, i, i + step)
                i += step
                continue
            if hour is not None and i == time_seen_at + 1 and value in _PM | _AM:
                meridiem = "pm" if value in _PM else "am"
        elif kind == "num":
            if len(value) == 4 and year is None and 1900 <= int(value) <= 2100:
                year = int(value)
        elif kind == "time" and hour is None:
            parts = re.split(r"[:h]", value)
            hour, minute = int(parts[0]), int(parts[1] or 0)
            second = int(parts[2]) if len(parts) > 2 else 0
            time_seen_at = i
        i += 1
    if day is None or month is None or year is None:
        return None
    if hour is not None and meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    try:
        return datetime(year, month, day, hour or 0, minute or 0, second or 0, tzinfo=tz)
    except ValueError:
        return None


def _adjacent_day(tokens: list[tuple[str | None, str]], before: int, after: int) -> int | None:
    """The day number written just before the month («31 مايو»), else just after («May 31»)."""
    for index in (before - 1, after):
        if 0 <= index < len(tokens) and tokens[index][0] == "num":
            value = tokens[index][1]
            if len(value) <= 2 and 1 <= int(value) <= 31:
                return int(value)
    return None
