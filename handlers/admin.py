"""Admin commands (ids in [telegram] admins): /stats, /broadcast, /source on|off. Anyone else
gets a polite refusal and nothing happens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import ContextTypes

from bot import views
from bot.i18n import translator
from bot.services import Services
from handlers.guard import say
from handlers.replies import language_for, reply
from storage import notices, outbox, sources, subscribers
from storage.models import Priority

MAX_BROADCAST = 3500  # leaves room for the header within Telegram's 4096


class AdminHandlers:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def _admin(self, update: Update) -> bool:
        user = update.effective_user
        if user is not None and user.id in self._services.config.telegram.admins:
            return True
        await say(update, self._services, "admin-only")
        return False

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribers, deliveries of the last 24 hours by outcome, and each source's health."""
        if not await self._admin(update):
            return
        db, config = self._services.db, self._services.config
        now = datetime.now(UTC)
        total, active = await subscribers.count(db)
        outcomes = await outbox.outcomes_since(db, now - timedelta(hours=24))
        pending = await outbox.pending_summary(db)
        names = {s.name for s in config.sources}
        states = [s for s in await sources.all_sources(db) if s.name in names]
        language = await language_for(update, db)
        await reply(update, views.stats(total, active, outcomes, pending, states, config, language))

    async def broadcast(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/broadcast TEXT: a message to every active subscriber, through the alerts outbox."""
        if not await self._admin(update):
            return
        message = update.effective_message
        text = ""
        if message is not None and message.text:
            parts = message.text.split(maxsplit=1)
            text = parts[1].strip() if len(parts) > 1 else ""
        if not text:
            await say(update, self._services, "usage-broadcast")
            return
        if len(text) > MAX_BROADCAST:
            await say(
                update, self._services, "broadcast-too-long", length=len(text), limit=MAX_BROADCAST
            )
            return
        db = self._services.db
        async with db.transaction():
            notice = await notices.create(db, "broadcast", text)
            count = await outbox.enqueue_notice(db, notice, None, Priority.URGENT)
        if self._services.sender is not None:
            self._services.sender.wake()
        t = translator(await language_for(update, db))
        await say(update, self._services, "broadcast-queued", chats=t.n("n-chats", count))

    async def source(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/source on|off NAME: switch a source on or off for everyone."""
        if not await self._admin(update):
            return
        args = context.args or []
        names = {s.name.lower(): s.name for s in self._services.config.sources}
        if len(args) != 2 or args[0].lower() not in ("on", "off") or args[1].lower() not in names:
            await say(update, self._services, "usage-source")
            return
        name = names[args[1].lower()]
        await sources.set_disabled(self._services.db, name, args[0].lower() == "off")
        await say(update, self._services, "source-switched", name=name)
