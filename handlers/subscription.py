"""/start, /subscribe, /unsubscribe (/stop) and /help: joining and leaving the alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import ContextTypes

from bot import actions
from bot.compose import views
from handlers.guard import say
from handlers.replies import chat_of, language_for, reply
from storage import subscribers

if TYPE_CHECKING:
    from bot.app import Services


class SubscriptionHandlers:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Says what the bot does, with buttons to subscribe and to read the latest news;
        `/start SOURCE` (a deep link) subscribes to that source."""
        if context.args:
            await self._subscribe(update, context, context.args[:1])
            return
        language = await language_for(update, self._services.db)
        await reply(update, views.welcome(language))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribes the chat to breaking alerts, from every source or from those named."""
        await self._subscribe(update, context, context.args or [])

    async def subscribe_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await self._subscribe(update, context, [])

    async def _subscribe(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, names: list[str]
    ) -> None:
        chat = chat_of(update)
        if chat is None:
            return
        try:
            done = await actions.subscribe(self._services.db, self._services.config, chat, names)
        except actions.UnknownSource as exc:
            listed = ", ".join(exc.known)
            await say(update, self._services, "unknown-source", name=exc.name[:40], sources=listed)
            return
        if done.sources:
            await say(update, self._services, "subscribed-sources", sources=", ".join(done.sources))
        else:
            await say(update, self._services, "subscribed")

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stops alerts to the chat; its preferences are kept for a later /subscribe."""
        chat = update.effective_chat
        if chat is None:
            return
        changed = await actions.unsubscribe(self._services.db, chat.id)
        await say(update, self._services, "unsubscribed" if changed else "not-subscribed")

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every command, one line each."""
        language = await language_for(update, self._services.db)
        user = update.effective_user
        admin = user is not None and user.id in self._services.config.telegram.admins
        await reply(update, views.help_message(language, admin))

    async def migrated(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: its subscription follows it to the new id."""
        message = update.effective_message
        if message is not None and message.migrate_to_chat_id:
            await subscribers.migrate(
                self._services.db, message.chat.id, message.migrate_to_chat_id
            )
