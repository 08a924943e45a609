"""Homepages: the urgent block (by its label) and the headlines, with or without selectors.

The page is bounded in nesting (markup.bounded_nesting), parsed once, flattened in document
order (outline.py), then read twice: ticker.py finds the blocks a label says are urgent,
headlines.py the links to the site's own articles. Both are linear in the page's size.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from bot.news.headlines import MAX_HEADLINES, Headline, find_headlines, is_article_url
from bot.news.markup import absolute_url, bounded_nesting, same_site
from bot.news.models import Item, PageReading, ParseError
from bot.news.outline import Outline, outline
from bot.news.pushscript import PushBinding, find_bindings, inline_scripts, urgent_binding
from bot.news.ticker import EMPTY_BLOCK_NOTE, TickerEntry, UrgentReading, find_urgent
from bot.news.urgency import is_urgent_label, title_urgency

_MIN_SELECTED_TITLE = 8


def parse_homepage(
    html: str,
    source: str,
    base_url: str,
    ticker_selector: str | None = None,
    headline_selector: str | None = None,
    tz: tzinfo | None = None,
    now: datetime | None = None,
) -> PageReading:
    """What a homepage yields: urgent items first (from_ticker), then the other headlines.

    `base_url` is the page's URL: links resolve against it, and "the site's own articles" are on
    its host. An urgent entry without a usable link (text only, javascript:) gets the site's
    front page as its URL; its id then comes from its text (identity.stable_id). `ticker_selector` names the urgent block whatever its
    label; `headline_selector` the headline links (elements that are or hold an <a href>).
    `tz` (the source's zone) dates each headline by the time its card shows, if any
    (bot.news.cardtime; relative times and clocks alone need `now`); without it they are
    undated.
    Raises ParseError when the text is not an HTML page or a selector is invalid.
    """
    tree = LexborHTMLParser(bounded_nesting(html))
    if tree.body is None:
        raise ParseError("not an HTML page")
    scripts = inline_scripts(tree)  # read before they go: they name the bar's push channel
    # Code and templates are no text a reader sees: a bar entry must not carry them.
    tree.strip_tags(_NOT_TEXT)
    page = outline(tree)
    chosen = None
    notes: list[str] = []
    if ticker_selector:
        found = (page.index_of.get(n.mem_id) for n in _select(tree, ticker_selector))
        chosen = [i for i in found if i is not None]
        if not chosen:
            notes.append(f'ticker_selector "{ticker_selector}" matches nothing in the page')
    urgent = find_urgent(page, base_url, chosen)
    if headline_selector:
        headlines = _selected_headlines(tree, base_url, headline_selector)
    else:
        headlines = find_headlines(page, base_url, urgent.headline_blocks, tz=tz, now=now)
    tagged = _tagged_urgent(tree, base_url)
    items: list[Item] = []
    seen: set[str] = set()
    site = urljoin(base_url, "/")  # the URL of entries without a usable link of their own
    for entry in urgent.entries:
        _add(items, seen, source, entry, site)
    for headline in headlines:
        if headline.url not in seen:
            seen.add(headline.url)
            urgent_title, title = title_urgency(headline.title)
            urgent_tag = headline.url in tagged
            items.append(
                Item(
                    source,
                    title,
                    headline.url,
                    headline.published,
                    urgent=urgent_title or urgent_tag,
                )
            )
    block = f'ticker_selector "{ticker_selector}"' if ticker_selector else None
    if urgent.blocks:
        block = "; ".join(urgent.blocks)
    push, urgent_notes = _pushed(tree, page, urgent, scripts, base_url)
    return PageReading(items, block, tuple(notes + urgent_notes), push, tuple(urgent.passed_over))


# Elements whose content is code or an inert template, never text on the page.
_NOT_TEXT = ["script", "style", "template"]

# How the warning of a pushed urgent bar begins: a pusher source for that page drops it.
PUSH_NOTE_START = "the urgent bar is filled by a Pusher push channel"


def push_note(push: PushBinding, page_url: str) -> str:
    """The warning of an urgent bar that a push channel fills: what to add, and how."""
    return (
        f"{PUSH_NOTE_START} ({push.describe()}): "
        f'add a kind = "pusher" source; `ajil probe {page_url}` prints it'
    )


def _pushed(
    tree: LexborHTMLParser, page: Outline, urgent: UrgentReading, scripts: list[str], base_url: str
) -> tuple[PushBinding | None, list[str]]:
    """The push channel that fills an urgent block, and the notes: an empty block that such a
    channel fills says so instead of "its script fills it"."""
    if not urgent.indices:
        return None, urgent.notes
    bindings = find_bindings(scripts, base_url)
    push = urgent_binding(tree, page, urgent.indices, bindings)
    if push is None or urgent_binding(tree, page, urgent.empty, [push]) is None:
        return push, urgent.notes
    note = push_note(push, base_url)
    return push, [note if n == EMPTY_BLOCK_NOTE else n for n in urgent.notes]


_TAG_LINKS = (
    'a[rel~="tag"][href], a[rel~="category"][href], a[href*="/tag/"], a[href*="/category/"]'
)
_CARD_LEVELS = 4  # how far up from a tag link its headline's card may be
_CARD_ARTICLES = 2  # a card links to one article (twice at most: image and title)


def _tagged_urgent(tree: LexborHTMLParser, base_url: str) -> set[str]:
    """Article URLs whose card carries a tag or category link labelled urgent: a headline
    filed under «عاجل» on the homepage, as a feed's category would file it.

    The card is the nearest ancestor (within 4 levels) that links to an article; one that
    links to more than two articles is a list, not a card, and makes nothing urgent."""
    urls: set[str] = set()
    for tag in tree.css(_TAG_LINKS):
        if not is_urgent_label(tag.text(deep=True, separator=" ").strip()):
            continue
        card = tag.parent
        for _ in range(_CARD_LEVELS):
            if card is None or card.tag in ("body", "html"):
                break
            found = {absolute_url(base_url, a.attributes.get("href")) for a in card.css("a[href]")}
            articles = {u for u in found if u and same_site(u, base_url) and is_article_url(u)}
            if articles:
                if len(articles) <= _CARD_ARTICLES:
                    urls |= articles
                break
            card = card.parent
    return urls


def _add(items: list[Item], seen: set[str], source: str, entry: TickerEntry, base: str) -> None:
    key = entry.url or "text:" + entry.title
    if key in seen:
        return
    seen.add(key)
    _, title = title_urgency(entry.title)
    items.append(Item(source, title, entry.url or base, urgent=True, from_ticker=True))


def _select(tree: LexborHTMLParser, selector: str) -> list[LexborNode]:
    try:
        return list(tree.css(selector))
    except (SelectolaxError, ValueError) as exc:
        raise ParseError(f"invalid CSS selector {selector!r} ({exc})") from None


def _selected_headlines(tree: LexborHTMLParser, base_url: str, selector: str) -> list[Headline]:
    """The operator's selector, honoured as written: each element is, or holds, the link."""
    out: dict[str, Headline] = {}
    for node in _select(tree, selector):
        anchor = node if node.tag == "a" else node.css_first("a[href]")
        if anchor is None:
            parent = node.parent
            anchor = parent if parent is not None and parent.tag == "a" else None
        if anchor is None:
            continue
        url = absolute_url(base_url, anchor.attributes.get("href"))
        title = " ".join(node.text(deep=True, separator=" ").split())
        if url and len(title) >= _MIN_SELECTED_TITLE and same_site(url, base_url):
            out.setdefault(url, Headline(title, url))
        if len(out) >= MAX_HEADLINES:
            break
    return list(out.values())


__all__ = ["Outline", "parse_homepage"]
