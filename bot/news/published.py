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
_ALWAYS_OUT = "header, nav, aside, figcaption, script, style, noscript, template, form, select"
# Class or id names of boxes of other articles; the second kind only when made of links (a
# "latest" or "footer" class also marks an article's own parts on some themes). Matched by
# lexbor as case-insensitive substrings: far faster than a regex over every element.
_BOX_WORDS = (
    "related",
    "read-also",
    "readalso",
    "readmore",
    "read-more",
    "more-news",
    "also-read",
    "sidebar",
    "widget",
    "popular",
    "most-read",
    "recommend",
)
_LIST_WORDS = ("trending", "comment", "footer", "breaking", "ticker", "marquee", "latest")


def _any_name(words: tuple[str, ...]) -> str:
    return ", ".join(f'[class*="{w}" i], [id*="{w}" i]' for w in words)


_BOX_SELECTOR = _any_name(_BOX_WORDS)
_LIST_SELECTOR = _any_name(_LIST_WORDS)
# Labels that open a box of links to other articles (its text starts with one).
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
_HAS_DIGIT = re.compile(r"\d")
_DATELINE_SLACK = 60  # characters beside a date on its own line: «نشر في», an author's name
_SHORT_BOX = 800  # characters: a "read also" box of a few titles and dates is shorter


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
        line, _ = _from_dateline(tree, tz, day_first)
        if line is not None and _same_clock(line, moment):
            return line
        return moment.astimezone(tz)
    moment, ambiguous = _from_dateline(tree, tz, day_first)
    if moment is not None or ambiguous:
        return moment  # an ambiguous dateline (03/05 on a page of unknown order) is not guessed
    return htmldate_day(tree, tz)


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
    boxes = {box.mem_id for box in _boxes_outside_title(tree)[1]} if times else set()
    for node in times:
        if not any(n.mem_id in boxes for n in (node, *_ancestors(node))):
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


def _from_dateline(
    tree: LexborHTMLParser, tz: tzinfo, day_first: bool | None
) -> tuple[datetime | None, bool]:
    """The dateline nearest the title, and whether an ambiguous numeric date was seen there."""
    if tree.body is None:
        return None, False
    page = LexborHTMLParser(
        tree.html or ""
    )  # a copy to cut boxes from (clone() fails on some pages)
    heading, boxes = _boxes_outside_title(page)
    if heading is not None:
        heading.insert_before(_TITLE_MARK)
    # Decided on the whole tree first, then only the outermost removed: removing a node frees
    # its descendants, which must not be touched after.
    chosen = {n.mem_id for n in boxes}
    for box in boxes:
        if not any(a.mem_id in chosen for a in _ancestors(box)):
            box.decompose()
    body = page.body
    if body is None:
        return None, False
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
    best: tuple[bool, int, datetime] | None = None
    for moment, (start, end), line_length in _datelines(window, tz, day_first):
        in_sentence = line_length > end - start + _DATELINE_SLACK
        distance = title_at - end if end <= title_at else start - title_at
        if best is None or (in_sentence, distance) < best[:2]:
            best = (in_sentence, distance, moment)
    if best is not None:
        return best[2], False
    ambiguous = day_first is None and bool(_datelines(window, tz, True))
    return None, ambiguous


def _datelines(
    text: str, tz: tzinfo, day_first: bool | None
) -> list[tuple[datetime, tuple[int, int], int]]:
    """Every readable dateline of `text`, line by line: its moment, its span in `text` (to within
    the few characters that normalization drops) and the length of its line."""
    found = []
    offset = 0
    for line in text.split("\n"):
        if not _HAS_DIGIT.search(line):  # most lines: no date to read, no need to normalize
            offset += len(line) + 1
            continue
        plain = normalize(western_digits(line))
        for match in _DATELINE.finditer(plain):
            moment = parse_date(match.group(0), tz, day_first=day_first)
            if moment is not None:
                span = (offset + match.start(), offset + match.end())
                found.append((moment, span, len(plain)))
        offset += len(line) + 1
    return found


def title_heading(page: LexborHTMLParser) -> LexborNode | None:
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


def _ancestors(node: LexborNode) -> list[LexborNode]:
    out = []
    parent = node.parent
    while parent is not None:
        out.append(parent)
        parent = parent.parent
    return out


def _boxes_outside_title(page: LexborHTMLParser) -> tuple[LexborNode | None, list[LexborNode]]:
    """The title heading, and the boxes that hold other articles' dates, none of them holding
    the title (a page's <header> or a wide "sidebar" layout may wrap the article itself)."""
    heading = title_heading(page)
    keep = {n.mem_id for n in (heading, *_ancestors(heading))} if heading is not None else set()
    return heading, [box for box in _boxes(page) if box.mem_id not in keep]


def _boxes(page: LexborHTMLParser) -> list[LexborNode]:
    """What holds other articles' dates: scripts and the like, navigation, sidebars, captions,
    link lists named related/sidebar/widget/…, footers made of links, and "read also" boxes."""
    found = list(page.css(_ALWAYS_OUT))
    found += [n for n in page.css("footer") if _link_share(n) >= 0.5]
    structural = ("html", "body", "article", "main")
    found += [n for n in page.css(_BOX_SELECTOR) if n.tag not in structural]
    found += [
        n for n in page.css(_LIST_SELECTOR) if n.tag not in structural and _link_share(n) >= 0.5
    ]
    for label in page.css("h2, h3, h4, h5, h6, strong, b, span, div, p, li, header, label"):
        raw = label.text(deep=False).strip()
        if not raw or len(raw) > 40:  # most elements: no own text, or a sentence
            continue
        own = normalize(raw)
        if len(own) > 30 or not own.startswith(_READ_ALSO):
            continue
        # Up from the words to the heading that holds them («<h3><span>اقرأ أيضا</span></h3>»),
        # then its box: the heading's parent when that is a list of links, else the heading.
        top = label
        while top.parent is not None and len(normalize(top.parent.text(deep=True))) <= len(own) + 5:
            top = top.parent
        box = top.parent
        if box is not None and box.tag not in ("body", "html") and _is_short_box(box):
            found.append(box)
            continue
        # The label stands in the article's flow: it goes, with the list of links after it.
        found.append(top)
        after = top.next
        while after is not None and after.tag == "-text":
            after = after.next
        if after is not None and _link_share(after) >= 0.5:
            found.append(after)
    return found


def _is_short_box(node: LexborNode) -> bool:
    """A box of links to other articles: mostly links, or short (a few titles with their dates,
    never an article's body)."""
    return _link_share(node) >= 0.5 or len(node.text(deep=True, strip=True)) <= _SHORT_BOX


def _link_share(node: LexborNode) -> float:
    """The share of a node's text that sits in links: near 1 for a list of links."""
    total = len(node.text(deep=True, strip=True))
    if total == 0:
        return 1.0
    linked = sum(len(a.text(deep=True, strip=True)) for a in node.css("a"))
    return linked / total
