"""When an article page was published: its metadata, else the dateline beside its title, else
htmldate's reading of the page.

Pure: a parsed page in, an aware datetime or None out. The caller's tree is never changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.news.boxes import ancestors, boxes_outside_title
from bot.news.dates import day_first_of, parse_date
from bot.news.freshness import day_from_url
from bot.news.text import normalize, western_digits

_DATE_META = (
    'meta[property="article:published_time"]',
    'meta[name="article:published_time"]',
    'meta[itemprop="datePublished"]',
    'meta[name="pubdate"]',
    'meta[name="publish-date"]',
    'meta[name="date"]',
    'meta[property="og:published_time"]',
    'meta[name="dc.date"]',
    'meta[name="DC.date.issued"]',
    '[property="dc:date"]',
)
# A dateline in running text: a day, one or two month words (with an optional «/ other name»),
# commas allowed between the parts («الخميس، 17 نوفمبر، 2016»), a year; or a numeric date
# (17/03/2018, 24.08.2020, 2020/08/24). Then an optional clock, after a separator (a dash, a
# comma, a pipe, a slash: Reuters' «January 13, 2020 / 1:39 PM», a middle dot or a bullet) and
# «على الساعة», «الساعة» or «à», with ص/م. Only a clock of a day is attached (hour 0-23, minute
# 0-59, h or a colon between): after a slash a day, a ratio, a page number or a video's length
# («/ 45:30») is not a time, and a date with an impossible time would not be read at all.
_TIME = (
    r"(?:\s*[-–—،,|/·•]?\s*(?:علي\s+)?(?:الساعه\s+)?(?:a\s+)?"
    r"(?:[01]?\d|2[0-3])(?::[0-5]\d(?::[0-5]\d)?(?![\d:])|h(?:[0-5]\d)?(?![^\W_]))"
    r"(?:\s*(?:[صم]|مسا|مساا|صباحا|صباح|pm|am)\b)?)?"
)
_DATELINE = re.compile(
    r"\b\d{1,2}(?:er)?\s*,?\s+(?:de\s+)?[^\W\d_]+\.?(?:\s+[^\W\d_]+)?\s*"
    r"(?:/\s*[^\W\d_]+(?:\s+[^\W\d_]+)?\s*)?,?\s*(?:de\s+)?\d{4}(?:\s*م)?"
    + _TIME
    + r"|\b[^\W\d_]{3,}\.?\s+\d{1,2}(?:st|nd|rd|th)?,\s*\d{4}"
    + _TIME
    + r"|(?<![\d./-])(?:\d{1,2}([./-])\d{1,2}\1\d{4}|\d{4}([./-])\d{1,2}\2\d{1,2})"
    r"(?![\d./-])" + _TIME
)
_NEAR_BEFORE = 400  # characters of text before the title searched for its dateline
_NEAR_AFTER = 1500  # and after it
_TITLE_MARK = "\x00ajil-title\x00"
_HAS_DIGIT = re.compile(r"\d")
_DATELINE_SLACK = 60  # characters beside a date on its own line: «نشر في», an author's name
# Words that make a date the last update's, not the publication's («آخر تحديث», «محدثة»,
# «Mis à jour le», «Updated»), and words that make it the publication's («نشر في», «Publié
# le»). Matched in normalized text (hamza and diacritics gone, lower case).
_UPDATE = re.compile(
    r"تحديث|محدث|updated?\b|modifi|mis a jour|mise a jour|actualizad|atualizad|aktualisiert"
)
_CLOCK = re.compile(r"\d{1,2}[:h]\d{2}")
_PUBLISHED = re.compile(r"نشر|published|posted|publie|publicad|veroffentlicht")


def published_time(tree: LexborHTMLParser, tz: tzinfo) -> datetime | None:
    """The article's published time, aware; None when the page does not say it for sure.

    Read in order: metadata (`article:published_time` and kin, JSON-LD `datePublished`,
    `<time datetime>` outside sidebars and related boxes), then the dateline nearest the
    article's title (the heading that matches og:title or <title>, so a logo in the first h1
    is passed over) with navigation, sidebars and "read also" boxes left out, then htmldate
    (`find_date`, original date, without its extensive text search) as a last resort: its
    answer is a day, returned as midnight in `tz`.

    A dateline that a label marks as the last update («آخر تحديث 14:00», «Mis à jour le…») is
    not the publication: the date in the page's own URL (`og:url` or the canonical link:
    /2013/middle_east/8/3/) comes before htmldate, and an update date is the last resort
    (a publication cannot be later than its update). `<time>` tags named as modification times
    (itemprop dateModified, a class or id with "modif" or "upd") are not read.

    A local time without offset is read in `tz`, the source's zone. Of two metadata values for
    one instant the one with a local offset is kept, and a bare UTC time is shown in `tz`, so a
    23:59 local time never reads as another day; but a UTC time whose clock is the very clock
    of the dateline beside the title is the site's local time mislabelled (youm7 writes
    09:23Z for «09:23 ص» in Cairo), and the dateline is taken. Numeric dates follow the page's <html lang>:
    month first for en-US, order unknown for a bare "en", day first otherwise (see
    bot.news.dates).
    """
    day_first = _day_first(tree)
    moment, bare_utc = _from_metadata(tree, tz, day_first)
    if moment is not None and not bare_utc:
        return moment
    if moment is not None:
        # Some sites stamp their local time with "Z": the page shows 09:23 where the metadata
        # says 09:23Z. When the dateline beside the title shows the very same clock, it wins.
        line = _from_dateline(tree, tz, day_first).published
        if line is not None and _same_clock(line, moment):
            return line
        return moment.astimezone(tz)
    lines = _from_dateline(tree, tz, day_first)
    if lines.published is not None or lines.ambiguous:
        # An ambiguous dateline (03/05 on a page of unknown order) is not guessed.
        return lines.published
    return _url_day(tree, tz) or htmldate_day(tree, tz) or lines.updated


def find_dateline(text: str, tz: tzinfo, day_first: bool | None = True) -> datetime | None:
    """The first readable dateline in a page's text («الإثنين 31 مايو 2021 على الساعة 20:30»,
    «17/03/2018 19:36») that is not labelled as an update, or None."""
    for found in _datelines(text, tz, day_first):
        if not found.update:
            return found.moment
    return None


def _url_day(tree: LexborHTMLParser, tz: tzinfo) -> datetime | None:
    """The day named in the page's own URL (`og:url`, else the canonical link), as midnight
    in `tz`: /2013/middle_east/8/3/ is 3 August 2013."""
    for selector, attribute in (
        ('meta[property="og:url"]', "content"),
        ('link[rel="canonical"]', "href"),
    ):
        node = tree.css_first(selector)
        day = day_from_url(node.attributes.get(attribute), tz) if node is not None else None
        if day is not None:
            return day
    return None


_WORD = re.compile(r"[^\W\d_]{2,}")
_DATELINE_WORDS = 4  # beside the date: «تم نشره الجمعة», «Publié le», «نشر في»


def is_dateline(text: str) -> bool:
    """Whether `text` is a dateline and little else: a readable date with at most four words
    beside it («تم نشره الجمعة 24 نيسان / أبريل 2020 09:22 مساءً», «Publié le 9 juin 2024 à
    10h15»), not a sentence that mentions a date."""
    if len(text) > 160 or not _HAS_DIGIT.search(text):
        return False
    plain = normalize(western_digits(text))
    match = _DATELINE.search(plain)
    if match is None or parse_date(match.group(0), UTC) is None:
        return False
    rest = plain[: match.start()] + " " + plain[match.end() :]
    return len(_WORD.findall(rest)) <= _DATELINE_WORDS


def htmldate_day(tree: LexborHTMLParser, tz: tzinfo) -> datetime | None:
    """htmldate's publication day for the page, as midnight in `tz`; None when it finds none.

    htmldate is imported here, on first use: trafilatura already loads it in the product, and a
    caller that never reaches this fallback never pays for it (about 0.14 s on this machine).
    Its extensive search is off: it guesses from copyright years and other loose text.
    """
    from htmldate import find_date

    found = find_date(tree.html or "", extensive_search=False, original_date=True)
    if not found:
        return None
    try:
        day = datetime.strptime(found, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=tz)


def _day_first(tree: LexborHTMLParser) -> bool | None:
    root = tree.css_first("html")
    return day_first_of(root.attributes.get("lang") if root is not None else None)


# -- metadata --------------------------------------------------------------------------------


def _same_clock(local: datetime, utc: datetime) -> bool:
    """The same day, hour and minute on both clocks (a dateline at midnight has no time)."""
    wall = local.replace(tzinfo=None)
    return wall.time() != wall.time().min and wall == utc.replace(tzinfo=None, second=0)


def _from_metadata(
    tree: LexborHTMLParser, tz: tzinfo, day_first: bool | None
) -> tuple[datetime | None, bool]:
    """The first published time in the page's metadata, and whether it is a bare UTC time (no
    other value gives the same instant with the site's own offset)."""
    found: list[datetime] = []
    for selector in _DATE_META:
        for node in tree.css(selector):
            moment = parse_date(node.attributes.get("content"), tz, day_first=day_first)
            if moment is not None:
                found.append(moment)
    for script in tree.css('script[type="application/ld+json"]'):
        found.extend(_json_ld_dates(script.text(), tz))
    if found and found[0].utcoffset() != timedelta(0):
        return found[0], False  # <time> tags would not change the answer: spare their boxes
    times = tree.css("time[datetime]")
    boxes = {box.mem_id for box in boxes_outside_title(tree)[1]} if times else set()
    for node in times:
        if _modification(node):
            continue
        if not any(n.mem_id in boxes for n in (node, *ancestors(node))):
            moment = parse_date(node.attributes.get("datetime"), tz, day_first=day_first)
            if moment is not None:
                found.append(moment)
    if not found:
        return None, False
    first = found[0]
    if first.utcoffset() != timedelta(0):
        return first, False
    # A UTC time: the same instant with the site's own offset, if the page has it.
    for other in found[1:]:
        if other == first and other.utcoffset() != timedelta(0):
            return other, False
    return first, True


def _json_ld_dates(raw: str, tz: tzinfo) -> list[datetime]:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, ValueError):
        return []
    out: list[datetime] = []
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found = value.get("datePublished")
            if isinstance(found, str):
                moment = parse_date(found, tz)
                if moment is not None:
                    out.append(moment)
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return out


# -- the dateline beside the title ---------------------------------------------------------------


@dataclass(frozen=True)
class _Datelines:
    """What the text beside the title says: the publication's dateline, whether an ambiguous
    numeric date was seen there, and the last update's dateline."""

    published: datetime | None = None
    ambiguous: bool = False
    updated: datetime | None = None


def _from_dateline(tree: LexborHTMLParser, tz: tzinfo, day_first: bool | None) -> _Datelines:
    """The datelines nearest the title: the publication's, else the last update's."""
    if tree.body is None:
        return _Datelines()
    page = LexborHTMLParser(
        tree.html or ""
    )  # a copy to cut boxes from (clone() fails on some pages)
    heading, boxes = boxes_outside_title(page)
    if heading is not None:
        heading.insert_before(_TITLE_MARK)
    # Decided on the whole tree first, then only the outermost removed: removing a node frees
    # its descendants, which must not be touched after.
    chosen = {n.mem_id for n in boxes}
    for box in boxes:
        if not any(a.mem_id in chosen for a in ancestors(box)):
            box.decompose()
    body = page.body
    if body is None:
        return _Datelines()
    text = body.text(deep=True, separator="\n")
    at = text.find(_TITLE_MARK)
    if at < 0:
        window, title_at = text[:3000], 0
    else:
        window_start = max(0, at - _NEAR_BEFORE)
        window = text[window_start : at + len(_TITLE_MARK) + _NEAR_AFTER]
        title_at = at - window_start
    # A dateline stands on its own line (with a word or two: «نشر في», a name); a date inside a
    # sentence (a photo caption, a quote) is only taken when there is no such line. Then the
    # nearest to the title wins.
    # A date labelled as the last update is kept apart: the publication's comes first.
    best: dict[bool, tuple[bool, int, datetime]] = {}
    for found in _datelines(window, tz, day_first):
        start, end = found.span
        in_sentence = found.line_length > end - start + _DATELINE_SLACK
        distance = title_at - end if end <= title_at else start - title_at
        held = best.get(found.update)
        if held is None or (in_sentence, distance) < held[:2]:
            best[found.update] = (in_sentence, distance, found.moment)
    published, updated = best.get(False), best.get(True)
    ambiguous = published is None and day_first is None and bool(_datelines(window, tz, True))
    return _Datelines(
        published[2] if published else None, ambiguous, updated[2] if updated else None
    )


@dataclass(frozen=True)
class _Found:
    """One readable dateline of a text: its moment, its span in the text (to within the few
    characters that normalization drops), the length of its line, and whether a label makes
    it the last update's («آخر تحديث»)."""

    moment: datetime
    span: tuple[int, int]
    line_length: int
    update: bool


def _datelines(text: str, tz: tzinfo, day_first: bool | None) -> list[_Found]:
    """Every readable dateline of `text`, line by line."""
    found: list[_Found] = []
    offset = 0
    for line in text.split("\n"):
        if not _HAS_DIGIT.search(line):  # most lines: no date to read, no need to normalize
            offset += len(line) + 1
            continue
        plain = normalize(western_digits(line))
        matches = [
            (match, moment)
            for match in _DATELINE.finditer(plain)
            if (moment := parse_date(match.group(0), tz, day_first=day_first)) is not None
        ]
        for at, (match, moment) in enumerate(matches):
            span = (offset + match.start(), offset + match.end())
            update = _labelled_update(plain, [m for m, _ in matches], at)
            found.append(_Found(moment, span, len(plain), update))
        offset += len(line) + 1
    return found


def _labelled_update(line: str, matches: list[re.Match[str]], at: int) -> bool:
    """Whether the `at`-th date of a normalized line is its last update's.

    The label nearest before the date says it («نشر في 3 أغسطس… آخر تحديث 28 أغسطس…»); a date
    with no label before it is the update's when an update label follows it with a clock and
    no other date (CNN Arabic: «الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00»: the day and the
    clock of one update). «January 13, 2020 / 1:39 PM / Updated 2 minutes ago» is a
    publication's date (Reuters)."""
    before = line[matches[at - 1].end() if at else 0 : matches[at].start()]
    labels = [(m.end(), True) for m in _UPDATE.finditer(before)]
    labels += [(m.end(), False) for m in _PUBLISHED.finditer(before)]
    if labels:
        return max(labels)[1]
    if at + 1 < len(matches):
        return False
    rest = line[matches[at].end() :]
    label = _UPDATE.search(rest)
    return label is not None and _CLOCK.search(rest, label.end()) is not None


def _modification(node: LexborNode) -> bool:
    """A `<time>` that names itself a modification time (itemprop dateModified, a class or id
    with "modif" or "upd": Sputnik's `b-article__refs-date-upd`)."""
    attributes = node.attributes
    if (attributes.get("itemprop") or "").lower() == "datemodified":
        return True
    names = f"{attributes.get('class') or ''} {attributes.get('id') or ''}".lower()
    return bool(re.search(r"modif|upd", names))
