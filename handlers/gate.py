"""Who may change a group's settings, decided once for every update before any handler; and
the answer to a button the bot never made.

In a group only its admins may subscribe, unsubscribe or change settings; anyone may read
(/help, /latest, /urgent, /summary, /search, /sources, /settings, /start and the summary and "more"
buttons). The gate runs before the handlers (its own handler group), so a handler added later
is covered without doing anything: whatever is not listed as read-only here needs an admin.
Bot-level admin commands (/stats, /broadcast, /source) carry their own check, against
`[telegram] admins`.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.compose import callbacks
from bot.i18n import translator
from bot.services import Services
from handlers.guard import say
from handlers.replies import language_for

# Commands that write nothing about the chat.
READ_ONLY_COMMANDS = frozenset(
    {"start", "help", "latest", "urgent", "summary", "search", "sources", "settings"}
)  # /settings shows the settings; its buttons, which change them, are guarded
# Commands checked against the bot's own admins instead.
BOT_ADMIN_COMMANDS = frozenset({"stats", "broadcast", "source"})
# Buttons that only read.
READ_ONLY_BUTTONS = (re.compile(callbacks.Summary.PATTERN), re.compile(callbacks.More.PATTERN))
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s|$)")


def needs_group_admin(update: Update) -> bool:
    """Whether this update, in a group, may change the group (and so needs one of its admins).

    Commands not known to be read-only count as changing (a new one is guarded until it is
    listed here); buttons other than summary and "more" count as changing."""
    chat = update.effective_chat
    if chat is None or chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return False
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return not any(pattern.match(data) for pattern in READ_ONLY_BUTTONS)
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    match = _COMMAND.match(text)
    if match is None:
        return False  # not a command: nothing to change
    name = match.group(1).lower()
    if name == "start" and text[match.end() :].strip():
        return True  # /start SOURCE (a deep link) subscribes the chat
    return name not in READ_ONLY_COMMANDS and name not in BOT_ADMIN_COMMANDS


async def is_group_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the update's user administers its chat (Telegram is asked: getChatMember)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False  # cannot tell: refuse rather than let anyone change the group
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


class GroupGate:
    """Stops a non-admin's change to a group (`check`, before every handler) and answers
    buttons that nothing else takes (`stale_button`, after every handler)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def check(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update) or not needs_group_admin(update):
            return
        if await is_group_admin(update, context):
            return
        if update.callback_query is not None:
            # A button: told in the pressing member's notification, not in a message that
            # every member of the group would see.
            language = await language_for(update, self._services.db)
            text = translator(language)("group-admins-only")
            await update.callback_query.answer(text, show_alert=True)
        else:
            await say(update, self._services, "group-admins-only")
        raise ApplicationHandlerStop

    async def stale_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press whose data no handler takes (forged, or from an older release): answered,
        so that the button stops spinning, with "this button is no longer valid"."""
        query = update.callback_query
        if query is None:
            return
        language = await language_for(update, self._services.db)
        await query.answer(translator(language)("button-stale"))
