"""Bounds on what one source may cost: nesting depth before parsing, text lengths after.

Titles and summaries are bounded where an Item is made (`bounded_text`): a feed that puts a
whole article, or 4 MB, in <title> must not be stored, matched or offered back whole, and
control characters (NUL among them) never reach storage or Telegram.

lexbor (selectolax's engine) builds a tree in time that grows with the square of its depth:
measured here, 10,000 nested <div> took 0.45 s, 20,000 took 1.9 s and 100,000 took 86 s. Real
pages nest a few dozen levels; Chromium's parser stops nesting at 512
(kMaximumHTMLParserDOMTreeDepth in third_party/blink/renderer/core/html/parser/
html_construction_site.cc). A page deeper than that is refused before it is parsed, by a
single linear pass over its tags.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TypeVar

from bot.news.errors import ParseError

T = TypeVar("T")

MAX_DEPTH = 512
# Seconds one page or feed may take to parse, in a worker thread, before its poll (or the
# user's summary) fails as "too complex"; real pages take 2 to 60 ms.
PARSE_BUDGET_S = 5.0
MAX_TITLE = 300  # characters; Arabic headlines run 40 to 150
MAX_SUMMARY = 2000  # characters
# Elements that never hold others (WHATWG HTML, "void elements"), and those whose end tag
# may be left out and that a sibling closes (optional tags, section 13.1.2.4).
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "basefont",
        "bgsound",
        "frame",
        "keygen",
    ]
)
_SELF_CLOSING_SIBLINGS = frozenset(
    ["a", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rb", "rt", "rp"]
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,40})([^>]*)>")
_RAW_TEXT = {
    name: re.compile(f"</{name}", re.IGNORECASE)
    for name in ("script", "style", "textarea", "title", "xmp", "noscript")
}
_LOOKBACK = 16


def nesting_depth(html: str, stop_at: int = MAX_DEPTH + 1) -> int:
    """How deep the page's elements nest, as an HTML parser would build them, near enough.

    One pass over the tags (linear in the page's length); stops counting at `stop_at`. Void
    elements, self-closed tags and the optional end tags of p, li, td and the like are
    followed the way the parser follows them; an end tag closes the nearest open element of
    its name within the last 16 levels (deeper mismatches are ignored, as stray end tags)."""
    stack: list[str] = []
    deepest = 0
    position = 0
    while True:
        match = _TAG.search(html, position)
        if match is None:
            return deepest
        position = match.end()
        closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            for back in range(1, min(_LOOKBACK, len(stack)) + 1):
                if stack[-back] == name:
                    del stack[-back:]
                    break
            continue
        if name in _VOID or rest.endswith("/"):
            continue
        if name in _SELF_CLOSING_SIBLINGS and stack and stack[-1] == name:
            stack.pop()
        stack.append(name)
        deepest = max(deepest, len(stack))
        if deepest >= stop_at:
            return deepest
        if name in _RAW_TEXT:
            # Their content is text, not tags: skip to the end tag.
            end = _RAW_TEXT[name].search(html, position)
            if end is None:
                return deepest
            position = end.start()


def check_html(html: str) -> None:
    """Raise ParseError("too complex: ...") for a page nested deeper than MAX_DEPTH."""
    if nesting_depth(html) > MAX_DEPTH:
        raise ParseError(f"too complex (elements nested more than {MAX_DEPTH} deep)")


# C0 and C1 controls (NUL included) and lone surrogates; tabs and line breaks become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
ELLIPSIS = "…"


def bounded_text(text: str, limit: int) -> str:
    """`text` on one line, without control characters, at most `limit` characters.

    A longer text is cut at the last space within its final fifth, else at the limit, and
    ends with «…» (counted in the limit)."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 4 // 5:
        cut = cut[:space]
    return cut.rstrip(" .,،:;-–—|") + ELLIPSIS


async def parse_off_loop(
    parse: Callable[..., T], *args: object, budget: float = PARSE_BUDGET_S
) -> T:
    """`parse(*args)` in a worker thread, so that the event loop keeps answering meanwhile.

    Raises ParseError("too complex ...") when it takes longer than `budget` seconds; the
    thread cannot be stopped and finishes in the background, its result dropped (the depth
    check and the size cap bound how long that can be)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(parse, *args), budget)
    except TimeoutError:
        raise ParseError(f"too complex (parsing took over {budget:g} s)") from None
