"""/start, /stop and /help: joining and leaving the breaking-news alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from telegram import Update
from telegram.ext import ContextTypes

from storage import subscribers
from storage.models import ChatType

if TYPE_CHECKING:
    from bot.app import Services

WELCOME = (
    "مرحبا بك في <b>عاجل</b> 🔴\n"
    "ستصلك الأخبار العاجلة من المواقع الإخبارية المغربية والعربية فور نشرها.\n"
    "لإيقاف التنبيهات أرسل /stop"
)
GOODBYE = "تم إيقاف التنبيهات. للعودة أرسل /start"
HELP = (
    "<b>الأوامر</b>\n"
    "/start — الاشتراك في التنبيهات العاجلة\n"
    "/stop — إيقاف التنبيهات\n"
    "/help — هذه القائمة"
)


class SubscriptionHandlers:
    def __init__(self, services: Services) -> None:
        self._db = services.db

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribes the chat to breaking alerts and says what the bot does."""
        chat = update.effective_chat
        if chat is None or update.effective_message is None:
            return
        await subscribers.subscribe(self._db, chat.id, cast(ChatType, chat.type), title=chat.title)
        await update.effective_message.reply_text(WELCOME)

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stops alerts to the chat; its preferences are kept for a later /start."""
        chat = update.effective_chat
        if chat is None or update.effective_message is None:
            return
        await subscribers.deactivate(self._db, [chat.id], "unsubscribed")
        await update.effective_message.reply_text(GOODBYE)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Lists the commands."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(HELP)
