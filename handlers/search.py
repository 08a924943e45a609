"""/search, /sources and inline mode (@Bot words): finding stored headlines."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.ext import ContextTypes

from bot import actions
from bot.compose import views
from bot.i18n import pick_language, translator
from bot.news.text import words
from handlers.guard import say
from handlers.replies import language_for, reply
from storage import items, subscribers

if TYPE_CHECKING:
    from bot.app import Services

MAX_QUERY = 200
RESULTS = 10
INLINE_RESULTS = 20


class SearchHandlers:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def search(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stored headlines holding every word, whatever their hamza, ة/ه or diacritics."""
        query = " ".join(context.args or []).strip()
        terms = words(query)[:8]
        if not terms or len(query) > MAX_QUERY:
            await say(update, self._services, "usage-search")
            return
        language = await language_for(update, self._services.db)
        found = await items.search(self._services.db, terms, RESULTS)
        await reply(update, views.search_results(found, query, self._services.config, language))

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Each source with its state and last update."""
        db, config = self._services.db, self._services.config
        language = await language_for(update, db)
        states = await actions.configured_sources(db, config)
        chat = update.effective_chat
        off = await subscribers.disabled_sources(db, chat.id) if chat else set()
        await reply(
            update, views.sources_status(config, states, off, language, config.schedule.zone)
        )

    async def inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """@Bot words: matching headlines as articles to post anywhere."""
        query = update.inline_query
        if query is None:
            return
        config, db = self._services.config, self._services.db
        terms = words(query.query[:MAX_QUERY])[:8]
        found = (
            await items.search(db, terms, INLINE_RESULTS)
            if terms
            else await items.latest(db, INLINE_RESULTS)
        )
        language = pick_language(query.from_user.language_code)
        results = []
        for item in found:
            article = views.inline_article(item, config)
            results.append(
                InlineQueryResultArticle(
                    id=str(item.id) if item.id else uuid4().hex,
                    title=article.title,
                    description=article.description,
                    input_message_content=InputTextMessageContent(article.text, parse_mode="HTML"),
                    url=article.url,
                )
            )
        if not results:
            results.append(
                InlineQueryResultArticle(
                    id="none",
                    title=translator(language)("inline-none"),
                    input_message_content=InputTextMessageContent(
                        translator(language)("list-empty")
                    ),
                )
            )
        await query.answer(results, cache_time=30, is_personal=False)
