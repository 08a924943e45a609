"""Telegram update handlers, kept thin, and the one place where they are all registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import BotCommand
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.reading import ReadingHandlers
from handlers.subscription import SubscriptionHandlers

if TYPE_CHECKING:
    from bot.app import Services

COMMANDS = [
    BotCommand("start", "الاشتراك في التنبيهات العاجلة"),
    BotCommand("stop", "إيقاف التنبيهات"),
    BotCommand("latest", "آخر الأخبار"),
    BotCommand("urgent", "آخر الأخبار العاجلة"),
    BotCommand("summary", "ملخص خبر"),
    BotCommand("help", "الأوامر المتاحة"),
]


def register(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Every command the bot understands, in one block."""
    subscription = SubscriptionHandlers(services)
    application.add_handler(CommandHandler("start", subscription.start))
    application.add_handler(CommandHandler(["stop", "unsubscribe"], subscription.stop))
    application.add_handler(CommandHandler("help", subscription.help))
    reading = ReadingHandlers(services)
    application.add_handler(CommandHandler("latest", reading.latest))
    application.add_handler(CommandHandler("urgent", reading.urgent))
    application.add_handler(CommandHandler("summary", reading.summary))
    application.add_handler(CallbackQueryHandler(reading.summary_button, pattern=r"^sum:\d+$"))
    application.add_handler(CallbackQueryHandler(reading.more, pattern=r"^more:"))


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    await application.bot.set_my_commands(COMMANDS)
