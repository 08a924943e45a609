"""Every inline button's callback data: packed, checked and parsed in this one module.

Telegram takes 1-64 bytes of callback data (https://core.telegram.org/bots/api#inlinekeyboardbutton:
"Data to be sent in a callback query to the bot when the button is pressed, 1-64 bytes") and
refuses the whole message otherwise (BUTTON_DATA_INVALID). Bytes, not characters: an Arabic
letter takes two. So each button kind packs only small typed fields (ids, numbers, codes from a
closed list), never free text, and `pack` refuses anything over 64 bytes where the button is
made, long before Telegram could. The handlers' patterns are the kinds' own `PATTERN`s, so what
is sent and what is parsed cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

MAX_BYTES = 64
MAX_ID = 2**63 - 1  # SQLite's INTEGER PRIMARY KEY

Level = Literal["urgent", "all", "digest"]
LanguageCode = Literal["ar", "fr", "en"]
LEVELS: tuple[Level, ...] = ("urgent", "all", "digest")
LANGUAGE_CODES: tuple[LanguageCode, ...] = ("ar", "fr", "en")


class CallbackDataError(ValueError):
    """A button's data that Telegram would refuse (over 64 bytes, empty) or a field out of
    its range."""


def checked(data: str) -> str:
    """`data` if it is 1-64 bytes in UTF-8; raises CallbackDataError otherwise."""
    size = len(data.encode("utf-8"))
    if not 1 <= size <= MAX_BYTES:
        raise CallbackDataError(f"callback data of {size} bytes (Telegram takes 1-64): {data!r}")
    return data


def _id(value: int, what: str) -> int:
    if not 0 <= value <= MAX_ID:
        raise CallbackDataError(f"{what} out of range: {value}")
    return value


@dataclass(frozen=True)
class Summary:
    """The summary button under an alert or a list: the item's id."""

    item_id: int
    PATTERN: ClassVar[str] = r"^sum:(\d{1,19})$"

    def pack(self) -> str:
        return checked(f"sum:{_id(self.item_id, 'item id')}")

    @classmethod
    def parse(cls, data: str) -> Summary | None:
        match = re.match(cls.PATTERN, data)
        return cls(int(match.group(1))) if match and int(match.group(1)) <= MAX_ID else None


MAX_OFFSET = 999_999
MAX_PAGE = 20


@dataclass(frozen=True)
class More:
    """The "more" button under /latest and /urgent: which list, from where, how many."""

    urgent: bool
    offset: int
    count: int
    PATTERN: ClassVar[str] = r"^more:([ua]):(\d{1,6}):(\d{1,2})$"

    def pack(self) -> str:
        if not 0 <= self.offset <= MAX_OFFSET or not 1 <= self.count <= MAX_PAGE:
            raise CallbackDataError(f"page out of range: {self.offset}, {self.count}")
        return checked(f"more:{'u' if self.urgent else 'a'}:{self.offset}:{self.count}")

    @classmethod
    def parse(cls, data: str) -> More | None:
        match = re.match(cls.PATTERN, data)
        if not match:
            return None
        count = min(max(int(match.group(3)), 1), MAX_PAGE)
        return cls(match.group(1) == "u", int(match.group(2)), count)


@dataclass(frozen=True)
class Subscribe:
    """The «subscribe» button under /start."""

    PATTERN: ClassVar[str] = r"^set:sub$"

    def pack(self) -> str:
        return checked("set:sub")


# -- the settings keyboard: one handler, one pattern, one parser --------------------------------

SETTINGS_PATTERN = (
    r"^set:(home|lang|level|sources|src|filters|unfilter|quiet)(:[0-9A-Za-z-]{1,41})?$"
)


@dataclass(frozen=True)
class SettingsHome:
    def pack(self) -> str:
        return checked("set:home")


@dataclass(frozen=True)
class Language:
    code: LanguageCode

    def pack(self) -> str:
        if self.code not in LANGUAGE_CODES:
            raise CallbackDataError(f"unknown language {self.code!r}")
        return checked(f"set:lang:{self.code}")


@dataclass(frozen=True)
class AlertLevel:
    level: Level

    def pack(self) -> str:
        if self.level not in LEVELS:
            raise CallbackDataError(f"unknown alert level {self.level!r}")
        return checked(f"set:level:{self.level}")


@dataclass(frozen=True)
class Sources:
    def pack(self) -> str:
        return checked("set:sources")


@dataclass(frozen=True)
class SourceToggle:
    source_id: int

    def pack(self) -> str:
        return checked(f"set:src:{_id(self.source_id, 'source id')}")


@dataclass(frozen=True)
class Keywords:
    def pack(self) -> str:
        return checked("set:filters")


KEYWORD_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class RemoveKeyword:
    """A keyword's remove button: the keyword's id (storage.subscribers.keyword_id), never
    the word, which may take 40 letters and so 80 bytes and more."""

    keyword_id: str

    def pack(self) -> str:
        if not KEYWORD_ID.fullmatch(self.keyword_id):
            raise CallbackDataError(f"not a keyword id: {self.keyword_id!r}")
        return checked(f"set:unfilter:{self.keyword_id}")


@dataclass(frozen=True)
class Quiet:
    """A quiet-hours preset (minutes after local midnight), or None to switch them off."""

    hours: tuple[int, int] | None

    def pack(self) -> str:
        if self.hours is None:
            return checked("set:quiet:off")
        start, end = self.hours
        if not (0 <= start < 1440 and 0 <= end < 1440) or start == end:
            raise CallbackDataError(f"quiet hours out of range: {self.hours}")
        return checked(f"set:quiet:{start}-{end}")


SettingsButton = (
    SettingsHome | Language | AlertLevel | Sources | SourceToggle | Keywords | RemoveKeyword | Quiet
)


def parse_settings(data: str) -> SettingsButton | None:
    """The settings button `data` stands for, or None for anything this bot never packed."""
    match = re.match(SETTINGS_PATTERN, data)
    if not match:
        return None
    kind, value = match.group(1), (match.group(2) or "")[1:]
    simple: dict[str, SettingsButton] = {
        "home": SettingsHome(),
        "sources": Sources(),
        "filters": Keywords(),
    }
    if kind in simple:
        return simple[kind] if not value else None
    if kind == "lang":
        return next((Language(code) for code in LANGUAGE_CODES if code == value), None)
    if kind == "level":
        return next((AlertLevel(level) for level in LEVELS if level == value), None)
    if kind == "src":
        return SourceToggle(int(value)) if value.isdigit() and int(value) <= MAX_ID else None
    if kind == "unfilter":
        return RemoveKeyword(value) if KEYWORD_ID.fullmatch(value) else None
    return _quiet(value)


def _quiet(value: str) -> Quiet | None:
    if value == "off":
        return Quiet(None)
    match = re.fullmatch(r"(\d{1,4})-(\d{1,4})", value)
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    if not (start < 1440 and end < 1440) or start == end:
        return None
    return Quiet((start, end))
