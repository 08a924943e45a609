"""Telegram update handlers, kept thin, and the one place where they are all registered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import BotCommand
from telegram.ext import Application, CommandHandler

from handlers.subscription import SubscriptionHandlers

if TYPE_CHECKING:
    from bot.app import Services

COMMANDS = [
    BotCommand("start", "الاشتراك في التنبيهات العاجلة"),
    BotCommand("stop", "إيقاف التنبيهات"),
    BotCommand("help", "الأوامر المتاحة"),
]


def register(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Every command the bot understands, in one block."""
    subscription = SubscriptionHandlers(services)
    application.add_handler(CommandHandler("start", subscription.start))
    application.add_handler(CommandHandler(["stop", "unsubscribe"], subscription.stop))
    application.add_handler(CommandHandler("help", subscription.help))


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    await application.bot.set_my_commands(COMMANDS)
