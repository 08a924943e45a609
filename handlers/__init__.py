"""Telegram update handlers, kept thin, and the one place where they are all registered.

The top of the house: a handler parses the update, calls one function of the core (a use case
of `bot.actions`, a read of `bot.reading` or of storage), and replies with the `Outgoing` that
`bot.compose` composes (sent by `handlers.replies`). Handlers write no SQL and compose no text;
only `bot.app` imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import BotCommand, BotCommandScopeDefault
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.compose import callbacks
from bot.i18n import LANGUAGES, translator
from handlers.admin import AdminHandlers
from handlers.gate import GroupGate
from handlers.guard import Guard, Meter
from handlers.reading import OnDemand, ReadingHandlers
from handlers.search import SearchHandlers
from handlers.settings import SettingsHandlers
from handlers.subscription import SubscriptionHandlers

if TYPE_CHECKING:
    from bot.app import Services

MENU = [
    "start",
    "latest",
    "urgent",
    "summary",
    "search",
    "sources",
    "subscribe",
    "unsubscribe",
    "settings",
    "help",
]
# Where register() keeps the summaries' task set, for stop_background() at shutdown.
ON_DEMAND = "ajil.on_demand"


def register(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Every command and button the bot understands, in one block."""
    guard = Guard(services)
    gate = GroupGate(services)
    subscription = SubscriptionHandlers(services)
    on_demand = OnDemand()
    application.bot_data[ON_DEMAND] = on_demand
    reading = ReadingHandlers(services, on_demand)
    settings = SettingsHandlers(services)
    search = SearchHandlers(services)
    admin = AdminHandlers(services)
    meter = Meter(services)
    # Before anything (groups -3 to -1): metrics, the per-user rate limit, then who may change
    # a group; after everything (group 100): the command's answer time.
    application.add_handler(TypeHandler(object, meter.begin), group=-3)
    application.add_handler(TypeHandler(object, guard.rate_limit), group=-2)
    application.add_handler(TypeHandler(object, gate.check), group=-1)
    application.add_handler(TypeHandler(object, meter.end), group=100)
    add = application.add_handler
    add(CommandHandler("start", subscription.start))
    add(CommandHandler("subscribe", subscription.subscribe))
    add(CommandHandler(["unsubscribe", "stop"], subscription.unsubscribe))
    add(CommandHandler("help", subscription.help))
    add(CommandHandler("latest", reading.latest))
    add(CommandHandler("urgent", reading.urgent))
    add(CommandHandler("summary", reading.summary))
    add(CommandHandler("search", search.search))
    add(CommandHandler("sources", search.sources))
    add(CommandHandler("settings", settings.settings))
    add(CommandHandler("language", settings.language))
    add(CommandHandler("quiet", settings.quiet))
    add(CommandHandler("digest", settings.digest))
    add(CommandHandler("filter", settings.filter))
    add(CommandHandler("topic", settings.topic))
    add(CommandHandler("stats", admin.stats))
    add(CommandHandler("broadcast", admin.broadcast))
    add(CommandHandler("source", admin.source))
    # Each button's pattern comes from the module that packs its data (bot.compose.callbacks).
    add(CallbackQueryHandler(reading.summary_button, pattern=callbacks.Summary.PATTERN))
    add(CallbackQueryHandler(reading.more, pattern=callbacks.More.PATTERN))
    add(CallbackQueryHandler(subscription.subscribe_button, pattern=callbacks.Subscribe.PATTERN))
    add(CallbackQueryHandler(settings.button, pattern=callbacks.SETTINGS_PATTERN))
    add(CallbackQueryHandler(gate.stale_button))  # last: data no pattern above takes
    add(InlineQueryHandler(search.inline))
    add(MessageHandler(filters.StatusUpdate.MIGRATE, subscription.migrated))
    add(MessageHandler(filters.COMMAND, guard.unknown_command))
    application.add_error_handler(guard.on_error)


async def stop_background(application: Application) -> None:  # type: ignore[type-arg]
    """Cancel the work still running for users (summaries being fetched); for shutdown."""
    on_demand = application.bot_data.get(ON_DEMAND)
    if isinstance(on_demand, OnDemand):
        await on_demand.close()


async def publish_commands(application: Application) -> None:  # type: ignore[type-arg]
    """The command menu in each language (Arabic also as the default)."""
    for language in (None, *LANGUAGES):
        t = translator(language or "ar")
        commands = [BotCommand(name, t(f"cmd-{name}")) for name in MENU]
        await application.bot.set_my_commands(
            commands, scope=BotCommandScopeDefault(), language_code=language
        )
