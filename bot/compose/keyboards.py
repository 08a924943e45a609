"""An `Outgoing`'s buttons and preview as python-telegram-bot objects (for handlers) or as the
Bot API's JSON (for the sender, which calls the API itself)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.compose.outgoing import Outgoing


def markup(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, url=b.url)
                if b.url
                else InlineKeyboardButton(b.label, callback_data=b.callback)
                for b in row
            ]
            for row in message.buttons
        ]
    )


def preview(message: Outgoing) -> LinkPreviewOptions:
    """A large preview of the article for a single-article message; none for lists."""
    if not message.preview:
        return LinkPreviewOptions(is_disabled=True)
    return LinkPreviewOptions(prefer_large_media=True, show_above_text=False)


def markup_json(message: Outgoing) -> dict[str, Any] | None:
    """The inline keyboard as the Bot API's JSON."""
    if not message.buttons:
        return None
    return {
        "inline_keyboard": [
            [
                {"text": b.label, "url": b.url}
                if b.url
                else {"text": b.label, "callback_data": b.callback}
                for b in row
            ]
            for row in message.buttons
        ]
    }


def preview_json(message: Outgoing) -> dict[str, Any]:
    if not message.preview:
        return {"is_disabled": True}
    return {"prefer_large_media": True}
