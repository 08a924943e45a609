"""Admin commands (ids in [telegram] admins): /stats, /broadcast, /source on|off. Anyone else
gets a polite refusal and nothing happens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import ContextTypes

from bot import actions
from bot.compose import views
from bot.i18n import translator
from bot.services import Services
from handlers.guard import say
from handlers.replies import language_for, reply
from storage import fanout, outbox, subscribers


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
        """Subscribers, deliveries of the last 24 hours by outcome, the fan-outs still walking
        their audience, and each source's health."""
        if not await self._admin(update):
            return
        db, config = self._services.db, self._services.config
        now = datetime.now(UTC)
        total, active = await subscribers.count(db)
        outcomes = await outbox.outcomes_since(db, now - timedelta(hours=24))
        pending = await outbox.pending_summary(db)
        walking = await fanout.progress(db)
        states = await actions.configured_sources(db, config)
        language = await language_for(update, db)
        await reply(
            update,
            views.stats(total, active, outcomes, pending, states, config, language, walking),
        )

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
        try:
            count = await actions.queue_broadcast(self._services.db, text, self._services.sender)
        except actions.BroadcastTooLong as exc:
            await say(
                update, self._services, "broadcast-too-long", length=exc.length, limit=exc.limit
            )
            return
        t = translator(await language_for(update, self._services.db))
        await say(update, self._services, "broadcast-queued", chats=t.n("n-chats", count))

    async def source(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/source on|off NAME: switch a source on or off for everyone."""
        if not await self._admin(update):
            return
        args = context.args or []
        if len(args) != 2 or args[0].lower() not in ("on", "off"):
            await say(update, self._services, "usage-source")
            return
        db, config = self._services.db, self._services.config
        name = await actions.switch_source(db, config, args[1], args[0].lower() == "off")
        if name is None:
            await say(update, self._services, "usage-source")
            return
        await say(update, self._services, "source-switched", name=name)
