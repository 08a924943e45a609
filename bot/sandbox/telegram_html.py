"""Telegram's HTML parse mode, checked the way the Bot API checks it.

Used by the emulator to refuse what Telegram would refuse ("can't parse entities") and to
measure text as Telegram does: after entity parsing, in UTF-16 code units.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Tag -> attributes Telegram accepts on it.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)\s*(/?)>")
_ATTR = re.compile(r"""([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message follows Telegram's wording."""


@dataclass(frozen=True)
class ParsedText:
    text: str  # what the user sees
    links: tuple[str, ...]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> ParsedText:
    """Strip Telegram HTML to its visible text, or raise EntityParseError like the Bot API."""
    out: list[str] = []
    stack: list[str] = []
    links: list[str] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "<":
            match = _TAG.match(source, pos)
            if not match:
                raise EntityParseError(
                    f"can't parse entities: unexpected '<' at byte offset {_offset(source, pos)}"
                )
            closing, name, attrs, _ = match.groups()
            name = name.lower()
            if name not in ALLOWED_TAGS:
                kind = "end" if closing else "start"
                raise EntityParseError(
                    f'can\'t parse entities: unsupported {kind} tag "{name}" at byte offset '
                    f"{_offset(source, pos)}"
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityParseError(
                        f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\""
                        if stack
                        else f'can\'t parse entities: unexpected end tag "{name}" at byte offset '
                        f"{_offset(source, pos)}"
                    )
                stack.pop()
            else:
                for attr in _ATTR.finditer(attrs):
                    attr_name = attr.group(1).lower()
                    if attr_name not in ALLOWED_TAGS[name]:
                        continue  # Telegram ignores unknown attributes
                    value = next((g for g in attr.groups()[1:] if g is not None), "")
                    if name == "a" and attr_name == "href":
                        links.append(html.unescape(value))
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(source, pos)
            if match is None:
                # Telegram leaves a lone '&' as text.
                out.append("&")
                pos += 1
                continue
            body = match.group(1)
            if body.startswith("#"):
                number = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
                try:
                    out.append(chr(number))
                except (ValueError, OverflowError):
                    raise EntityParseError(
                        f"can't parse entities: invalid character reference at byte offset "
                        f"{_offset(source, pos)}"
                    ) from None
            elif body.lower() in _NAMED_ENTITIES:
                out.append(_NAMED_ENTITIES[body.lower()])
            else:
                raise EntityParseError(
                    f'can\'t parse entities: unsupported HTML entity "&{body};" at byte offset '
                    f"{_offset(source, pos)}"
                )
            pos = match.end()
        else:
            out.append(char)
            pos += 1
    if stack:
        raise EntityParseError(
            f"can't parse entities: can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return ParsedText("".join(out), tuple(links))


MAX_BUTTON_URL = 2048
_URL = re.compile(r"(?i)(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?#][!-~]*)?")


def check_button_url(url: str) -> str | None:
    """Why Telegram would refuse `url` in a button, or None if it takes it.

    Checked as Telegram's answers show: an absolute http(s) or tg:// URL of printable ASCII
    (no space, no raw non-ASCII letter: those are refused, percent-encoded they pass), with a
    host, at most 2,048 characters.
    """
    if len(url) > MAX_BUTTON_URL:
        return "URL is too long"
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "tg":
        return None if re.fullmatch(r"tg://[!-~]+", url) else "Wrong URL"
    if scheme not in ("http", "https"):
        return "Unsupported URL protocol"
    if not _URL.fullmatch(url):
        return "Wrong HTTP URL"
    return None


def _offset(source: str, pos: int) -> int:
    return len(source[:pos].encode("utf-8"))
