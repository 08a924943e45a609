"""Faults on demand for the Bot API emulator: Telegram's rate limits, blocked and deactivated
users, groups upgraded to supergroups, latency, dropped connections, and refusals of a
message's content (its text, or its button URLs in each wording Telegram uses).

Tests switch them on through `Emulator.faults`; the answers are worded as Telegram's.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

# The wordings Telegram answers a refused button URL with (`button_url_refusals` picks one;
# "{url}" is the refused URL). Seen in public bug reports: BUTTON_URL_INVALID (passed on from
# MTProto), "inline keyboard button URL '…' is invalid" and its ": Unsupported URL protocol"
# form, and the older wording without the URL.
BUTTON_URL_WORDINGS = (
    "BUTTON_URL_INVALID",
    "inline keyboard button URL '{url}' is invalid",
    "inline keyboard button URL '{url}' is invalid: Unsupported URL protocol",
    "inline keyboard button URL is invalid",
)


class Refusal(Exception):
    """A Telegram error answer: code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class Faults:
    """What can go wrong, switched on by tests. All limits are off until set."""

    global_per_second: int | None = None  # all sends of the bot
    private_per_second: int | None = None  # to one private chat (Telegram: about 1)
    group_per_minute: int | None = None  # to one group or channel (Telegram: 20)
    retry_after: int | None = None  # fixed retry_after in 429 answers, else computed
    blocked: set[int] = field(default_factory=set)  # users who blocked the bot
    deactivated: set[int] = field(default_factory=set)  # deleted accounts
    kicked: set[int] = field(default_factory=set)  # groups and channels that removed the bot
    migrated: dict[int, int] = field(default_factory=dict)  # group id -> supergroup id
    latency: float = 0.0  # seconds added before every answer
    drop_next: int = 0  # the next N send requests get their connection closed, unanswered
    storm_until: float = 0.0  # until this time.monotonic(), every send gets a 429
    refuse_texts: list[str] = field(default_factory=list)  # text containing one: "can't parse"
    # Until this time.monotonic(), every call is answered 502 by a proxy in front of the Bot
    # API (an HTML page, as Telegram's front end sends during an outage).
    outage_until: float = 0.0
    # A message with a URL button whose URL contains a key is refused in that key's wording
    # (one of BUTTON_URL_WORDINGS); the key "" refuses every URL button.
    button_url_refusals: dict[str, str] = field(default_factory=dict)
    _sent: deque[float] = field(default_factory=deque)
    _by_chat: defaultdict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def check_send(self, chat_id: int, chat_type: str, now: float | None = None) -> None:
        """Raise the Refusal Telegram would give for a send to this chat now, if any."""
        now = time.monotonic() if now is None else now
        if chat_id in self.migrated:
            raise Refusal(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.blocked:
            raise Refusal(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.deactivated:
            raise Refusal(403, "Forbidden: user is deactivated")
        if chat_id in self.kicked:
            kind = "channel" if chat_type == "channel" else "group"
            raise Refusal(403, f"Forbidden: bot was kicked from the {kind} chat")
        if now < self.storm_until:
            self._too_many(math.ceil(self.storm_until - now))
        if self.global_per_second is not None:
            _expire(self._sent, now - 1.0)
            if len(self._sent) >= self.global_per_second:
                self._too_many(1)
        history = self._by_chat[chat_id]
        if chat_type == "private" and self.private_per_second is not None:
            _expire(history, now - 1.0)
            if len(history) >= self.private_per_second:
                self._too_many(1)
        if chat_type != "private" and self.group_per_minute is not None:
            _expire(history, now - 60.0)
            if len(history) >= self.group_per_minute:
                self._too_many(max(1, math.ceil(history[0] + 60.0 - now)))
        self._sent.append(now)
        history.append(now)

    def _too_many(self, seconds: int) -> None:
        wait = self.retry_after if self.retry_after is not None else seconds
        raise Refusal(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    def check_text(self, text: str) -> None:
        for marker in self.refuse_texts:
            if marker in text:
                raise Refusal(
                    400, "Bad Request: can't parse entities: unsupported start tag at byte offset 0"
                )

    def check_buttons(self, markup: dict[str, Any] | None) -> None:
        """Refuse a message with a URL button as `button_url_refusals` says, if it says so."""
        if not self.button_url_refusals or markup is None:
            return
        for row in markup.get("inline_keyboard", []) or []:
            for button in row:
                url = str(button.get("url", ""))
                for part, wording in self.button_url_refusals.items():
                    if "url" in button and part in url:
                        raise Refusal(400, f"Bad Request: {wording.replace('{url}', url)}")

    def take_drop(self) -> bool:
        if self.drop_next > 0:
            self.drop_next -= 1
            return True
        return False


def _expire(times: deque[float], horizon: float) -> None:
    while times and times[0] <= horizon:
        times.popleft()
