"""How old an item can be, read from its URL: the date many sites write in their article paths.

Used before an urgent alert for an item that carries no published time: a ticker link to
/2019/05/12/… is seven years old, whatever the ticker's label says.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from urllib.parse import unquote, urlsplit

_FIRST_YEAR = 1995  # no news site wrote dates in its URLs before the web had news sites
# /2019/05/12/… or /2019/05/… as whole path segments.
_SEGMENTS = re.compile(r"/((?:19|20)\d\d)/(0?[1-9]|1[0-2])(?:/(0?[1-9]|[12]\d|3[01]))?(?=/|$)")
# /2013/middle_east/8/3/…: a section between the year and the month and day (CNN Arabic).
_SECTION = re.compile(
    r"/((?:19|20)\d\d)/[^\W\d][\w-]*/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?=/|$)"
)
# 2019-05-12 (or 2019_05_12, 2019.05.12) anywhere in a segment, such as a slug; digits on
# either side would make it part of a longer number (an id), not a date.
_IN_SLUG = re.compile(r"(?<!\d)((?:19|20)\d\d)([-_.])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")


def date_from_url(url: str | None, tz: tzinfo, today: date | None = None) -> datetime | None:
    """The latest moment an article at `url` can have been published, by a date in its path.

    Returns the end (23:59:59, in `tz`) of the day the path names, or of the month when it names
    only a year and month (/2019/05/…), so that a story of today is never taken for an old one;
    None when the path holds no date. The query is not read (?p=123 is a post id, not a date),
    nor are dates more than a day after `today` (defaults to the current date) or before
    1995.
    """
    # A day of slack: the site's today may already be our tomorrow.
    latest = (today or date.today()) + timedelta(days=1)
    for year, month, day in _path_dates(url):
        last = day if day is not None else calendar.monthrange(year, month)[1]
        found = _end_of(year, month, last, tz)
        if found is not None and found.date() <= latest:
            return found
    return None


def day_from_url(url: str | None, tz: tzinfo) -> datetime | None:
    """The day a date in `url`'s path names (/2019/05/12/, /2013/middle_east/8/3/, a slug with
    2019-05-12), as midnight in `tz`; None when the path names no whole day after 1995."""
    for year, month, day in _path_dates(url):
        if day is not None and year >= _FIRST_YEAR:
            try:
                return datetime(year, month, day, tzinfo=tz)
            except ValueError:  # 31 April and the like: not a date
                continue
    return None


def _path_dates(url: str | None) -> Iterator[tuple[int, int, int | None]]:
    """The (year, month, day or None) that `url`'s path names, in order of trust: a date in a
    slug, date segments, date segments after a section."""
    if not url:
        return
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:
        return
    for match in _IN_SLUG.finditer(path):
        yield int(match.group(1)), int(match.group(3)), int(match.group(4))
    for match in _SEGMENTS.finditer(path):
        day = int(match.group(3)) if match.group(3) else None
        yield int(match.group(1)), int(match.group(2)), day
    for match in _SECTION.finditer(path):
        yield int(match.group(1)), int(match.group(2)), int(match.group(3))


def _end_of(year: int, month: int, day: int, tz: tzinfo) -> datetime | None:
    if year < _FIRST_YEAR:
        return None
    try:
        return datetime.combine(date(year, month, day), time(23, 59, 59), tz)
    except ValueError:  # 31 April and the like: not a date
        return None
