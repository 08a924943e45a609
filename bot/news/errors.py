"""The error news processing raises for a page or feed it cannot read.

A module of its own because both `bot.news.models` (every Item's bounds) and `bot.news.bounds`
(a page too complex to parse) raise it, and `models` imports `bounds`: defined in either one,
the other would have to import it back.
"""

from __future__ import annotations


class ParseError(Exception):
    """A page or feed that cannot be read as what it claims to be; `reason` is short."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
