"""Arabic and French datelines, relative times, ISO 8601 and RFC 822, in Morocco's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.news.dates import CLOCK_SKEW, parse_clock, parse_date, parse_relative

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CAIRO = ZoneInfo("Africa/Cairo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Morocco is UTC+01, and UTC+00 during Ramadan (11 April - 16 May 2021).
        ("الإثنين 31 مايو 2021 على الساعة 20:30", utc(2021, 5, 31, 19, 30)),
        ("الاثنين 31 مايو 2021 على الساعة 20:30", utc(2021, 5, 31, 19, 30)),
        ("الثلاثاء 20 أبريل 2021 على الساعة 20:30", utc(2021, 4, 20, 20, 30)),
        ("20 إبريل 2021 20:30", utc(2021, 4, 20, 20, 30)),
        # Moroccan month names.
        ("31 ماي 2021 على الساعة 20:30", utc(2021, 5, 31, 19, 30)),
        ("4 يوليوز 2024 على الساعة 09:15", utc(2024, 7, 4, 8, 15)),
        ("الجمعة 9 غشت 2024 2:15 م", utc(2024, 8, 9, 13, 15)),
        ("12 شتنبر 2023 11:05", utc(2023, 9, 12, 10, 5)),
        ("3 نونبر 2025، 18:00", utc(2025, 11, 3, 17, 0)),
        ("25 دجنبر 2025 - 07:45", utc(2025, 12, 25, 6, 45)),
        # Algerian and Tunisian.
        ("الجمعة 8 فيفري 2019", utc(2019, 2, 7, 23, 0)),
        ("1 جانفي 2024 10:00", utc(2024, 1, 1, 9, 0)),
        ("5 أفريل 2023 10:00", utc(2023, 4, 5, 10, 0)),  # Ramadan: UTC+00
        ("25 أفريل 2023 10:00", utc(2023, 4, 25, 9, 0)),
        ("14 جويلية 2022 10:00", utc(2022, 7, 14, 9, 0)),
        ("20 أوت 2022 10:00", utc(2022, 8, 20, 9, 0)),
        ("10 جوان 2022 10:00", utc(2022, 6, 10, 9, 0)),
        # Levantine, and the dual form of Egyptian and Gulf sites.
        ("5 كانون الثاني 2020 10:00", utc(2020, 1, 5, 9, 0)),
        ("1 تشرين الأول 2022 10:00", utc(2022, 10, 1, 9, 0)),
        ("8 أكتوبر/ تشرين الأول 2023", utc(2023, 10, 7, 23, 0)),
        ("17 آذار 2020 10:00", utc(2020, 3, 17, 9, 0)),
        # AM/PM, trailing Gregorian marker, Eastern digits, a comma after the weekday.
        ("الإثنين، 24 أغسطس 2020 09:23 ص", utc(2020, 8, 24, 8, 23)),
        ("الأربعاء، 07 أكتوبر 2020 - 12:09 م", utc(2020, 10, 7, 11, 9)),
        ("الأربعاء، 07 أكتوبر 2020 - 12:09 ص", utc(2020, 10, 6, 23, 9)),
        ("03 يونيو 2020م", utc(2020, 6, 2, 23, 0)),
        ("٣١ مايو ٢٠٢١ على الساعة ٢٠:٣٠", utc(2021, 5, 31, 19, 30)),
        ("13 ديسمبر2018", utc(2018, 12, 12, 23, 0)),
        # French.
        ("31 mai 2021 à 20h30", utc(2021, 5, 31, 19, 30)),
        ("Lundi 31 mai 2021 à 20h", utc(2021, 5, 31, 19, 0)),
        ("1er décembre 2025 à 08:00", None),  # "1er" is not a bare day number: refused
        ("12 févr. 2024 à 10h05", utc(2024, 2, 12, 9, 5)),
        # ISO 8601 and RFC 822 with their own offsets.
        ("2021-05-31T20:30:00+01:00", utc(2021, 5, 31, 19, 30)),
        ("2021-05-31T19:30:00Z", utc(2021, 5, 31, 19, 30)),
        ("2021-05-31 20:30", utc(2021, 5, 31, 19, 30)),
        ("Mon, 31 May 2021 20:30:00 +0100", utc(2021, 5, 31, 19, 30)),
        ("Mon, 31 May 2021 19:30:00 GMT", utc(2021, 5, 31, 19, 30)),
        # Never a guess.
        ("31 فبراير 2021 10:00", None),
        ("15 رمضان 1442 هـ", None),
        ("مايو 2021", None),
        ("خبر عاجل", None),
        ("", None),
        ("25:99 31 مايو 2021", None),
    ],
)
def test_absolute_dates(text: str, expected: datetime | None) -> None:
    assert parse_date(text, now=NOW) == expected


def test_another_source_timezone() -> None:
    # Cairo was UTC+03 in summer 2023.
    assert parse_date("10 أغسطس 2023 10:00", tz=CAIRO) == utc(2023, 8, 10, 7, 0)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("منذ 3 ساعات", timedelta(hours=3)),
        ("قبل ساعتين", timedelta(hours=2)),
        ("منذ ساعة", timedelta(hours=1)),
        ("منذ ٥ دقائق", timedelta(minutes=5)),
        ("قبل دقيقتين", timedelta(minutes=2)),
        ("منذ يومين", timedelta(days=2)),
        ("منذ لحظات", timedelta(0)),
        ("il y a 5 minutes", timedelta(minutes=5)),
        ("Il y a une heure", timedelta(hours=1)),
        ("il y a 2 jours", timedelta(days=2)),
        ("10 minutes ago", timedelta(minutes=10)),
        ("an hour ago", timedelta(hours=1)),
    ],
)
def test_relative_times(text: str, ago: timedelta) -> None:
    assert parse_date(text, now=NOW) == NOW - ago


def test_relative_time_needs_a_clock() -> None:
    assert parse_date("منذ 3 ساعات") is None
    assert parse_date("il y a quelques minutes", now=NOW) is None


def test_relative_times_with_the_common_misspelling_and_a_nominative_dual() -> None:
    # «مند» (dal) for «منذ», «يومان» for «يومين»: both seen on Moroccan homepages.
    assert parse_relative("مند 19 ساعة", NOW) == NOW - timedelta(hours=19)
    assert parse_relative("مند يومان", NOW) == NOW - timedelta(days=2)
    assert parse_relative("قبل الانتخابات", NOW) is None  # «قبل» + a word that is no unit
    assert parse_relative("منذ 3 ساعات", None) is None


# 00:20 UTC on 29 November 2026 is 01:20 in Casablanca (UTC+01).
AFTER_MIDNIGHT = datetime(2026, 11, 29, 0, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0:39", utc(2026, 11, 28, 23, 39)),  # today, 00:39 local
        ("1:04", utc(2026, 11, 29, 0, 4)),
        ("1:25", utc(2026, 11, 29, 0, 25)),  # five minutes ahead: the site's clock runs fast
        ("23:59", utc(2026, 11, 28, 22, 59)),  # yesterday's: it is not 23:59 yet today
        ("17:29", utc(2026, 11, 28, 16, 29)),
        ("9:05 م", utc(2026, 11, 28, 20, 5)),
        ("9:05 ص", utc(2026, 11, 28, 8, 5)),
        ("21h05", utc(2026, 11, 28, 20, 5)),
        ("٠١:٠٥", utc(2026, 11, 29, 0, 5)),
        ("23:50 GMT", utc(2026, 11, 28, 23, 50)),  # the clock names its zone
    ],
)
def test_a_clock_alone_is_its_latest_occurrence_before_now(text: str, expected: datetime) -> None:
    assert parse_clock(text, CASABLANCA, AFTER_MIDNIGHT) == expected


def test_a_clock_beyond_the_skew_is_yesterdays() -> None:
    ahead = AFTER_MIDNIGHT + CLOCK_SKEW + timedelta(minutes=1)
    clock = ahead.astimezone(CASABLANCA).strftime("%H:%M")
    assert parse_clock(clock, CASABLANCA, AFTER_MIDNIGHT) == ahead - timedelta(
        days=1, seconds=ahead.second
    )


@pytest.mark.parametrize("text", ["25:00", "12:61", "13:05 م", "17:29 2026", "الساعة 17:29", ""])
def test_what_is_not_a_clock_alone(text: str) -> None:
    assert parse_clock(text, CASABLANCA, AFTER_MIDNIGHT) is None


STANDARD = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
]
MOROCCAN = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "ماي",
    "يونيو",
    "يوليوز",
    "غشت",
    "شتنبر",
    "أكتوبر",
    "نونبر",
    "دجنبر",
]
MAGHREB = [
    "جانفي",
    "فيفري",
    "مارس",
    "أفريل",
    "ماي",
    "جوان",
    "جويلية",
    "أوت",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
]
LEVANT = [
    "كانون الثاني",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
    "تشرين الأول",
    "تشرين الثاني",
    "كانون الأول",
]
FRENCH = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
WEEKDAYS = ["الإثنين", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]
EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)),
    names=st.sampled_from([STANDARD, MOROCCAN, MAGHREB, LEVANT]),
    weekday=st.sampled_from(["", *WEEKDAYS]),
    comma=st.booleans(),
    eastern=st.booleans(),
    style=st.sampled_from(["24h", "ampm", "french"]),
)
def test_round_trip_of_generated_datelines(
    moment: datetime, names: list[str], weekday: str, comma: bool, eastern: bool, style: str
) -> None:
    moment = moment.replace(second=0, microsecond=0)
    if style == "french":
        text = f"{moment.day} {FRENCH[moment.month - 1]} {moment.year} à {moment:%H}h{moment:%M}"
    else:
        if style == "ampm":
            hour = moment.hour % 12 or 12
            clock = f"{hour}:{moment:%M} {'م' if moment.hour >= 12 else 'ص'}"
        else:
            clock = f"{moment:%H:%M}"
        lead = f"{weekday}{'،' if comma else ''} " if weekday else ""
        text = f"{lead}{moment.day} {names[moment.month - 1]} {moment.year} على الساعة {clock}"
        if eastern:
            text = text.translate(EASTERN)
    parsed = parse_date(text)
    assert parsed is not None, text
    assert parsed.replace(tzinfo=None) == moment
    assert parsed.utcoffset() in (timedelta(0), timedelta(hours=1))


@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    result = parse_date(text, now=NOW)
    assert result is None or result.tzinfo is not None


def test_dateline_found_in_page_text() -> None:
    from bot.news.article import find_dateline

    text = "الرئيسية\nعاجل\nالإثنين 31 مايو 2021 على الساعة 20:30\nعنوان المقال\nنص"
    assert find_dateline(text, ZoneInfo("Africa/Casablanca")) == utc(2021, 5, 31, 19, 30)
    assert find_dateline("le 31 mai 2021 à 20h30", ZoneInfo("Africa/Casablanca")) == utc(
        2021, 5, 31, 19, 30
    )


@pytest.mark.parametrize(
    "text",
    [
        "June 9, 2024 / 9:05 PM",  # Reuters' dateline: a slash between the date and the clock
        "June 9, 2024 · 9:05 PM",
        "9 يونيو 2024 / 21:05",
        "9 يونيو 2024/21:05",
        "الأحد 9 يونيو 2024 · 21:05",
        "الأحد 9 يونيو 2024 • 21:05",
        "9 يونيو 2024 / 09:05 م",
        "9 يونيو 2024 | على الساعة 21:05",
        "الأحد 9 يونيو 2024 على الساعة 21:05",
        "9 juin 2024 | 21h05",
        "9 juin 2024 / 21h05",
        "9 juin 2024 — 21h05",
        "09/06/2024 / 21:05",
    ],
)
def test_a_clock_after_a_separator_belongs_to_the_dateline(text: str) -> None:
    from bot.news.article import find_dateline

    # 9 June 2024, 21:05 in Casablanca (UTC+01).
    assert find_dateline(text, ZoneInfo("Africa/Casablanca")) == utc(2024, 6, 9, 20, 5)


@pytest.mark.parametrize(
    "text",
    [
        "9 يونيو 2024 / 10/06/2024",  # another date after the slash: not a clock
        "9 juin 2024 / 3/4",  # a ratio
        "9 juin 2024 / page 21",
        "9 juin 2024 / 21",  # a bare number
        "9 June 2024 / 45:30",  # a video's length: no hour 45
        "9 يونيو 2024 - 25:00",  # no hour 25: the day is still read
        "9 يونيو 2024 / 21:75",
        "9 juin 2024 / 21hommes",
        "9 juin 2024 | 21:051",
    ],
)
def test_a_number_after_a_separator_that_is_no_clock_leaves_the_day_alone(text: str) -> None:
    from bot.news.article import find_dateline

    assert find_dateline(text, ZoneInfo("Africa/Casablanca")) == utc(2024, 6, 8, 23, 0)


# -- numeric dates, Arabic commas ------------------------------------------------------------

CASABLANCA = ZoneInfo("Africa/Casablanca")


def local(*args: int, offset: int) -> datetime:
    """A local time with its UTC offset in hours (Casablanca: +1, or 0 in Ramadan and before 2018)."""
    return datetime(*args, tzinfo=timezone(timedelta(hours=offset)))


def same_moment_and_offset(got: datetime | None, expected: datetime | None) -> bool:
    if got is None or expected is None:
        return got is expected
    return got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        # Day first (Arabic, French): with and without time, slashes, dots, dashes.
        ("17/03/2018 19:36", True, local(2018, 3, 17, 19, 36, offset=0)),  # before 2018: +00
        ("نشر بتاريخ 12/09/2024 - 10:05 م", True, local(2024, 9, 12, 22, 5, offset=1)),
        ("24.08.2020", True, local(2020, 8, 24, offset=1)),
        ("24-08-2020 18:40", True, local(2020, 8, 24, 18, 40, offset=1)),
        ("٢٤/٠٨/٢٠٢٠ ٠٩:٢٣", True, local(2020, 8, 24, 9, 23, offset=1)),
        ("10/03/2025 21:00", True, local(2025, 3, 10, 21, 0, offset=0)),  # Ramadan 2025: +00
        # Year first is always year-month-day, whatever the page's order.
        ("2020/08/24 09:23", True, local(2020, 8, 24, 9, 23, offset=1)),
        ("2020/08/24 09:23", False, local(2020, 8, 24, 9, 23, offset=1)),
        ("2020.08.24", None, local(2020, 8, 24, offset=1)),
        # The order decides only where both numbers could be a month.
        ("03/05/2024", True, local(2024, 5, 3, offset=1)),
        ("03/05/2024", False, local(2024, 3, 5, offset=1)),
        ("03/05/2024", None, None),  # ambiguous: not a guess
        ("13/05/2024", None, local(2024, 5, 13, offset=1)),
        ("05/13/2024", None, local(2024, 5, 13, offset=1)),
        ("05/05/2024", None, local(2024, 5, 5, offset=1)),
        ("03.05.2024", False, local(2024, 5, 3, offset=1)),  # dots: day first everywhere
        ("03/04/2024", True, local(2024, 4, 3, offset=0)),  # Ramadan 2024: +00
        # Day, month, year with Arabic commas and Eastern digits.
        ("الخميس، ١٧ نوفمبر، ٢٠١٦", True, local(2016, 11, 17, offset=0)),
        ("الخميس، 17 نونبر، 2016، 20:15", True, local(2016, 11, 17, 20, 15, offset=0)),
        # Never a guess.
        ("31/02/2024", True, None),
        ("17/03/18", True, None),  # a two-digit year
        ("12/03/2024 13/03/2024", True, None),  # two different dates
        ("12/03/2024 25:10", True, None),
        ("1.2.3.2024", True, None),
    ],
)
def test_numeric_dates(text: str, day_first: bool | None, expected: datetime | None) -> None:
    got = parse_date(text, CASABLANCA, day_first=day_first)
    assert same_moment_and_offset(got, expected), got


def test_spanish_and_english_month_orders() -> None:
    assert parse_date("jueves 2 de abril de 2020", UTC) == utc(2020, 4, 2)
    assert parse_date("January 18, 2020", UTC) == utc(2020, 1, 18)


def test_latest_possible_moment_of_a_day_without_time() -> None:
    from bot.news.dates import latest_possible

    day = parse_date("24.08.2020", CASABLANCA)
    assert day is not None
    assert same_moment_and_offset(latest_possible(day), local(2020, 8, 25, offset=1))
    timed = parse_date("24.08.2020 09:23", CASABLANCA)
    assert timed is not None and latest_possible(timed) == timed
