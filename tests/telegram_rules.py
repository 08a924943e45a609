"""Two independent checks that an outgoing message is one Telegram accepts.

`emulator_check` runs the emulator's own validation (bot.sandbox.methods.validate_message);
`independent_check` re-derives every rule with other code: the standard library's HTML parser
for the visible text and the tags' balance, UTF-16 by encoding, URLs by urllib, bytes by
encoding. A bug in one counter is caught by the other.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from bot.compose import keyboards
from bot.compose.outgoing import Outgoing
from bot.sandbox.methods import validate_message

TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip


def params_of(message: Outgoing) -> dict[str, Any]:
    params: dict[str, Any] = {"chat_id": 1, "text": message.text, "parse_mode": "HTML"}
    markup = keyboards.markup_json(message)
    if markup is not None:
        params["reply_markup"] = json.dumps(markup, ensure_ascii=False)
    return params


def emulator_check(message: Outgoing, limit: int = 4096) -> str:
    """The visible text, or the emulator's Refusal (as Telegram would answer)."""
    return validate_message(params_of(message), limit)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def independent_check(message: Outgoing, limit: int = 4096) -> list[str]:
    """What Telegram would refuse in `message`, found without the emulator's code."""
    problems: list[str] = []
    parser = _Visible()
    parser.feed(message.text)
    parser.close()
    problems += parser.problems
    if parser.stack:
        problems.append(f"unclosed {parser.stack}")
    visible = "".join(parser.parts)
    try:
        units = len(visible.encode("utf-16-le")) // 2  # strict: a lone surrogate raises
        message.text.encode("utf-8")
    except UnicodeEncodeError:
        problems.append("not valid Unicode (a lone surrogate)")
        units = len(visible)
    if units > limit:
        problems.append(f"{units} UTF-16 units")
    if not visible.strip():
        problems.append("empty text")
    for row in message.buttons:
        for button in row:
            if button.url is not None:
                parts = urlsplit(button.url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    problems.append(f"button URL {button.url!r}")
                if not all(0x21 <= ord(c) <= 0x7E for c in button.url) or len(button.url) > 2048:
                    problems.append(f"button URL not printable ASCII {button.url!r}")
            elif button.callback is not None:
                if not 1 <= len(button.callback.encode("utf-8")) <= 64:
                    problems.append(f"callback of {len(button.callback.encode())} bytes")
            else:
                problems.append("a button with neither URL nor callback")
    return problems


def assert_accepted(message: Outgoing) -> None:
    """Both checks pass."""
    emulator_check(message)
    problems = independent_check(message)
    assert not problems, problems
