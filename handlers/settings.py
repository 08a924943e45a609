"""/settings and its keyboard, and the direct forms /language, /quiet, /digest, /filter, /topic."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from telegram import Update
from telegram.ext import ContextTypes

from bot import actions
from bot.compose import callbacks, views
from bot.preferences import (
    clean_keyword,
    format_time,
    parse_digest,
    parse_language,
    parse_quiet,
    shown_keyword,
)
from handlers.guard import say
from handlers.replies import chat_of, edit, reply
from storage import subscribers

if TYPE_CHECKING:
    from bot.app import Services


class SettingsHandlers:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The chat's settings with buttons to change them."""
        chat = chat_of(update)
        if chat is None:
            return
        db = self._services.db
        record = await actions.chat_record(db, chat)
        found = await subscribers.keywords(db, record.chat_id)
        await reply(update, views.settings(record, record.language, [k.label for k in found]))

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on the settings keyboard: language, alert level, sources, quiet hours off."""
        query = update.callback_query
        chat = chat_of(update)
        if query is None or chat is None:
            return
        db, config = self._services.db, self._services.config
        record = await actions.chat_record(db, chat)
        pressed = callbacks.parse_settings(query.data or "")
        await query.answer()
        match pressed:
            case callbacks.Language(code=code):
                record = await actions.change_settings(db, chat, language=code)
            case callbacks.AlertLevel(level=level):
                record = await actions.change_settings(db, chat, alert_level=level)
            case callbacks.Quiet(hours=hours):
                record = await actions.change_settings(db, chat, quiet=hours)
            case callbacks.RemoveKeyword(keyword_id=keyword_id):
                left = await actions.remove_keyword_by_id(db, chat.id, keyword_id)
                await edit(update, views.filters_view(left, record.language))
                return
            case callbacks.Keywords():
                found = await subscribers.keywords(db, chat.id)
                await edit(update, views.filters_view(found, record.language))
                return
            case callbacks.SourceToggle(source_id=source_id):
                # Only the configured sources' ids: forged data never reaches storage.
                toggled = await actions.toggle_source(db, config, chat, source_id)
                if toggled is None:
                    await say(update, self._services, "button-stale")
                    return
                await edit(
                    update,
                    views.source_toggles(config, toggled.states, toggled.off, record.language),
                )
                return
            case callbacks.Sources():
                states = await actions.configured_sources(db, config)
                off = await subscribers.disabled_sources(db, chat.id)
                await edit(update, views.source_toggles(config, states, off, record.language))
                return
        found = await subscribers.keywords(db, record.chat_id)
        await edit(update, views.settings(record, record.language, [k.label for k in found]))

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/language ar|fr|en"""
        chosen = parse_language(context.args or [])
        if chosen is None:
            await say(update, self._services, "usage-language")
            return
        if (chat := chat_of(update)) is None:
            return
        await actions.change_settings(self._services.db, chat, language=chosen)
        await say(update, self._services, "language-set")

    async def quiet(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/quiet HH:MM-HH:MM or /quiet off"""
        parsed = parse_quiet(context.args or [])
        if parsed is False:
            await say(update, self._services, "usage-quiet")
            return
        if (chat := chat_of(update)) is None:
            return
        await actions.change_settings(self._services.db, chat, quiet=parsed)
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
        if (chat := chat_of(update)) is None:
            return
        await actions.change_settings(self._services.db, chat, digest_at=parsed)
        if parsed is None:
            await say(update, self._services, "digest-off")
        else:
            await say(update, self._services, "digest-set", time=format_time(parsed))

    async def filter(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/filter add|remove WORD, /filter list"""
        args = context.args or []
        action = args[0].lower() if args else ""
        db = self._services.db
        chat = chat_of(update)
        if action == "list" and len(args) == 1:
            found = []
            if chat is not None:
                record = await actions.chat_record(db, chat)
                found = await subscribers.keywords(db, record.chat_id)
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
        if chat is None:
            return
        if action == "add":
            if not await actions.add_keyword(db, chat, word, written):
                await say(update, self._services, "usage-filter")  # MAX_FILTERS already
                return
            await say(update, self._services, "filter-added", word=written)
            return
        removed = await actions.remove_keyword(db, chat, word)
        if removed is None:
            await say(update, self._services, "filter-not-found", word=written)
            return
        await say(update, self._services, "filter-removed", word=removed)

    async def topic(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/topic in a forum group's topic: alerts go to that topic."""
        message = update.effective_message
        chat = chat_of(update)
        if message is None or chat is None:
            return
        thread = message.message_thread_id if message.is_topic_message else None
        await actions.change_settings(self._services.db, chat, topic_id=thread)
        # Outside a forum topic the alerts go to the chat itself: say that, not "this topic".
        await say(update, self._services, "topic-set" if thread is not None else "topic-none")
