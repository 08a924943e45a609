"""Sending an `Outgoing` through python-telegram-bot (a reply, or an edit of the pressed
message), the language to answer a chat in, and the chat an update came from as the use cases
(bot.actions) take it. What is sent is composed in bot.compose; nothing is composed here."""

from __future__ import annotations

from typing import cast

from telegram import Message, Update

from bot.actions import ChatRef
from bot.compose import keyboards
from bot.compose.outgoing import Outgoing
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


async def edit(update: Update, message: Outgoing) -> None:
    """Put `message` in place of the message whose button was pressed (a new reply when there
    is none); pressing the choice already shown changes nothing and is not an error."""
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
