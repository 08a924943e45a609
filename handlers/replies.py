"""Sending an `Outgoing` as a reply, the language to answer a chat in, and the chat an update
came from as the use cases (bot.actions) take it."""

from __future__ import annotations

from typing import cast

from telegram import Message, Update

from bot import keyboards
from bot.actions import ChatRef
from bot.alerts.message import Outgoing
from bot.i18n import Language, pick_language
from storage import Database, subscribers
from storage.models import ChatType


async def language_for(update: Update, db: Database) -> Language:
    """The chat's chosen language, else the user's Telegram language, else Arabic."""
    chat = update.effective_chat
    if chat is not None:
        subscriber = await subscribers.get(db, chat.id)
        if subscriber is not None:
            return subscriber.language
    user = update.effective_user
    return pick_language(user.language_code if user else None)


def chat_of(update: Update) -> ChatRef | None:
    """The update's chat, with the sender's Telegram language; None for an update without a
    chat (an inline query)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    language = pick_language(user.language_code if user else None)
    return ChatRef(chat.id, cast(ChatType, chat.type), chat.title, language)


async def reply(update: Update, message: Outgoing) -> Message | None:
    target = update.effective_message
    if target is None:
        return None
    return await target.reply_text(
        message.text,
        parse_mode="HTML",
        reply_markup=keyboards.markup(message),
        link_preview_options=keyboards.preview(message),
        do_quote=False,
    )
