"""Telegram's length limits, counted as Telegram counts them, and cutting text to fit.

Telegram measures a message's text (at most 4,096) and a caption (at most 1,024) after entity
parsing, that is on the visible text once HTML tags are removed and character references
decoded, in UTF-16 code units: a character outside the Basic Multilingual Plane (most emoji)
counts 2. Sources: https://core.telegram.org/bots/api#sendmessage ("Text of the message to be
sent, 1-4096 characters after entities parsing"), https://core.telegram.org/bots/api#sendphoto
("Photo caption ..., 0-1024 characters after entities parsing") and
https://core.telegram.org/api/entities ("Entity length ... computed in UTF-16 code units").

Cuts fall on a line boundary, else a word boundary, else between two grapheme clusters (never
inside an emoji sequence, a flag or a letter with its marks), never inside a tag or a character
reference; «…» marks the cut and the tags open at the cut are closed after it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import regex

MAX_TEXT = 4096
MAX_CAPTION = 1024
ELLIPSIS = "…"

# A tag, a character reference, a run of ordinary text, or a lone '<' or '&'.
HTML_TOKEN = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*>|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);|[^<&]+|[<&]"
)
_GRAPHEME = regex.compile(r"\X")
# What `clean` removes: C0 and C1 controls but newline and tab; lone surrogates (not characters,
# refused as UTF-8); noncharacters; and direction controls, since those from untrusted text
# would reorder our own lines (or hide a word, as a right-to-left override does): Ajil places
# its own marks (bot.compose.bidi).
_PLANE_ENDS = "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_DROPPED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    f"{_PLANE_ENDS}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_SPACES = regex.compile(r"\s+")


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts: 2 for a character above U+FFFF.

    A lone surrogate (which no valid text holds) counts 1 instead of raising.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """Untrusted text made safe to show: without lone surrogates, control characters (but
    newlines and tabs), noncharacters or direction controls; line ends as "\\n"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n").replace("\t", " ")
    return _DROPPED.sub("", text)


def clean_line(text: str) -> str:
    """`clean`, then every run of white space (newlines too) as one space, trimmed: a
    headline, a source's name, a keyword."""
    return str(_SPACES.sub(" ", clean(text))).strip()


_MARKUP = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*>|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);"
)


def visible_text(source: str) -> str:
    """What Telegram shows of a Telegram-HTML text: tags removed, references decoded."""
    return _MARKUP.sub(_visible, source)


def visible_units(source: str) -> int:
    return utf16_units(visible_text(source))


def _visible(match: re.Match[str]) -> str:
    return "" if match.group(2) is not None else html.unescape(match.group(0))


def shorten(text: str, limit: int) -> str:
    """Plain `text` cut to at most `limit` UTF-16 units, at a word boundary if one is near,
    with «…». `limit` counts the «…»; at least 1."""
    if utf16_units(text) <= limit:
        return text
    return html.unescape(fit_html(html.escape(text, quote=False), limit))


def fit_html(source: str, limit: int = MAX_TEXT) -> str:
    """Telegram-HTML `source` whose visible text is at most `limit` UTF-16 units.

    Unchanged if it fits. Otherwise cut at the last line boundary if that keeps at least half
    of the room, else at the last word boundary (same condition), else at the last grapheme
    boundary; then «…» and the end tags of the elements open at the cut, innermost first.
    """
    if utf16_units(source) <= limit or visible_units(source) <= limit:
        return source  # the visible text is never longer than its source
    room = max(limit - utf16_units(ELLIPSIS), 0)
    cut = _cut_point(source, room)
    kept = source[: cut.index].rstrip(" \n")
    closing = "".join(f"</{name}>" for name in reversed(cut.open_tags))
    return kept + ELLIPSIS + closing


class _Cut:
    __slots__ = ("index", "open_tags", "used")

    def __init__(self, index: int, open_tags: tuple[str, ...], used: int) -> None:
        self.index = index
        self.open_tags = open_tags
        self.used = used


def _cut_point(source: str, room: int) -> _Cut:
    """Where to cut so that the visible text before it is at most `room` units."""
    used = 0
    stack: tuple[str, ...] = ()
    line = word = None
    grapheme = _Cut(0, (), 0)
    for start, end, kind, piece, name in _pieces(source):
        if kind == "open":
            stack = (*stack, name)
            continue
        if kind == "close":
            if stack and stack[-1] == name:
                stack = stack[:-1]
            continue
        size = utf16_units(piece)
        if used + size > room:
            break
        if piece == "\n":
            line = _Cut(start, stack, used)
        elif piece.isspace():
            word = _Cut(start, stack, used)
        used += size
        grapheme = _Cut(end, stack, used)
    half = room // 2
    if line is not None and line.used >= half:
        return line
    if word is not None and word.used >= half:
        return word
    return grapheme


def _pieces(source: str) -> Iterator[tuple[int, int, str, str, str]]:
    """(start, end in source, kind, visible piece, tag name): kind is "open" or "close" for a
    tag, "text" for a character reference or one grapheme cluster of text."""
    for match in HTML_TOKEN.finditer(source):
        token, start = match.group(0), match.start()
        name = match.group(2)
        if name is not None:
            kind = "close" if match.group(1) else "open"
            yield start, match.end(), kind, "", name.lower()
        elif token.startswith("&") and len(token) > 1:
            yield start, match.end(), "text", html.unescape(token), ""
        else:
            for cluster in _GRAPHEME.finditer(token):
                yield start + cluster.start(), start + cluster.end(), "text", cluster.group(0), ""
