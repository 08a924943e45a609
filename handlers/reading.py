"""/latest, /urgent, /summary and their buttons: reading what is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import ContextTypes

from bot import reading
from bot.alerts.message import Outgoing, escaped, lines
from bot.compose import callbacks
from bot.i18n import Language, translator
from handlers.replies import language_for, reply

if TYPE_CHECKING:
    from bot.app import Services

LAST_LIST = "last_list"


class ReadingHandlers:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The newest headlines across sources, with a summary button each."""
        await self._list(update, context, urgent=False)

    async def urgent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The newest urgent headlines."""
        await self._list(update, context, urgent=True)

    async def _list(self, update: Update, context: ContextTypes.DEFAULT_TYPE, urgent: bool) -> None:
        language = await language_for(update, self._services.db)
        count = reading.parse_count(context.args or [])
        if count is None:
            await _usage(update, language, "usage-urgent" if urgent else "usage-latest")
            return
        found = await reading.listing(
            self._services.db, self._services.config, language, count, urgent_only=urgent
        )
        if context.chat_data is not None:
            context.chat_data[LAST_LIST] = found.item_ids
        await reply(update, found.message)

    async def more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "more" button: the next page of the same list."""
        query = update.callback_query
        if query is None:
            return
        page = callbacks.More.parse(query.data or "")
        await query.answer()
        if page is None:
            return
        urgent, offset, count = page.urgent, page.offset, page.count
        language = await language_for(update, self._services.db)
        found = await reading.listing(
            self._services.db, self._services.config, language, count, offset, urgent
        )
        if context.chat_data is not None and found.item_ids:
            context.chat_data[LAST_LIST] = found.item_ids
        await reply(update, found.message)

    async def summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/summary N (item N of the last list) or /summary URL (an article of our sources)."""
        language = await language_for(update, self._services.db)
        args = context.args or []
        if len(args) != 1 or len(args[0]) > 2000:
            await _usage(update, language, "usage-summary")
            return
        arg = args[0]
        if arg.isascii() and arg.isdigit() and len(arg) <= 3:
            listed = (context.chat_data or {}).get(LAST_LIST) or []
            if not listed:
                await _usage(update, language, "summary-no-list")
                return
            number = int(arg)
            if not 1 <= number <= len(listed):
                t = translator(language)
                await _say(
                    update,
                    language,
                    t("summary-out-of-range", headlines=t.n("n-headlines", len(listed))),
                )
                return
            await self._summary(update, context, item_id=listed[number - 1])
        elif arg.startswith(("http://", "https://")):
            await self._summary(update, context, url=arg)
        else:
            await _usage(update, language, "usage-summary")

    async def summary_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "summary" button under an alert or a list."""
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        pressed = callbacks.Summary.parse(query.data or "")
        if pressed is not None:
            await self._summary(update, context, item_id=pressed.item_id)

    async def _summary(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        item_id: int | None = None,
        url: str | None = None,
    ) -> None:
        services = self._services
        language = await language_for(update, services.db)
        if update.effective_chat is not None:
            await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
        try:
            message = await reading.summary_message(
                services.db, services.config, services.fetcher, language, item_id, url
            )
        except reading.SummaryRefused as exc:
            await _say(update, language, translator(language)(exc.key, **exc.values))
            return
        await reply(update, message)


async def _usage(update: Update, language: Language, key: str) -> None:
    await _say(update, language, translator(language)(key))


async def _say(update: Update, language: Language, text: str) -> None:
    await reply(update, Outgoing(lines(language, escaped(text)), silent=True))
