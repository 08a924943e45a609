"""What stands before every handler: who may change a group, how fast a user may go, what
happens with an unknown command or an unexpected error."""

from __future__ import annotations

import html
import logging
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.alerts.message import Outgoing, escaped, lines
from bot.i18n import translator
from handlers.replies import language_for, reply

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)
COMMANDS_PER_MINUTE = 20


async def say(update: Update, services: Services, key: str, **values: object) -> None:
    """The catalog's `key` in the chat's language; the values (which may come from users or
    sources) are cleaned and escaped, the catalog's own markup kept."""
    language = await language_for(update, services.db)
    safe = {name: escaped(str(value)) for name, value in values.items()}
    text = translator(language)(key, **safe)
    await reply(update, Outgoing(lines(language, text), silent=True))


class Guard:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._recent: defaultdict[int, deque[float]] = defaultdict(deque)
        self._warned: dict[int, float] = {}

    async def rate_limit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """About 20 commands a minute per user; beyond, one polite "wait" and nothing else."""
        user = update.effective_user
        message = update.message
        is_command = message is not None and (message.text or "").startswith("/")
        if user is None or not (is_command or update.callback_query is not None):
            return
        now = time.monotonic()
        recent = self._recent[user.id]
        while recent and recent[0] < now - 60:
            recent.popleft()
        recent.append(now)
        if len(recent) <= COMMANDS_PER_MINUTE:
            return
        if now - self._warned.get(user.id, 0) > 60:
            self._warned[user.id] = now
            if update.callback_query is not None:
                await update.callback_query.answer()
            await say(update, self._services, "slow-down")
        raise ApplicationHandlerStop

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not have (or that was meant for another bot in a group)."""
        message = update.effective_message
        if message is None or not message.text:
            return
        command = message.text.split()[0]
        if (
            "@" in command
            and command.split("@", 1)[1].lower() != (context.bot.username or "").lower()
        ):
            return  # addressed to another bot
        await say(update, self._services, "unknown-command")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what went wrong with the update's context, and tell the user."""
        details = ""
        if isinstance(update, Update):
            chat = update.effective_chat
            text = update.effective_message.text if update.effective_message else None
            details = (
                f" (update {update.update_id}, chat {chat.id if chat else '-'}, "
                f"text {html.escape((text or '')[:80])!r})"
            )
        log.error("error while handling an update%s", details, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await say(update, self._services, "error-generic")
            except Exception:  # telling the user must never raise again
                log.warning("could not tell the user about the error")


class Meter:
    """Counts updates and times command answers for /metrics."""

    def __init__(self, services: Services) -> None:
        self._metrics = services.metrics
        self._started: dict[int, float] = {}

    async def begin(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self._metrics is None or not isinstance(update, Update):
            return
        self._metrics.updates.inc()
        if len(self._started) > 1000:  # updates stopped by the rate limit never reach `end`
            self._started.clear()
        self._started[update.update_id] = time.monotonic()

    async def end(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self._metrics is None or not isinstance(update, Update):
            return
        started = self._started.pop(update.update_id, None)
        message = update.message
        if started is None or message is None or not (message.text or "").startswith("/"):
            return
        command = message.text.split()[0].split("@")[0][1:33].lower()  # type: ignore[union-attr]
        known = command if command.isascii() and command.isidentifier() else "other"
        self._metrics.command_seconds.labels(known).observe(time.monotonic() - started)
