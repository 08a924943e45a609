"""Whether the Bot API answers: what the bot last heard from it, for /healthz.

Every request python-telegram-bot makes (getMe at start, getUpdates' long polls, replies)
goes through `WatchedRequest`, which reports each answer or failure to one `BotApiContact`.
In webhook mode, or whenever nothing was asked for a while, `probe` asks getMe. An answer is
any HTTP status below 500 (a refusal is still an answer); a connection error, a timeout or a
5xx (Telegram's gateway during an outage) is a failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import Bot
from telegram.error import NetworkError, TelegramError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

# Seconds without any contact after which `probe` asks getMe; also the probe job's interval.
PROBE_AFTER_S = 30.0


class BotApiContact:
    """The last answer from the Bot API and the failures since; times in monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started_at = clock()
        self.answered_at: float | None = None  # the last answer
        self.failing_since: float | None = None  # the first failure after the last answer
        self.error = ""  # the last failure, short and without the token

    def answered(self) -> None:
        if self.failing_since is not None and self.answered_at is not None:
            log.warning("the Bot API answers again, after %.0f s", self.silent_for())
        self.answered_at = self._clock()
        self.failing_since = None

    def failed(self, error: str) -> None:
        if self.failing_since is None:
            self.failing_since = self._clock()
            if self.answered_at is not None:  # at start, bot.app says it
                log.warning("the Bot API does not answer: %s", error)
        self.error = error

    def silent_for(self) -> float:
        """Seconds since the last answer (or since start, when none came yet)."""
        return self._clock() - (self.answered_at or self.started_at)

    def problem(self) -> str | None:
        """The /healthz line when the Bot API is not answering now, else None."""
        if self.answered_at is None:
            waited = self._clock() - self.started_at
            why = f": {self.error}" if self.error else ""
            return f"the Bot API has not answered since start ({waited:.0f} s){why}"
        if self.failing_since is not None:
            return f"the Bot API has not answered for {self.silent_for():.0f} s: {self.error}"
        return None

    async def probe(self, bot: Bot) -> None:
        """Ask getMe when nothing was heard for PROBE_AFTER_S; the answer, or the failure,
        reaches this contact through the bot's WatchedRequest."""
        if self.silent_for() < PROBE_AFTER_S and self.failing_since is None:
            return
        try:
            await bot.get_me()
        except TelegramError as exc:
            log.debug("Bot API probe: %s", exc)


class WatchedRequest(HTTPXRequest):
    """python-telegram-bot's HTTP request (httpx), reporting every outcome to a contact."""

    def __init__(self, contact: BotApiContact, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._contact = contact

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            status, payload = await super().do_request(*args, **kwargs)
        except NetworkError as exc:  # TimedOut included; PTB's message names no URL or token
            self._contact.failed(exc.message)
            raise
        if status >= 500:
            self._contact.failed(f"HTTP {status}")
        else:
            self._contact.answered()
        return status, payload
