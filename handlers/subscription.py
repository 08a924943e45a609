"""/start, /subscribe, /unsubscribe (/stop) and /help: joining and leaving the alerts."""

from __future__ import annotations

from typing import cast

from telegram import Update
from telegram.ext import ContextTypes

from bot import views
from bot.i18n import pick_language
from bot.services import Services
from handlers.guard import say
from handlers.replies import language_for, reply
from storage import sources, subscribers
from storage.models import ChatType


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
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return
        db, config = self._services.db, self._services.config
        known = {s.name.lower(): s for s in config.sources}
        wanted = [n.lower() for n in names]
        unknown = [n for n in wanted if n not in known]
        if unknown:
            listed = ", ".join(s.name for s in config.sources)
            await say(
                update, self._services, "unknown-source", name=unknown[0][:40], sources=listed
            )
            return
        language = pick_language(user.language_code if user else None)
        existing = await subscribers.get(db, chat.id)
        await subscribers.subscribe(
            db,
            chat.id,
            cast(ChatType, chat.type),
            language=existing.language if existing else language,
            title=chat.title,
        )
        if wanted:
            for state in await sources.all_sources(db):
                if state.name.lower() in known:
                    await subscribers.set_source_enabled(
                        db, chat.id, state.id, state.name.lower() in wanted
                    )
            titles = ", ".join(known[n].title or known[n].name for n in wanted)
            await say(update, self._services, "subscribed-sources", sources=titles)
        else:
            await say(update, self._services, "subscribed")

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stops alerts to the chat; its preferences are kept for a later /subscribe."""
        chat = update.effective_chat
        if chat is None:
            return
        changed = await subscribers.deactivate(self._services.db, [chat.id], "unsubscribed")
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
