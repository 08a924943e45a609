"""Article pages: title, published time, image, author and the body as clean paragraphs.

The body comes from trafilatura (no navigation, ticker, "read also" boxes, share buttons,
comments or footer). Its date search is off: it guesses from a footer's «© 2021» and has no
time of day, so the published time is read here, from the page's metadata and then from an
Arabic or French dateline in the text.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from typing import Any

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from bot.news.bounds import check_html
from bot.news.boxes import title_heading
from bot.news.markup import absolute_url, clean_text
from bot.news.models import Article, ParseError
from bot.news.pagekind import classify
from bot.news.published import find_dateline, is_dateline, published_time
from bot.news.text import normalize

__all__ = ["extract_article", "find_dateline", "is_boilerplate", "published_time"]

_BOILERPLATE_MAX = 400  # characters: a policy or "follow us" line is short
_COMMENT_POLICY = tuple(
    normalize(phrase)
    for phrase in (
        "الآراء الواردة",
        "لا تعبر عن رأي",
        "لا تعبر بالضرورة عن",
        "تعبر عن رأي كاتبها",
        "تعكس وجهات نظر أصحابها",
        "بالنقاش الحيوي",
        "comment policy",
        "comments are moderated",
        "charte des commentaires",
        "commentaires sont modérés",
        "n'engagent que leurs auteurs",
    )
)
_MODERATION = tuple(
    normalize(word) for word in ("مراجعة", "سياسة", "شروط", "المسيئة", "الخارجة عن", "ننشر")
)
_FOLLOW = tuple(
    normalize(verb)
    for verb in (
        "تابعونا",
        "تابعوا",
        "تابعنا",
        "تابعوني",
        "اشتركوا",
        "اشترك في",
        "انضموا",
        "انضم إلى",
        "follow us",
        "suivez-nous",
        "suivez nous",
        "rejoignez-nous",
        "abonnez-vous",
        "subscribe",
    )
)
_GET_THE_APP = tuple(normalize(p) for p in ("حملوا تطبيق", "حمل تطبيق", "نزلوا تطبيق"))
# Where a "follow us" line sends readers: whole words, with an attached و/ب/ل or the article.
_CHANNELS = re.compile(
    r"(?<!\w)(?:[وبل]|ال|عل)?(?:"
    + "|".join(
        re.escape(normalize(name))
        for name in (
            "فيسبوك",
            "فيس بوك",
            "فايسبوك",
            "تويتر",
            "إكس",
            "انستغرام",
            "إنستغرام",
            "انستجرام",
            "يوتيوب",
            "تلغرام",
            "تيليغرام",
            "تليجرام",
            "واتساب",
            "تيك توك",
            "نبض",
            "جوجل نيوز",
            "أخبار جوجل",
            "صفحتنا",
            "حسابنا",
            "قناتنا",
            "النشرة البريدية",
            "facebook",
            "twitter",
            "instagram",
            "youtube",
            "telegram",
            "whatsapp",
            "tiktok",
            "google news",
            "newsletter",
        )
    )
    + r")(?!\w)"
)


def extract_article(html: str, url: str | None, tz: tzinfo) -> Article:
    """Read an article page; raises ParseError when no article text can be found."""
    tree = LexborHTMLParser(html)
    if tree.body is None:
        raise ParseError("not an HTML page")
    # trafilatura drops what Python does not call printable: the joiners go through it disguised.
    joiners = _JoinerGuard(html)
    document = trafilatura.bare_extraction(
        joiners.disguise(html),
        url=url,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    data: dict[str, Any] = {}
    if document is not None:
        data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    data = {key: joiners.restore(value) for key, value in data.items()}
    title = _title(tree, data)
    paragraphs = _without_lead_clutter(_paragraphs(str(data.get("text") or ""), title), tree)
    if not paragraphs:
        raise ParseError("no article text found on the page")
    base = url or str(data.get("url") or "")
    image = _meta(tree, 'meta[property="og:image"]', 'meta[name="twitter:image"]')
    return Article(
        url=url or (str(data["url"]) if data.get("url") else None),
        title=title,
        published=published_time(tree, tz),
        image=absolute_url(base, image or data.get("image")) if base else image,
        author=_meta(tree, 'meta[name="author"]', 'meta[property="article:author"]')
        or (str(data["author"]) if data.get("author") else None),
        paragraphs=tuple(paragraphs),
    )


# The zero-width non-joiner (U+200C) spells Persian, Kurdish and Urdu words («می‌گویند»,
# «قیمت‌ها») and the zero-width joiner (U+200D) shapes letters and emoji: what a reader sees.
# trafilatura removes every character that str.isprintable() refuses (its
# utils.remove_control_characters), these two among them. Matching drops them anyway
# (bot.news.text.normalize); what is shown keeps them.
_JOINERS = ("\u200c", "\u200d")
# Printable stand-ins for them while trafilatura reads the page: letters of the Phags-pa
# script, which no news page of Ajil's languages writes (a page that does uses the next pair).
_STAND_INS = (("\ua840", "\ua841"), ("\ua842", "\ua843"), ("\ua844", "\ua845"))


class _JoinerGuard:
    """Carries the joiners of one page through trafilatura as printable stand-ins."""

    def __init__(self, html: str) -> None:
        wanted = any(joiner in html for joiner in _JOINERS)
        free = (pair for pair in _STAND_INS if not any(c in html for c in pair))
        self.pairs = list(zip(_JOINERS, next(free, ()), strict=False)) if wanted else []

    def disguise(self, html: str) -> str:
        for joiner, stand_in in self.pairs:
            html = html.replace(joiner, stand_in)
        return html

    def restore(self, value: Any) -> Any:
        """A field of trafilatura's document with the joiners back (strings only)."""
        if not isinstance(value, str):
            return value
        for joiner, stand_in in self.pairs:
            value = value.replace(stand_in, joiner)
        return value


def _meta(tree: LexborHTMLParser, *selectors: str) -> str | None:
    for selector in selectors:
        node = tree.css_first(selector)
        if node is not None:
            value = node.attributes.get("content")
            if value and value.strip():
                return value.strip()
    return None


def _title(tree: LexborHTMLParser, data: dict[str, Any]) -> str | None:
    # The heading that matches og:title or <title>, so a site name in the first h1 is passed over.
    node = title_heading(tree) or tree.css_first("h1")
    heading = clean_text(node.text(deep=True, separator=" ")) if node is not None else ""
    if heading and len(heading) >= 8:
        return heading
    for candidate in (_meta(tree, 'meta[property="og:title"]'), data.get("title")):
        if candidate:
            return clean_text(str(candidate))
    return heading or None


def _paragraphs(text: str, title: str | None) -> list[str]:
    lines = [_table_row(re.sub(r"\s+", " ", line).strip()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    # trafilatura returns the h1 as the first line of the text.
    if lines and title and normalize(lines[0]) == normalize(title):
        lines = lines[1:]
    while lines and is_boilerplate(lines[-1]):
        lines.pop()
    return lines


# A photo credit on a line of its own, normalized: «تصوير: …», «(صورة أرشيفية)», «Photo : AFP»,
# «Crédit photo - …», «© Reuters».
_CREDIT = re.compile(
    r"^©|^[(\[«]?\s*(?:تصوير|الصوره|صوره|photo|credit|source)(?:\s+\w+)?\s*[:\-–)\]»]"
    r"|^[(\[«]\s*(?:صوره ارشيفيه|ارشيفيه|archives?)\s*[)\]»]$"
)
_CREDIT_MAX = 80  # characters: a credit is short
_CAPTION_MAX = 200  # characters of text around an image: more is an article, not a caption
_LEAD_CLUTTER = 4  # lines at most taken away from the top


def _without_lead_clutter(paragraphs: list[str], tree: LexborHTMLParser) -> list[str]:
    """The body from its first line of text: a dateline («تم نشره الجمعة 24 نيسان / أبريل
    2020 09:22 مساءً»), an image's caption (almadenahnews: `div.article_image > img +
    div.red`) or a photo credit that trafilatura puts above it go. Only at the top, at most four
    lines, and never the last one."""
    captions: set[str] | None = None
    dropped = 0
    while dropped < min(_LEAD_CLUTTER, len(paragraphs) - 1):
        line = paragraphs[dropped]
        if not is_dateline(line) and not (
            len(line) <= _CREDIT_MAX and _CREDIT.match(normalize(line))
        ):
            if captions is None:
                captions = _captions(tree)
            if normalize(line) not in captions:
                break
        dropped += 1
    return paragraphs[dropped:]


def _captions(tree: LexborHTMLParser) -> set[str]:
    """Normalized texts shown with the page's images: figcaptions and caption- or credit-named
    elements, and the text of a small box that holds an image (its parent or grandparent),
    each with at most 200 characters of text; each element's text apart."""
    named = tree.css('figcaption, [class*="caption"], [class*="credit"]')
    # A box named so but holding an article's worth of text is a layout class, not a caption.
    boxes = [box for box in named if len(box.text(deep=True).strip()) <= _CAPTION_MAX]
    for image in tree.css("img"):
        box = image.parent
        for _ in range(2):
            if box is None or box.tag in ("body", "html", "article", "main"):
                break
            if len(box.text(deep=True, separator=" ").strip()) > _CAPTION_MAX:
                break
            boxes.append(box)
            box = box.parent
    texts: set[str] = set()
    for box in boxes:
        for node in (box, *box.css("*")):
            text = normalize(node.text(deep=True, separator=" "))
            if text and len(text) <= _CAPTION_MAX:
                texts.add(text)
    return texts


def _table_row(line: str) -> str:
    """A table row as trafilatura writes it («| الحزب | المقاعد |») becomes its cells joined by
    « | »; its header rule («|---|---|») goes."""
    if not line.startswith("|"):
        return line
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    if all(set(cell) <= set("-: ") for cell in cells):
        return ""
    return " | ".join(cell for cell in cells if cell)


def is_boilerplate(paragraph: str) -> bool:
    """True for what sites append to every article: a comment policy («ترحب الشبكة بالنقاش…
    الآراء الواردة أدناه لا تعبر عن رأي الموقع») or a "follow us" line («تابعونا على فيسبوك»,
    «Suivez-nous sur X»). Only a short paragraph qualifies, so a news paragraph that quotes such
    words stays."""
    plain = normalize(paragraph)
    if len(plain) > _BOILERPLATE_MAX:
        return False
    if any(phrase in plain for phrase in _COMMENT_POLICY):
        return True
    if "تعليق" in plain and any(word in plain for word in _MODERATION):
        return True
    if any(plain.startswith(phrase) or f" {phrase}" in plain for phrase in _GET_THE_APP):
        return True
    follow = any(plain.startswith(verb) or f" {verb} " in plain for verb in _FOLLOW)
    return follow and _CHANNELS.search(plain) is not None


def read_article_page(html: str, url: str | None, tz: tzinfo, status: int = 200) -> Article:
    """`extract_article` for a page fetched for a reader (/summary, `ajil article`), after the
    checks a source's page gets: the nesting bound, and what the page is. A bot challenge, a
    script-only shell or a stub that only redirects is no article: its text («Checking your
    browser…», «enable JavaScript») must never be summarized as news. Raises ParseError with
    the reason.
    """
    check_html(html)
    kind = classify(html, status, url or "")
    if kind.kind in ("challenge", "shell", "refresh", "redirect"):
        raise ParseError(kind.reason)
    return extract_article(html, url, tz)
