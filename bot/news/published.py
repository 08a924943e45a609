"""When an article page was published: its metadata, else the dateline beside its title, else
htmldate's reading of the page.

Pure: a parsed page in, an aware datetime or None out. The caller's tree is never changed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.news.dates import parse_date
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
# (17/03/2018, 24.08.2020, 2020/08/24). Then an optional time with «على الساعة», «الساعة», «à»
# or a dash, and ص/م.
_TIME = (
    r"(?:\s*[-–،,|]?\s*(?:علي\s+)?(?:الساعه\s+)?(?:a\s+)?\d{1,2}(?::\d{2}(?::\d{2})?|h\d{0,2})"
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
# Where other articles' dates live: navigation, sidebars, footers, "read also" and related boxes.
_BOX_TAGS = "nav, aside, footer, figcaption, script, style, noscript, template, form, select"
_BOX_NAME = re.compile(
    r"related|read-?also|readmore|read-more|more-news|also-read|sidebar|widget|popular|most-read"
    r"|recommend|trending|comments?\b|footer|breaking|ticker|marquee|latest",
    re.IGNORECASE,
)
# Labels that open a box of links to other articles.
_READ_ALSO = tuple(
    normalize(label)
    for label in (
        "اقرأ أيضا",
        "إقرأ أيضا",
        "اقرأ أيضاً",
        "اقرأ المزيد",
        "للمزيد",
        "شاهد أيضا",
        "اقرأ كذلك",
        "مواضيع ذات صلة",
        "أخبار ذات صلة",
        "مقالات ذات صلة",
        "ذات صلة",
        "قد يهمك",
        "قد يعجبك",
        "الأكثر قراءة",
        "آخر الأخبار",
        "lire aussi",
        "à lire aussi",
        "voir aussi",
        "sur le même sujet",
        "read also",
        "read more",
        "see also",
        "related",
    )
)
_NEAR_BEFORE = 400  # characters of text before the title searched for its dateline
_NEAR_AFTER = 1500  # and after it
_TITLE_MARK = "\x00ajil-title\x00"
_DATELINE_SLACK = 60  # characters beside a date on its own line: «نشر في», an author's name
_BOX_MAX = 2000  # characters: a "read also" box is a short list, never the article


def published_time(tree: LexborHTMLParser, tz: tzinfo) -> datetime | None:
    """The article's published time, aware; None when the page does not say it for sure.

    Read in order: metadata (`article:published_time` and kin, JSON-LD `datePublished`,
    `<time datetime>` outside sidebars and related boxes), then the dateline nearest the
    article's title (the heading that matches og:title or <title>, so a logo in the first h1
    is passed over) with navigation, sidebars and "read also" boxes left out, then htmldate
    (`find_date`, original date, without its extensive text search) as a last resort: its
    answer is a day, returned as midnight in `tz`.

    A local time without offset is read in `tz`, the source's zone. Of two metadata values for
    one instant the one with a local offset is kept, and a bare UTC time is shown in `tz`, so a
    23:59 local time never reads as another day. Numeric dates follow the page's <html lang>:
    month first for en-US, order unknown for a bare "en", day first otherwise (see
    bot.news.dates).
    """
    day_first = _day_first(tree)
    moment = _from_metadata(tree, tz, day_first)
    if moment is None:
        moment = _from_dateline(tree, tz, day_first)
    if moment is None:
        moment = htmldate_day(tree, tz)
    return moment


def find_dateline(text: str, tz: tzinfo, day_first: bool | None = True) -> datetime | None:
    """The first readable dateline in a page's text («الإثنين 31 مايو 2021 على الساعة 20:30»,
    «17/03/2018 19:36»), or None."""
    for moment, _, _ in _datelines(text, tz, day_first):
        return moment
    return None


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
    lang = (root.attributes.get("lang") or "").strip().lower() if root is not None else ""
    if lang in ("en-us", "en_us"):
        return False
    if lang == "en":
        return None
    return True


# -- metadata --------------------------------------------------------------------------------


def _from_metadata(tree: LexborHTMLParser, tz: tzinfo, day_first: bool | None) -> datetime | None:
    found: list[datetime] = []
    for selector in _DATE_META:
        for node in tree.css(selector):
            moment = parse_date(node.attributes.get("content"), tz, day_first=day_first)
            if moment is not None:
                found.append(moment)
    for script in tree.css('script[type="application/ld+json"]'):
        found.extend(_json_ld_dates(script.text(), tz))
    for node in tree.css("time[datetime]"):
        if not _in_box(node):
            moment = parse_date(node.attributes.get("datetime"), tz, day_first=day_first)
            if moment is not None:
                found.append(moment)
    if not found:
        return None
    first = found[0]
    if first.utcoffset() != timedelta(0):
        return first
    # A UTC time: the same instant with the site's own offset, else the instant in `tz`.
    for other in found[1:]:
        if other == first and other.utcoffset() != timedelta(0):
            return other
    return first.astimezone(tz)


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


def _from_dateline(tree: LexborHTMLParser, tz: tzinfo, day_first: bool | None) -> datetime | None:
    if tree.body is None:
        return None
    page = tree.clone()
    heading = _title_heading(page)
    if heading is not None:
        heading.insert_before(_TITLE_MARK)
    for node in page.css(_BOX_TAGS):
        node.decompose()
    for node in [n for n in page.css("[class], [id]") if _is_box(n)]:
        if node.parent is not None and _TITLE_MARK not in node.text(deep=True):
            node.decompose()
    for label in _read_also_labels(page):
        box = label.parent if label.parent is not None else label
        if _TITLE_MARK in box.text(deep=True) or len(box.text(deep=True)) > _BOX_MAX:
            box = label  # the label sits in the article itself: only the label goes
        box.decompose()
    body = page.body
    if body is None:
        return None
    text = body.text(deep=True, separator="\n")
    at = text.find(_TITLE_MARK)
    if at < 0:
        return find_dateline(text[:3000], tz, day_first)
    window_start = max(0, at - _NEAR_BEFORE)
    window = text[window_start : at + len(_TITLE_MARK) + _NEAR_AFTER]
    title_at = at - window_start
    # A dateline stands on its own line (with a word or two: «نشر في», a name); a date inside a
    # sentence (a photo caption, a quote) is only taken when there is no such line. Then the
    # nearest to the title wins.
    best: tuple[bool, int, datetime] | None = None
    for moment, (start, end), line_length in _datelines(window, tz, day_first):
        in_sentence = line_length > end - start + _DATELINE_SLACK
        distance = title_at - end if end <= title_at else start - title_at
        if best is None or (in_sentence, distance) < best[:2]:
            best = (in_sentence, distance, moment)
    return best[2] if best else None


def _datelines(
    text: str, tz: tzinfo, day_first: bool | None
) -> list[tuple[datetime, tuple[int, int], int]]:
    """Every readable dateline of `text`, line by line: its moment, its span in `text` (to within
    the few characters that normalization drops) and the length of its line."""
    found = []
    offset = 0
    for line in text.split("\n"):
        plain = normalize(western_digits(line))
        for match in _DATELINE.finditer(plain):
            moment = parse_date(match.group(0), tz, day_first=day_first)
            if moment is not None:
                span = (offset + match.start(), offset + match.end())
                found.append((moment, span, len(plain)))
        offset += len(line) + 1
    return found


def _title_heading(page: LexborHTMLParser) -> LexborNode | None:
    """The heading that is the article's title: the h1 (else h2) whose text matches og:title or
    <title>; else the first h1 long enough to be a headline (a logo h1 is a word or two)."""
    reference = ""
    for selector in ('meta[property="og:title"]', 'meta[name="twitter:title"]'):
        node = page.css_first(selector)
        if node is not None and node.attributes.get("content"):
            reference = node.attributes.get("content") or ""
            break
    if not reference:
        node = page.css_first("title")
        reference = node.text() if node is not None else ""
    wanted = normalize(reference)
    for selector in ("h1", "h2"):
        for heading in page.css(selector):
            text = normalize(heading.text(deep=True, separator=" "))
            if len(text) >= 8 and wanted and (text in wanted or wanted in text):
                return heading
    for heading in page.css("h1"):
        if len(normalize(heading.text(deep=True, separator=" ")).split()) >= 4:
            return heading
    return None


def _is_box(node: LexborNode) -> bool:
    if node.tag in ("html", "body", "article", "main"):
        return False
    names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
    return bool(_BOX_NAME.search(names))


def _in_box(node: LexborNode) -> bool:
    current: LexborNode | None = node
    while current is not None and current.tag not in ("body", "html"):
        if current.tag in ("nav", "aside", "footer") or _is_box(current):
            return True
        current = current.parent
    return False


def _read_also_labels(page: LexborHTMLParser) -> list[LexborNode]:
    labels = []
    for node in page.css("h2, h3, h4, h5, h6, strong, b, span, div, p, li"):
        own = normalize(node.text(deep=True, separator=" "))
        if own and len(own) <= 30 and any(own.startswith(label) for label in _READ_ALSO):
            labels.append(node)
    return labels
