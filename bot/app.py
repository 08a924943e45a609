"""Application wiring: the database, python-telegram-bot's Application and their lifetimes.

`run` is what `ajil run` does; the demo and the end-to-end tests call the same function with
another `api_url`, so they exercise exactly the production path.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, Defaults

import handlers
from bot import logs
from bot.alerts.botapi import BotApiClient
from bot.alerts.fanout import FanOutWalker
from bot.alerts.sender import Sender, SenderSettings
from bot.alerts.watcher import Watcher
from bot.config import Config
from bot.news.fetch import Fetcher, HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.ops.health import HealthServer, HealthState
from bot.ops.incidents import Incidents
from bot.ops.metrics import Metrics
from bot.updates import ChatOrderedProcessor
from storage import Database, StorageError, meta
from storage import sources as source_store
from storage import subscribers as subscriber_store
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
    fetcher: Fetcher
    sender: Sender | None = None
    watcher: Watcher | None = None
    metrics: Metrics | None = None
    walker: FanOutWalker | None = None


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
        # Commands from different chats must not queue behind one another; those of one chat
        # (or one user) are applied in the order they were sent.
        .concurrent_updates(ChatOrderedProcessor(32))
        .build()
    )
    handlers.register(application, services)
    return application


def sender_settings(config: Config) -> SenderSettings:
    return SenderSettings(
        rate=config.alerts.messages_per_second,
        paid=config.alerts.paid_broadcast,
        expire_after=timedelta(hours=config.news.freshness_hours),
        zone=config.schedule.zone,
        admins=tuple(config.telegram.admins),
        source_titles={s.name: s.title or s.name for s in config.sources},
    )


async def run(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run the bot until `stop` is set or SIGTERM/SIGINT arrives; raises StartupError."""
    stop = stop or asyncio.Event()
    if not config.token:
        raise StartupError(
            "no bot token: set the AJIL_TELEGRAM_TOKEN environment variable "
            "or [telegram] token in the configuration",
            exit_code=2,
        )
    try:
        db = await Database.open(config.storage.database)
    except StorageError as exc:
        raise StartupError(str(exc), exit_code=2) from None
    fetcher = HttpFetcher(policy=FetchPolicy(s.url for s in config.sources))
    try:
        await source_store.sync(db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources])
        await subscriber_store.sync_channels(db, [(c.chat_id, c.level) for c in config.channels])
        settings = sender_settings(config)
        # The sender has its own connections: a broadcast never holds up command replies.
        sender_client = BotApiClient(
            config.telegram.api_url, config.token, connections=settings.concurrency + 4
        )
        metrics = Metrics()
        sender = Sender(db, sender_client, settings, metrics=metrics)
        walker = FanOutWalker(db, config.schedule.zone, sender.wake)

        def new_alerts() -> None:
            walker.wake()
            sender.wake()

        watcher = Watcher(db, config, fetcher, new_alerts, metrics=metrics)
        services = Services(config, db, fetcher, sender, watcher, metrics, walker)
        application = build_application(services)
        await _serve(application, services, sender_client, stop)
    finally:
        await fetcher.aclose()
        await db.close()


async def _serve(
    application: Application,  # type: ignore[type-arg]
    services: Services,
    sender_client: BotApiClient,
    stop: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    _route_signals(loop, stop.set)
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
    sender_stop = asyncio.Event()
    sender_task: asyncio.Task[None] | None = None
    walker_task: asyncio.Task[None] | None = None
    config, db = services.config, services.db
    assert services.metrics is not None
    health = HealthServer(db, services.metrics, HealthState(api_answered=True))
    try:
        me = application.bot
        log.info("connected to the Bot API as @%s", me.username)
        await handlers.publish_commands(application)
        job_queue = application.job_queue
        assert application.updater is not None and job_queue is not None
        assert services.watcher is not None and services.sender is not None
        health.state.scheduler_running = lambda: bool(job_queue.scheduler.running)
        services.watcher.schedule(job_queue)
        incidents = Incidents(
            db,
            [s.name for s in config.sources],
            config.alerts.messages_per_second,
            _notify_admins(sender_client, config.telegram.admins),
        )
        if not job_queue.get_jobs_by_name("incidents"):
            job_queue.run_repeating(
                lambda _: incidents.check(),
                interval=60,
                first=60,
                name="incidents",
                job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": 50},
            )
        if config.telegram.webhook.url:
            await _start_webhook(application, config, db)
        else:
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await application.start()
        await sender_client.start()
        # What start-up loaded stays for the whole run: keep the collector from walking it
        # again and again (full collections paused the sender mid-broadcast).
        gc.collect()
        gc.freeze()
        if config.http.enabled:
            try:
                await health.start(config.http.listen, config.http.port)
            except OSError as exc:
                raise StartupError(
                    f"cannot listen on {config.http.listen}:{config.http.port} for /healthz "
                    f"({exc.strerror}); change [http] port or set enabled = false",
                    exit_code=2,
                ) from None
        sender_task = asyncio.create_task(services.sender.run(sender_stop), name="sender")
        if services.walker is not None:
            walker_task = asyncio.create_task(
                services.walker.run(sender_stop), name="fan-out walker"
            )
        log.info(
            "running with %d sources; stop with Ctrl-C or SIGTERM", len(services.config.sources)
        )
        await _wait(stop, *(t for t in (sender_task, walker_task) if t is not None))
        log.info("stopping")
        await application.updater.stop()
        await application.stop()
    finally:
        await handlers.stop_background(application)
        sender_stop.set()
        for task in (walker_task, sender_task):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
        await health.stop()
        await sender_client.close()
        # After a failure mid-start or mid-run the Application may still be running; PTB's
        # shutdown() would then raise "This Application is still running!" and hide the real
        # cause, which is what the caller must see.
        await _stop_quietly(application)
        await application.shutdown()
        _route_signals(loop, None)
    log.info("stopped")


async def _stop_quietly(application: Application) -> None:  # type: ignore[type-arg]
    for part in (application.updater, application):
        if part is not None and part.running:
            try:
                await part.stop()
            except Exception as exc:  # stopping must not replace the error being raised
                log.warning("while stopping %s: %s", type(part).__name__, exc)


def _route_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None] | None) -> None:
    """SIGTERM and SIGINT call `callback`, or go back to their defaults when it is None.

    Only a Unix event loop in the main thread can take signal handlers; anywhere else (a test
    running the bot in a thread, Windows) the loop refuses, which is fine: the caller's `stop`
    event still stops the bot.
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            if callback is None:
                loop.remove_signal_handler(signum)
            else:
                loop.add_signal_handler(signum, callback)


def _notify_admins(client: BotApiClient, admins: list[int]) -> Callable[[str], Awaitable[None]]:
    async def notify(text: str) -> None:
        for admin in admins:
            try:
                await client.send_message({"chat_id": admin, "text": text})
            except Exception as exc:  # one unreachable admin must not hide it from the others
                log.warning("cannot tell admin %d: %s", admin, exc)

    return notify


async def webhook_secret(config: Config, db: Database) -> str:
    """The configured secret, else the one generated at an earlier start, else a new one."""
    configured = config.telegram.webhook.secret_token
    if configured is not None:
        logs.add_secret(configured.get_secret_value())
        return configured.get_secret_value()
    kept = await meta.get(db, "webhook_secret")
    if kept:
        logs.add_secret(kept)
        return kept
    secret = secrets.token_urlsafe(32)
    logs.add_secret(secret)  # before it is stored or sent: both may be logged at DEBUG
    await meta.put(db, "webhook_secret", secret)
    return secret


async def _start_webhook(application: Application, config: Config, db: Database) -> None:  # type: ignore[type-arg]
    hook = config.telegram.webhook
    assert hook.url is not None and application.updater is not None
    secret = await webhook_secret(config, db)
    try:
        await application.updater.start_webhook(
            listen=hook.listen,
            port=hook.port,
            url_path=urlsplit(hook.url).path.lstrip("/"),
            webhook_url=hook.url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    except OSError as exc:
        raise StartupError(
            f"cannot listen on {hook.listen}:{hook.port} for the webhook ({exc.strerror})",
            exit_code=2,
        ) from None
    log.info(
        "receiving updates by webhook at %s (listening on %s:%d)", hook.url, hook.listen, hook.port
    )


async def _wait(stop: asyncio.Event, *tasks: asyncio.Task[None]) -> None:
    """Until asked to stop; a sender (or fan-out walker) that dies is an error, not a silent
    stop of alerts. Each task's name says what it is in the error."""
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    for task in tasks:
        if task.done() and not stop.is_set():
            error = task.exception()
            raise RuntimeError(f"the alert {task.get_name()} stopped: {error!r}") from error


def _host(base_url: str) -> str:
    # base_url ends with the token; only the server part is worth showing.
    return base_url.split("/bot", 1)[0]
