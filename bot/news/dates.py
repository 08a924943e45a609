"""Dates as news sites write them: Arabic datelines of every region, French (and English,
Spanish and Portuguese month names, «2 de abril de 2020», «January 18, 2020»), numeric dates
(17/03/2018 19:36, 24.08.2020, 2020/08/24 09:23), ISO 8601, RFC 822.

Table-driven and pure. A local time is read in the source's time zone (Africa/Casablanca by
default, which is UTC+00 during Ramadan and UTC+01 otherwise). What cannot be read with
certainty is None, never a guess.

Numeric dates: year first is always year-month-day (ISO 8601's order; no locale writes
year-day-month). Year last is day-month-year with dots in every locale, and with slashes or
dashes unless the page is month-first: CLDR's short date patterns are day-first for Arabic
("d/M/y"), French ("dd/MM/y"), British English and nearly every other locale, month-first for
US English ("M/d/yy"). Where the order is unknown (`day_first=None`) a date whose two numbers
are both 12 or less is ambiguous and read as None.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from bot.news.text import normalize

CASABLANCA = ZoneInfo("Africa/Casablanca")

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("يناير", "جانفي", "كانون الثاني", "janvier", "janv", "january", "jan", "enero", "janeiro"),
    2: (
        "فبراير",
        "فيفري",
        "شباط",
        "février",
        "fevrier",
        "févr",
        "fevr",
        "february",
        "feb",
        "febrero",
        "fevereiro",
    ),
    3: ("مارس", "آذار", "mars", "march", "mar", "marzo", "março"),
    4: ("أبريل", "إبريل", "ابريل", "أفريل", "نيسان", "avril", "avr", "april", "apr", "abril"),
    5: ("مايو", "ماي", "أيار", "mai", "may", "mayo", "maio"),
    6: ("يونيو", "يونيه", "جوان", "حزيران", "juin", "june", "jun", "junio", "junho"),
    7: (
        "يوليو",
        "يوليه",
        "يوليوز",
        "جويلية",
        "جويلة",
        "تموز",
        "juillet",
        "juil",
        "july",
        "jul",
        "julio",
        "julho",
    ),
    8: ("أغسطس", "اغسطس", "غشت", "أوت", "أغشت", "آب", "août", "aout", "august", "aug", "agosto"),
    9: (
        "سبتمبر",
        "شتنبر",
        "شتمبر",
        "أيلول",
        "septembre",
        "sept",
        "september",
        "sep",
        "septiembre",
        "setiembre",
        "setembro",
    ),
    10: ("أكتوبر", "اكتوبر", "تشرين الأول", "octobre", "oct", "october", "octubre", "outubro"),
    11: ("نوفمبر", "نونبر", "تشرين الثاني", "novembre", "nov", "november", "noviembre", "novembro"),
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
        "diciembre",
        "dezembro",
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
# «مند» (with dal) is a common misspelling of «منذ» on Moroccan sites (alyaoum24's cards).
_RELATIVE_AR = re.compile(r"^(?:منذ|مند|قبل)\s+(?:(\d+)\s+)?([^\W\d_]+)$")
_RELATIVE_FR = re.compile(r"^il y a\s+(\d+|une?|quelques)\s+([a-z]+)$")
_RELATIVE_EN = re.compile(r"^(\d+|an?|one)\s+([a-z]+)\s+ago$")
_JUST_NOW = {"منذ لحظات", "مند لحظات", "قبل لحظات", "الان", "a l'instant", "just now"}


def parse_date(
    text: str | None,
    tz: tzinfo = CASABLANCA,
    now: datetime | None = None,
    day_first: bool | None = True,
) -> datetime | None:
    """The moment a dateline names, timezone-aware, or None when it cannot be read for sure.

    `tz` is the source's zone, used when the text names no offset; `now` anchors relative times
    («منذ 3 ساعات»; without it they are None); `day_first` orders a numeric date whose year comes
    last: True for day/month (Arabic, French), False for month/day (US English), None when the
    page's convention is unknown (then only unambiguous dates are read). At most 200 characters.
    """
    if not text:
        return None
    plain = normalize(text)
    if not plain or len(plain) > 200:
        return None
    return (
        _iso(plain, tz)
        or _rfc822(text)
        or _relative(plain, now)
        or _dateline(plain, tz)
        or _numeric(plain, tz, day_first)
    )


# A numeric date: the same separator twice, a four-digit year first or last.
_NUMERIC = re.compile(
    r"(?<![\d./-])(?:(?P<y1>\d{4})(?P<s1>[./-])(?P<m1>\d{1,2})(?P=s1)(?P<d1>\d{1,2})"
    r"|(?P<a>\d{1,2})(?P<s2>[./-])(?P<b>\d{1,2})(?P=s2)(?P<y2>\d{4}))(?![\d./-]|:\d)"
)
_CLOCK = re.compile(
    r"(?<![\d:])(?P<h>\d{1,2})[:h](?P<m>\d{2})(?::(?P<s>\d{2}))?(?![\d:])"
    r"(?:\s*(?P<ampm>[^\W\d_]+(?:\.[^\W\d_]+)?\.?))?"
)


def _numeric(plain: str, tz: tzinfo, day_first: bool | None) -> datetime | None:
    found = list(_NUMERIC.finditer(plain))
    if len({m.group(0) for m in found}) != 1:
        return None  # none, or two different dates: not for sure
    match = found[0]
    if match.group("y1"):
        year, month, day = int(match.group("y1")), int(match.group("m1")), int(match.group("d1"))
    else:
        first, second, year = int(match.group("a")), int(match.group("b")), int(match.group("y2"))
        if match.group("s2") == "." or first > 12:
            day_first_here: bool | None = True
        elif second > 12:
            day_first_here = False
        elif first == second:
            day_first_here = True  # either order gives the same date
        else:
            day_first_here = day_first
        if day_first_here is None:
            return None
        day, month = (first, second) if day_first_here else (second, first)
    if not 1900 <= year <= 2100:
        return None
    hour = minute = second_of_minute = 0
    rest = plain[: match.start()] + " " + plain[match.end() :]
    clock = _CLOCK.search(rest)
    if clock:
        hour, minute = int(clock.group("h")), int(clock.group("m"))
        second_of_minute = int(clock.group("s") or 0)
        meridiem = (clock.group("ampm") or "").rstrip(".")
        if meridiem in _PM or meridiem in _AM:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if meridiem in _PM else 0)
    try:
        return datetime(year, month, day, hour, minute, second_of_minute, tzinfo=tz)
    except ValueError:
        return None


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


def parse_relative(text: str | None, now: datetime | None) -> datetime | None:
    """A relative time alone («منذ 3 ساعات», «il y a 5 minutes», «2 hours ago»): `now` minus
    it; None for anything else, or without `now`. At most 200 characters."""
    if not text or now is None:
        return None
    plain = normalize(text)
    return _relative(plain, now) if len(plain) <= 200 else None


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
        if m.group(0) != "de"  # Spanish and Portuguese «2 de abril de 2020»
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


# A clock alone, as a homepage's latest-news list shows it: «17:29», «9:05 م», «21h05».
_CLOCK_ONLY = re.compile(r"^(\d{1,2})[:h](\d{2})(?:\s*([^\W\d_]+(?:\.[^\W\d_]+)?)\.?)?$")
# How far ahead of our clock a site's clock may run and still mean today.
CLOCK_SKEW = timedelta(minutes=10)


def parse_clock(text: str | None, tz: tzinfo, now: datetime) -> datetime | None:
    """The moment a time of day alone stands for: its latest occurrence at or before `now`.

    A homepage's «آخر الأخبار» list shows only the clock (alyaoum24: «17:29», «0:39»), newest
    first, and the day is the reader's: «23:59» read at 00:10 is yesterday's. `tz` is the
    source's zone (the clock is the site's); a clock up to CLOCK_SKEW ahead of `now` is today's
    (the site's clock runs fast). ص/م, AM/PM and «مساء» read as in datelines; a trailing GMT or
    UTC puts the clock in UTC. None when `text` is not a clock alone (a date, a sentence, 25:00).
    """
    if not text:
        return None
    match = _CLOCK_ONLY.match(normalize(text).rstrip(". "))
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    meridiem = match.group(3)
    if meridiem in ("gmt", "utc"):  # Sputnik's «17:53 GMT»: the clock names its zone
        tz, meridiem = UTC, None
    if meridiem is not None:
        meridiem = meridiem.rstrip(".")
        if (meridiem not in _PM and meridiem not in _AM) or not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem in _PM else 0)
    if hour > 23 or minute > 59:
        return None
    local = now.astimezone(tz)
    for days_back in (0, 1):
        day = (local - timedelta(days=days_back)).date()
        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if moment <= now + CLOCK_SKEW:
            return moment
    return None  # unreachable: yesterday's clock is always before now


def day_first_of(lang: str | None) -> bool | None:
    """A page's numeric date order from its `<html lang>`: US English is month first (CLDR's
    "M/d/yy"), a bare «en» unknown, anything else day first (Arabic "d/M/y", French…)."""
    lang = (lang or "").strip().lower().replace("_", "-")
    if lang == "en-us":
        return False
    return None if lang == "en" else True


def latest_possible(moment: datetime) -> datetime:
    """The latest instant a published time may stand for, same zone.

    A date without a time of day (a dateline «24.08.2020», htmldate's day) is read as 00:00:00
    local; the article may come from any moment of that day, so its latest possible instant is
    the next midnight. Any other time stands for itself. A staleness check («older than N
    hours») compares this value, so an article dated only by its day is never called stale
    while that day may still be today.
    """
    local = moment.replace(tzinfo=None)
    if local.time() == local.time().min:
        return moment + timedelta(days=1)
    return moment
