"""/settings and its keyboard, and the direct forms /language, /quiet, /digest, /filter, /topic."""

from __future__ import annotations

from typing import cast

from telegram import Update
from telegram.ext import ContextTypes

from bot import keyboards, views
from bot.alerts.message import Outgoing
from bot.compose import callbacks
from bot.i18n import pick_language
from bot.preferences import (
    MAX_FILTERS,
    clean_keyword,
    format_time,
    parse_digest,
    parse_language,
    parse_quiet,
    shown_keyword,
)
from bot.services import Services
from handlers.guard import say
from handlers.replies import reply
from storage import sources, subscribers
from storage.models import ChatType, Subscriber


class SettingsHandlers:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def _record(self, update: Update) -> Subscriber | None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return None
        language = pick_language(user.language_code if user else None)
        return await subscribers.ensure(
            self._services.db, chat.id, cast(ChatType, chat.type), language, chat.title
        )

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The chat's settings with buttons to change them."""
        record = await self._record(update)
        if record is None:
            return
        found = await subscribers.keywords(self._services.db, record.chat_id)
        await reply(update, views.settings(record, record.language, [k.label for k in found]))

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on the settings keyboard: language, alert level, sources, quiet hours off."""
        query = update.callback_query
        if query is None:
            return
        record = await self._record(update)
        if record is None:
            return
        db = self._services.db
        pressed = callbacks.parse_settings(query.data or "")
        await query.answer()
        match pressed:
            case callbacks.Language(code=code):
                record = (
                    await subscribers.set_preferences(db, record.chat_id, language=code) or record
                )
            case callbacks.AlertLevel(level=level):
                if not record.active:
                    record = await subscribers.subscribe(
                        db, record.chat_id, record.chat_type, record.language
                    )
                record = (
                    await subscribers.set_preferences(db, record.chat_id, alert_level=level)
                    or record
                )
            case callbacks.Quiet(hours=hours):
                record = (
                    await subscribers.set_preferences(db, record.chat_id, quiet=hours) or record
                )
            case callbacks.Keywords() | callbacks.RemoveKeyword():
                if isinstance(pressed, callbacks.RemoveKeyword):
                    await subscribers.remove_keyword(db, record.chat_id, pressed.keyword_id)
                found = await subscribers.keywords(db, record.chat_id)
                await _edit(update, views.filters_view(found, record.language))
                return
            case callbacks.Sources() | callbacks.SourceToggle():
                names = {s.name for s in self._services.config.sources}
                states = [s for s in await sources.all_sources(db) if s.name in names]
                if isinstance(pressed, callbacks.SourceToggle):
                    # Only the configured sources' ids: forged data never reaches storage.
                    if pressed.source_id not in {s.id for s in states}:
                        await say(update, self._services, "button-stale")
                        return
                    off = await subscribers.disabled_sources(db, record.chat_id)
                    source_id = pressed.source_id
                    await subscribers.set_source_enabled(
                        db, record.chat_id, source_id, source_id in off
                    )
                off = await subscribers.disabled_sources(db, record.chat_id)
                await _edit(
                    update,
                    views.source_toggles(self._services.config, states, off, record.language),
                )
                return
        found = await subscribers.keywords(db, record.chat_id)
        await _edit(update, views.settings(record, record.language, [k.label for k in found]))

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/language ar|fr|en"""
        chosen = parse_language(context.args or [])
        if chosen is None:
            await say(update, self._services, "usage-language")
            return
        record = await self._record(update)
        if record is not None:
            await subscribers.set_preferences(self._services.db, record.chat_id, language=chosen)
            await say(update, self._services, "language-set")

    async def quiet(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/quiet HH:MM-HH:MM or /quiet off"""
        parsed = parse_quiet(context.args or [])
        if parsed is False:
            await say(update, self._services, "usage-quiet")
            return
        if (record := await self._record(update)) is None:
            return
        await subscribers.set_preferences(self._services.db, record.chat_id, quiet=parsed)
        if parsed is None:
            await say(update, self._services, "quiet-off")
        else:
            start, end = cast(tuple[int, int], parsed)
            await say(
                update, self._services, "quiet-set", start=format_time(start), end=format_time(end)
            )

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/digest HH:MM or /digest off"""
        parsed = parse_digest(context.args or [])
        if parsed is False:
            await say(update, self._services, "usage-digest")
            return
        if (record := await self._record(update)) is None:
            return
        await subscribers.set_preferences(self._services.db, record.chat_id, digest_at=parsed)
        if parsed is None:
            await say(update, self._services, "digest-off")
        else:
            await say(update, self._services, "digest-set", time=format_time(parsed))

    async def filter(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/filter add|remove WORD, /filter list"""
        args = context.args or []
        action = args[0].lower() if args else ""
        db = self._services.db
        if action == "list" and len(args) == 1:
            record = await self._record(update)
            found = await subscribers.keywords(db, record.chat_id) if record else []
            if found:
                words = "، ".join(k.label for k in found)
                await say(update, self._services, "filter-list", words=words)
            else:
                await say(update, self._services, "filter-none")
            return
        written = shown_keyword(" ".join(args[1:]))
        word = clean_keyword(written) if action in ("add", "remove") else None
        if word is None:
            await say(update, self._services, "usage-filter")
            return
        if (record := await self._record(update)) is None:
            return
        if action == "add":
            if len(await subscribers.filters(db, record.chat_id)) >= MAX_FILTERS:
                await say(update, self._services, "usage-filter")
                return
            await subscribers.set_filters(db, record.chat_id, add=[word], shown={word: written})
            await say(update, self._services, "filter-added", word=written)
        else:
            present = {k.word: k.label for k in await subscribers.keywords(db, record.chat_id)}
            if word not in present:
                await say(update, self._services, "filter-not-found", word=written)
                return
            await subscribers.set_filters(db, record.chat_id, remove=[word])
            await say(update, self._services, "filter-removed", word=present[word])

    async def topic(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/topic in a forum group's topic: alerts go to that topic."""
        message = update.effective_message
        if message is None:
            return
        record = await self._record(update)
        if record is None:
            return
        thread = message.message_thread_id if message.is_topic_message else None
        await subscribers.set_preferences(self._services.db, record.chat_id, topic_id=thread)
        # Outside a forum topic the alerts go to the chat itself: say that, not "this topic".
        await say(update, self._services, "topic-set" if thread is not None else "topic-none")


async def _edit(update: Update, message: Outgoing) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        await reply(update, message)
        return
    try:
        await query.edit_message_text(
            message.text,
            parse_mode="HTML",
            reply_markup=keyboards.markup(message),
            link_preview_options=keyboards.preview(message),
        )
    except Exception as exc:  # "message is not modified" when pressing the current choice
        if "not modified" not in str(exc).lower():
            raise
