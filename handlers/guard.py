"""What stands before every handler: who may change a group, how fast a user may go, what
happens with an unknown command or an unexpected error."""

from __future__ import annotations

import html
import logging
import sqlite3
import time

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CommandHandler, ContextTypes

from bot.compose.lines import escaped, lines
from bot.compose.outgoing import Outgoing
from bot.i18n import translator
from bot.services import Services
from handlers.replies import language_for, reply
from storage import StorageError, sessions

log = logging.getLogger(__name__)
COMMANDS_PER_MINUTE = 20


async def say(update: Update, services: Services, key: str, **values: object) -> None:
    """The catalog's `key` in the chat's language; the values (which may come from users or
    sources) are cleaned and escaped, the catalog's own markup kept."""
    language = await language_for(update, services.db)
    safe = {name: escaped(str(value)) for name, value in values.items()}
    text = translator(language)(key, **safe)
    await reply(update, Outgoing(lines(language, text), silent=True))


def counted(update: Update) -> bool:
    """What the per-user limit counts: commands (new or edited), every edited message, button
    presses and inline queries; plain new messages start no handler and cost nothing."""
    if update.callback_query is not None or update.inline_query is not None:
        return True
    if update.edited_message is not None:
        return True
    message = update.message
    return message is not None and (message.text or "").startswith("/")


class Guard:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def rate_limit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """About 20 commands, edits, button presses and inline queries a minute per user.

        Beyond that the update stops here, before any handler: no reply but one polite "wait"
        a minute in the chat. A button press is still answered (no text) so that its button
        stops spinning; an inline query gets no answer at all (the cheapest, and Telegram's
        client simply shows nothing). The count is kept in the database (storage.sessions),
        so it holds whichever worker of a fleet gets the update, and across restarts; when
        the database cannot count, the update goes on (it is its own handler's to fail)."""
        user = update.effective_user
        if user is None or not counted(update):
            return
        try:
            pace = await sessions.pace_command(
                self._services.db,
                user.id,
                int(time.time() * 1000),
                COMMANDS_PER_MINUTE,
                can_warn=update.inline_query is None and update.effective_chat is not None,
            )
        except (sqlite3.Error, StorageError, OSError) as exc:
            log.warning("cannot count a command of user %d: %s", user.id, exc)
            return
        if pace.allowed:
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError as exc:  # too old: nothing is spinning any more
                log.debug("could not answer a button press over the limit: %s", exc)
        if pace.warn:
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
        storage = isinstance(context.error, sqlite3.Error | StorageError | OSError)
        if storage:
            # A full disk or a locked or read-only file: the operator's problem, said once
            # per update in one line; the user is told to try again, not "unexpected".
            log.error("cannot save while handling an update%s: %s", details, context.error)
        else:
            log.error("error while handling an update%s", details, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await say(update, self._services, "error-storage" if storage else "error-generic")
            except Exception:  # telling the user must never raise again
                log.warning("could not tell the user about the error")


class Meter:
    """Counts updates and times command answers for /metrics.

    The command label takes values from a closed set, the bot's registered commands and
    "other", so that invented commands cannot grow /metrics (issue 13: 3,000 of them made
    1,220 label values)."""

    def __init__(self, services: Services) -> None:
        self._metrics = services.metrics
        self._started: dict[int, float] = {}
        self._known: frozenset[str] | None = None

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
        label = command_label(message.text or "", self._registered(context))
        self._metrics.command_seconds.labels(label).observe(time.monotonic() - started)

    def _registered(self, context: ContextTypes.DEFAULT_TYPE) -> frozenset[str]:
        """The commands of the application's CommandHandlers (read once: all are registered
        before the first update)."""
        if self._known is None:
            self._known = frozenset(
                command
                for group in context.application.handlers.values()
                for handler in group
                if isinstance(handler, CommandHandler)
                for command in handler.commands
            )
        return self._known


def command_label(text: str, registered: frozenset[str]) -> str:
    """The metric label of a command message: its name when registered (Telegram's commands
    are case-insensitive, an @BotName suffix is dropped), else "other"."""
    command = text.split(maxsplit=1)[0] if text.strip() else ""
    name = command.removeprefix("/").split("@", 1)[0].lower()
    return name if name in registered else "other"
