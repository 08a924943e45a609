"""Headlines of a homepage, however its theme marks them.

Three layouts cover the saved pages of /work/shared/corpus and the common themes:
- an anchor whose own text is the headline (`h2 > a`, alyaoum24's `a.post_link`, youm7's lists);
- an anchor around a card, its title in a heading or a title-classed element inside it;
- an empty "card" anchor beside the title (kifache: `li > div.data > span.slider-item-title`
  next to `a.link`), the title found in the anchor's parent or grandparent as long as that
  holds no link to another article.
Only links to the site's own articles count: an article-shaped path (a number, a date, a long
slug), never a section, category, tag, author, pagination, share, legal or footer link, nor a
link inside a menu, a tag list or running text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from functools import partial
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.news.cardtime import card_time, find_card
from bot.news.dates import day_first_of
from bot.news.markup import HEADINGS, absolute_url, same_site
from bot.news.outline import Outline
from bot.news.urgency import label_kind

MIN_TITLE = 8  # characters («جنس وكذب» is a real column title)
MAX_TITLE = 300  # longer: a card's whole text or a paragraph, not a title
MAX_HEADLINES = 200
_TRIES = 4  # links to one article without a title looked at (image, "more", title...)
# Links to one article whose card is looked at for a time: a page links an article from a
# slider, a section and a latest-news list, each with an image link (alyaoum24: 5 links,
# the time on the last).
_TIME_TRIES = 8
_TITLE_NAME = re.compile(r"title|headline|heading|caption", re.I)
_NOT_TITLE_NAME = re.compile(r"subtitle|sub-title|cat|date|time|desc|excerpt|author|meta", re.I)
_TITLE_TAGS = HEADINGS | frozenset({"span", "div", "p", "strong", "b"})
_CARD_TEXT = 200  # elements: an anchor holding more is a block, not a card
# Link texts that name an action, not a story.
_GENERIC = frozenset(
    {"المزيد", "اقرأ المزيد", "إقرأ المزيد", "اقرا المزيد", "التفاصيل", "تفاصيل", "شاهد"}
    | {"المزيد من الأخبار", "شاهد الفيديو", "read more", "more", "lire la suite", "lire plus"}
    | {"en savoir plus", "suite"}
)
# Titles of the site's own pages (legal, contact, comment policy) and of dated editions
# («جريدة الصباح بتاريخ 2019/02/09»): not stories.
_SITE_PAGE = re.compile(
    r"الخصوصية|شروط الا?إ?ستخدام|شروط الا?إ?ستعمال|نشر التعليقات|اتصل بنا|إتصل بنا|من نحن"
    r"|هي[أئ]ة التحرير|privacy|terms of|cookies|mentions légales|nous contacter",
    re.I,
)
_DATE_IN_TITLE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")
# A teaser's text cut short by the theme («… في قبضة الشر...»): three dots or an ellipsis at
# the end. Two dots are no cut: «..» joins a headline's parts and may end a column title.
_TRUNCATED = re.compile(r"(?:\.\s*){3,}$|…\s*$")
_BEST = (True, True)  # a title neither cut short nor outside a heading: nothing beats it
# Path segments of pages that are not articles.
_NOT_ARTICLE = frozenset(
    """category categories cat tag tags tagged topic topics trend trends author authors writer
    writers editor editors section sections page pages search feed rss atom wp-content wp-json
    wp-admin wp-login.php login register signup profile id account docs about about-us contact
    contact-us privacy privacy-policy terms conditions advert advertise ads job jobs emploi
    careers channel channels services archive archives newsprint print share sharer amp-stories
    cdn-cgi home index""".split()  # noqa: SIM905 (a word list reads better as one string)
)
_ID = re.compile(r"^\d+(?:\.html?|\.php|\.aspx?)?$|\d{5,}")
_DATE_SEGMENT = re.compile(r"(?:19|20)\d\d-\d\d-\d\d")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Headline:
    title: str
    url: str
    published: datetime | None = None  # the time its card shows (bot.news.cardtime)


def is_article_url(url: str) -> bool:
    """Whether `url`'s path looks like one article's: an id number, a date followed by more,
    or a slug of four words or more; and no segment names a section, tag, author, page...

    `?p=123` (WordPress) counts on a bare path. Pure date paths (/2020/11/) are archives.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    path = unquote(parts.path)
    segments = [s for s in path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if any(s in _NOT_ARTICLE for s in lowered):
        return False
    if lowered and lowered[-1].rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "gif", "pdf", "xml"):
        return False
    if not segments:
        query = dict(parse_qsl(parts.query))
        return any(query.get(key, "").isdigit() for key in ("p", "page_id", "id"))
    if _date_archive(segments):
        return False  # /2020/ or /2020/11/ or /2020/11/09/
    if any(_ID.search(s) for s in segments) or any(_DATE_SEGMENT.search(s) for s in segments):
        return True
    for at in range(len(segments) - 2):  # /2019/07/slug/: a date, then the article
        if _YEAR.match(segments[at]) and _small(segments[at + 1], 12):
            return True
    last = re.split(r"[-_+\s]+", segments[-1].rsplit(".", 1)[0])
    return sum(1 for word in last if len(_LETTER.findall(word)) >= 2) >= 4


def _small(segment: str, top: int) -> bool:
    return segment.isdigit() and len(segment) <= 2 and 1 <= int(segment) <= top


def _date_archive(segments: list[str]) -> bool:
    if not 1 <= len(segments) <= 3 or not _YEAR.match(segments[0]):
        return False
    return all(_small(s, top) for s, top in zip(segments[1:], (12, 31), strict=False))


def find_headlines(
    page: Outline,
    base_url: str,
    content: Sequence[int] = (),
    limit: int = MAX_HEADLINES,
    tz: tzinfo | None = None,
    now: datetime | None = None,
) -> list[Headline]:
    """Links to the site's own articles with their titles, in page order, each URL once.

    `content`: blocks labelled as headlines; their links count even inside a menu bar.
    An article linked more than once (an image or teaser link, then the headline, then a
    «آخر الأخبار» list) keeps the place of its first link and the best of its titles: one not
    cut short («...», «…») beats a cut one, and then a heading's beats any other; between
    equals the first stays.
    With `tz` (the source's zone), each headline gets the time shown on the card of one of its
    links (bot.news.cardtime); `now` anchors relative times and clocks alone.
    """
    content_spans = sorted((block, page.ends[block]) for block in content)
    title_names: dict[str, bool] = {}  # class names repeat: one search per distinct name

    def title_like(names: str) -> bool:
        like = title_names.get(names)
        if like is None:
            like = title_names[names] = bool(
                _TITLE_NAME.search(names) and not _NOT_TITLE_NAME.search(names)
            )
        return like

    titles = [
        index
        for index, (tag, names) in enumerate(zip(page.tags, page.names, strict=True))
        if tag in HEADINGS or (tag in _TITLE_TAGS and len(names) > 1 and title_like(names))
    ]
    headings = [index for index in titles if page.tags[index] in HEADINGS]
    paragraph_lengths: dict[int, int] = {}
    accepted: dict[str, str | None] = {}
    tries: dict[str, int] = {}  # links to one article that gave no better title
    found: dict[str, Headline] = {}
    ranks: dict[str, tuple[bool, bool]] = {}  # of each found title: (not cut short, heading)
    times: dict[str, datetime] = {}
    untimed: dict[str, int] = {}  # links to one article whose card showed no time
    card_times: dict[int, datetime | None] = {}
    articles: dict[str, str | None] = {}  # href -> the article it links to (_links_elsewhere)
    day_first = _day_first(page)
    for anchor in page.anchors:
        if page.in_zone[anchor] and not any(s <= anchor < e for s, e in content_spans):
            continue
        href = page.attributes[anchor].get("href") or ""
        if href not in accepted:  # pages repeat their links (image, title, "more")
            url = absolute_url(base_url, href)
            ok = url is not None and same_site(url, base_url) and is_article_url(url)
            accepted[href] = url.split("#", 1)[0] if ok and url else None
        key = accepted[href]
        if key is None:
            continue
        if tz is not None and key not in times and untimed.get(key, 0) < _TIME_TRIES:
            elsewhere = partial(
                _links_elsewhere, page, url=key, base_url=base_url, articles=articles
            )
            card = find_card(page, anchor, elsewhere)
            if card not in card_times:  # an image link and a title link share their card
                card_times[card] = card_time(page, card, tz, now, day_first)
            moment = card_times[card]
            if moment is None:
                untimed[key] = untimed.get(key, 0) + 1
            else:
                times[key] = moment
        if ranks.get(key) == _BEST or tries.get(key, 0) >= _TRIES:
            continue
        title = _title(page, anchor, titles, key, base_url, articles)
        if title is None or _in_running_text(page, anchor, title, paragraph_lengths):
            tries[key] = tries.get(key, 0) + 1
            continue
        rank = (not _TRUNCATED.search(title), _in_heading(page, anchor, headings))
        if key in found:
            if rank <= ranks[key]:
                tries[key] = tries.get(key, 0) + 1
                continue
            found[key] = Headline(title, key)  # same place in the page, a better title
            ranks[key] = rank
            continue
        found[key] = Headline(title, key)
        ranks[key] = rank
        if len(found) >= limit:
            break
    return [replace(h, published=times.get(h.url)) for h in found.values()]


def _day_first(page: Outline) -> bool | None:
    """The page's numeric date order, from its `<html lang>`."""
    if page.tags and page.tags[0] == "html":
        return day_first_of(page.attributes[0].get("lang"))
    return True


def _in_heading(page: Outline, anchor: int, headings: list[int]) -> bool:
    """Whether the anchor is a heading's link (`h2 > a`, `h3 > span > a`) or wraps one."""
    parent = page.parents[anchor]
    for _ in range(3):
        if parent < 0:
            break
        if page.tags[parent] in HEADINGS:
            return True
        parent = page.parents[parent]
    return page.count_within(headings, anchor + 1, page.ends[anchor]) > 0


def _title(
    page: Outline,
    anchor: int,
    titles: list[int],
    url: str,
    base_url: str,
    articles: dict[str, str | None],
) -> str | None:
    # A card anchor wraps a heading or a title element: that is the title.
    inner = _first_title(page, titles, anchor + 1, page.ends[anchor])
    if inner is not None:
        return inner
    if page.size(anchor) <= _CARD_TEXT:
        own = _usable(page.text(anchor))
        if own is not None:
            return own
    # An empty card anchor: the title sits beside it, in a parent holding no other article.
    container = anchor
    for _ in range(2):
        container = page.parents[container]
        if container < 0 or _links_elsewhere(page, container, url, base_url, articles):
            return None
        found = _first_title(page, titles, container, page.ends[container])
        if found is not None:
            return found
    return None


def _first_title(page: Outline, titles: list[int], start: int, end: int) -> str | None:
    at = bisect_left(titles, start)
    for index in titles[at : at + 4]:
        if index >= end:
            break
        if page.size(index) <= 20:
            title = _usable(page.text(index))
            if title is not None:
                return title
    return None


def _links_elsewhere(
    page: Outline, container: int, url: str, base_url: str, articles: dict[str, str | None]
) -> bool:
    """Whether `container` holds a link to another article than `url` (a list, not a card).

    `articles` caches each href's article URL (None: no article), for the whole page."""
    if page.count_within(page.anchors, container, page.ends[container]) > 6:
        return True
    links = page.within(page.anchors, container, page.ends[container])
    for link in links:
        href = page.attributes[link].get("href") or ""
        if href not in articles:
            other = absolute_url(base_url, href)
            articles[href] = other.split("#", 1)[0] if other and is_article_url(other) else None
        other = articles[href]
        if other is not None and other != url:
            return True
    return False


def _usable(text: str) -> str | None:
    if not MIN_TITLE <= len(text) <= MAX_TITLE or (len(text.split()) < 2 and len(text) < 10):
        return None
    if text.lower().strip(" .…»>") in _GENERIC or label_kind(text) is not None:
        return None
    if _SITE_PAGE.search(text):
        return None
    dated = _DATE_IN_TITLE.search(text)
    if dated and len((text[: dated.start()] + text[dated.end() :]).split()) <= 3:
        return None  # an edition of a date, not a story
    return text


def _in_running_text(page: Outline, anchor: int, title: str, lengths: dict[int, int]) -> bool:
    """A link inside a paragraph of prose (a word of the article linked), not a headline."""
    parent = page.parents[anchor]
    for _ in range(3):
        if parent < 0:
            return False
        if page.tags[parent] == "p":
            if parent not in lengths:
                lengths[parent] = len(page.text(parent)) if page.size(parent) <= 200 else 10**6
            return lengths[parent] > 2 * len(title) + 20
        parent = page.parents[parent]
    return False
