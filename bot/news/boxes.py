"""The parts of an article page that belong to other articles: the site header, navigation,
sidebars, photo captions, related and "read also" boxes, link lists; and the heading that is
the article's own title.

Read-only on the tree it is given; callers that cut the boxes out do so on their own copy.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.news.text import normalize

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
_HEADLINE_WORDS = 5  # a link this long is another article's headline, not a name or a section
_TEASER_EXTRA = 80  # characters beside the headline in a teaser: a section, a date, a count
_NOT_ARTICLE = ("/author", "/auteur", "/writer", "/kuttab", "/tag", "/category", "/section")
_YEAR_OR_CLOCK = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)|(?<!\d)\d{1,2}:\d{2}(?!\d)|[٠-٩]{4}")
_SHORT_BOX = 800  # characters: a "read also" box of a few titles and dates is shorter


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


def ancestors(node: LexborNode) -> list[LexborNode]:
    """The node's parent, its parent's parent, … up to the document, nearest first."""
    out = []
    parent = node.parent
    while parent is not None:
        out.append(parent)
        parent = parent.parent
    return out


def boxes_outside_title(page: LexborHTMLParser) -> tuple[LexborNode | None, list[LexborNode]]:
    """The title heading, and the boxes that hold other articles' dates, none of them holding
    the title (a page's <header> or a wide "sidebar" layout may wrap the article itself)."""
    heading = title_heading(page)
    keep = {n.mem_id for n in (heading, *ancestors(heading))} if heading is not None else set()
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
    found += _teasers(page)
    return found


def _teasers(page: LexborHTMLParser) -> list[LexborNode]:
    """Teasers of other articles that no class name marks: a headline-long link (five words or
    more, not to an author, tag or section page) with a year or a clock beside it in a small
    element («عنوان مقال آخر … 09.08.2020 10:52»)."""
    found = []
    for link in page.css("a[href]"):
        href = (link.attributes.get("href") or "").lower()
        text = link.text(deep=True, strip=True)
        if len(text.split()) < _HEADLINE_WORDS or any(part in href for part in _NOT_ARTICLE):
            continue
        node = link
        for _ in range(3):
            parent = node.parent
            if parent is None or parent.tag in ("body", "html", "article", "main"):
                break
            whole = parent.text(deep=True, separator=" ", strip=True)
            if len(whole) > len(text) + _TEASER_EXTRA:
                break
            node = parent
            if _YEAR_OR_CLOCK.search(whole.replace(text, " ")):
                found.append(node)
                break
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
