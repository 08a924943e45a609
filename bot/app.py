"""Application wiring: the database, python-telegram-bot's Application and their lifetimes.

`run` is what `ajil run` does; the demo and the end-to-end tests call the same function with
another `api_url`, so they exercise exactly the production path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, Defaults

import handlers
from bot.config import Config
from storage import Database, StorageError
from storage import sources as source_store
from storage.sources import SourceSpec

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; `exit_code` is 2 for configuration problems, 1 otherwise."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Services:
    """What handlers need from the core, handed to them at registration."""

    config: Config
    db: Database


def build_application(services: Services) -> Application:  # type: ignore[type-arg]
    config = services.config
    token = config.token
    if not token:
        raise StartupError(
            "no bot token: set the AJIL_TELEGRAM_TOKEN environment variable "
            "or [telegram] token in the configuration",
            exit_code=2,
        )
    application = (
        Application.builder()
        .token(token)
        .base_url(config.telegram.api_url)
        .defaults(Defaults(parse_mode="HTML", tzinfo=config.schedule.zone))
        # Commands from different chats must not queue behind one another.
        .concurrent_updates(32)
        .build()
    )
    handlers.register(application, services)
    return application


async def run(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run the bot until `stop` is set or SIGTERM/SIGINT arrives; raises StartupError."""
    stop = stop or asyncio.Event()
    try:
        db = await Database.open(config.storage.database)
    except StorageError as exc:
        raise StartupError(str(exc), exit_code=2) from None
    try:
        await source_store.sync(db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources])
        application = build_application(Services(config, db))
        await _serve(application, stop)
    finally:
        await db.close()


async def _serve(application: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not available off the main thread or outside Unix; the caller's `stop` still works.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await application.initialize()
    except InvalidToken:
        raise StartupError(
            "the Bot API refused the token (401 Unauthorized): check AJIL_TELEGRAM_TOKEN "
            "or [telegram] token",
            exit_code=2,
        ) from None
    except (NetworkError, TelegramError) as exc:
        raise StartupError(
            f"cannot reach the Bot API at {_host(application.bot.base_url)}: {exc}", exit_code=1
        ) from None
    try:
        me = application.bot
        log.info("connected to the Bot API as @%s", me.username)
        await handlers.publish_commands(application)
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await application.start()
        log.info("running; stop with Ctrl-C or SIGTERM")
        await stop.wait()
        log.info("stopping")
        await application.updater.stop()
        await application.stop()
    finally:
        await application.shutdown()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    log.info("stopped")


def _host(base_url: str) -> str:
    # base_url ends with the token; only the server part is worth showing.
    return base_url.split("/bot", 1)[0]
