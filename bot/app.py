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
from bot.fleet import LeaderDuties, Leadership, worker_id
from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.news.oneshot import renderer_for
from bot.news.render import RenderUnavailable
from bot.ops.contact import PROBE_AFTER_S, BotApiContact, WatchedRequest
from bot.ops.health import HealthServer, HealthState
from bot.ops.incidents import Incidents
from bot.ops.metrics import Metrics
from bot.services import Services
from bot.sharing import Sharing
from bot.updates import ChatOrderedProcessor
from storage import Database, StorageError, StorageUnavailable, meta
from storage import sources as source_store
from storage import subscribers as subscriber_store
from storage.sources import SourceSpec

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; `exit_code` is 2 for configuration problems, 1 otherwise."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_application(services: Services, contact: BotApiContact) -> Application:  # type: ignore[type-arg]
    """PTB's Application for the configured Bot API; every request it makes reports to
    `contact`. Raises StartupError (exit code 2) without a token."""
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
        # PTB's own pool sizes (256 for calls, 1 for getUpdates), watched for /healthz.
        .request(WatchedRequest(contact, connection_pool_size=256))
        .get_updates_request(WatchedRequest(contact, connection_pool_size=1))
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
        source_titles=config.source_titles,
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
    policy = FetchPolicy(s.url for s in config.sources)
    try:
        # Where sources are polled: one browser for the render = true ones, if any.
        renderer = renderer_for(config, policy)
    except RenderUnavailable as exc:
        raise StartupError(str(exc), exit_code=2) from None
    try:
        db = await Database.open(config.storage.database)
    except StorageUnavailable as exc:
        # A database server that is down or restarting: exit 1, so that systemd tries again.
        raise StartupError(str(exc), exit_code=1) from None
    except StorageError as exc:
        raise StartupError(str(exc), exit_code=2) from None
    fetcher = HttpFetcher(policy=policy)
    try:
        await source_store.sync(db, [SourceSpec(s.name, s.url, s.kind) for s in config.sources])
        await subscriber_store.sync_channels(db, [(c.chat_id, c.level) for c in config.channels])
        settings = sender_settings(config)
        # The sender has its own connections: a broadcast never holds up command replies.
        sender_client = BotApiClient(
            config.telegram.api_url, config.token, connections=settings.concurrency + 4
        )
        metrics = Metrics()
        sender = Sender(db, sender_client, settings, metrics=metrics, worker=worker_id())
        walker = FanOutWalker(db, config.schedule.zone, sender.wake)

        def new_alerts() -> None:
            walker.wake()
            sender.wake()

        watcher = Watcher(db, config, fetcher, new_alerts, metrics=metrics, renderer=renderer)
        services = Services(config, db, fetcher, sender, watcher, metrics)
        contact = BotApiContact()
        application = build_application(services, contact)
        await _serve(application, services, walker, sender_client, contact, stop)
    finally:
        if renderer is not None:
            await renderer.aclose()
        await fetcher.aclose()
        await db.close()


async def _serve(
    application: Application,  # type: ignore[type-arg]
    services: Services,
    walker: FanOutWalker,
    sender_client: BotApiClient,
    contact: BotApiContact,
    stop: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    _route_signals(loop, stop.set)
    leader_stop = asyncio.Event()
    leader_task: asyncio.Task[None] | None = None
    sharing_task: asyncio.Task[None] | None = None
    config, db = services.config, services.db
    health = HealthServer(db, services.metrics, HealthState(api=contact))
    try:
        if config.http.enabled:
            # Before the Bot API is asked: /healthz then says it when the Bot API is down.
            try:
                await health.start(config.http.listen, config.http.port)
            except OSError as exc:
                raise StartupError(
                    f"cannot listen on {config.http.listen}:{config.http.port} for /healthz "
                    f"({exc.strerror}); change [http] port or set enabled = false",
                    exit_code=2,
                ) from None
        if not await _connect(application, stop):
            log.info("stopped before the Bot API answered")
            return
        me = application.bot
        log.info("connected to the Bot API as @%s", me.username)
        await handlers.publish_commands(application)
        job_queue = application.job_queue
        updater = application.updater
        assert updater is not None and job_queue is not None
        health.state.scheduler_running = lambda: bool(job_queue.scheduler.running)
        incidents = Incidents(
            db,
            [s.name for s in config.sources],
            config.alerts.messages_per_second,
            _notify_admins(sender_client, config.telegram.admins),
        )
        if not job_queue.get_jobs_by_name("bot-api-probe"):
            job_queue.run_repeating(
                lambda _: contact.probe(application.bot),
                interval=PROBE_AFTER_S,
                first=PROBE_AFTER_S,
                name="bot-api-probe",
                job_kwargs={"coalesce": True, "max_instances": 1},
            )
        # Only the fleet's leader keeps the push channels (and polls their sources), digests,
        # checks incidents, walks the fan-outs and sends (bot.fleet); every worker polls its
        # share of the other sources (bot.sharing). With a webhook every worker answers the
        # updates posted to it, without one only the leader may ask for updates (getUpdates
        # takes one consumer per token).
        receive = None
        if not config.telegram.webhook.url:

            async def stop_receiving() -> None:
                if updater.running:
                    await updater.stop()

            receive = (
                lambda: updater.start_polling(allowed_updates=Update.ALL_TYPES),
                stop_receiving,
            )
        duties = LeaderDuties(
            job_queue, services.watcher, services.sender, walker, incidents, receive
        )
        leadership = Leadership(db, duties, worker=services.sender.worker)
        services.sender.fence_with(leadership.valid)
        walker.fence_with(leadership.worker, leadership.valid)
        health.state.leading = lambda: leadership.leading
        # Every worker polls its share of the sources (all of them when it is alone), the
        # `pusher` ones aside (the leader's, with their channels): bot.sharing.
        spread = services.watcher.spread_out(lambda name: sharing.ready(name))
        sharing = Sharing(db, job_queue, services.watcher, spread, leadership.worker)
        if config.telegram.webhook.url:
            await _start_webhook(application, config, db)
        await application.start()
        await sender_client.start()
        # What start-up loaded stays for the whole run: keep the collector from walking it
        # again and again (full collections paused the sender mid-broadcast).
        gc.collect()
        gc.freeze()
        leader_task = asyncio.create_task(leadership.run(leader_stop), name="leadership")
        sharing_task = asyncio.create_task(sharing.run(leader_stop), name="polling share")
        log.info(
            "running with %d sources as worker %s; stop with Ctrl-C or SIGTERM",
            len(services.config.sources),
            leadership.worker,
        )
        await _wait(stop, leader_task, sharing_task)
        log.info("stopping")
        leader_stop.set()
        await leader_task  # the leader's duties stop and its lease is given up
        await sharing_task  # its polls stop and its poll leases are given up
        await _stop_quietly(application)
    finally:
        await handlers.stop_background(application)
        leader_stop.set()
        for task in (leader_task, sharing_task):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
        await services.watcher.close()
        await health.stop()
        await sender_client.close()
        # After a failure mid-start or mid-run the Application may still be running; PTB's
        # shutdown() would then raise "This Application is still running!" and hide the real
        # cause, which is what the caller must see.
        await _stop_quietly(application)
        await application.shutdown()
        _route_signals(loop, None)
    log.info("stopped")


async def _connect(application: Application, stop: asyncio.Event) -> bool:  # type: ignore[type-arg]
    """Initialize the Application (its getMe), asking again while the Bot API does not answer
    (connection refused, timeout, a 5xx), every 1, 2, 4 ... 30 s; False when `stop` is set
    first. Raises StartupError: exit code 2 when the token is refused, 1 when the server
    answers with another error (an api_url that is not a Bot API)."""
    host = _host(application.bot.base_url)
    delay = 1.0
    while True:
        try:
            await application.initialize()
            return True
        except InvalidToken:
            raise StartupError(
                "the Bot API refused the token (401 Unauthorized): check AJIL_TELEGRAM_TOKEN "
                "or [telegram] token",
                exit_code=2,
            ) from None
        except NetworkError as exc:
            log.log(
                logging.ERROR if delay == 1.0 else logging.WARNING,
                "cannot reach the Bot API at %s: %s; trying again in %.0f s"
                " (stop with Ctrl-C or SIGTERM)",
                host,
                exc,
                delay,
            )
        except TelegramError as exc:
            raise StartupError(f"cannot reach the Bot API at {host}: {exc}", exit_code=1) from None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
        delay = min(delay * 2, 30.0)


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
    # Another worker of the fleet may have stored its own meanwhile: all use the first one.
    kept = await meta.put_new(db, "webhook_secret", secret)
    logs.add_secret(kept)
    return kept


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
    """Until asked to stop; a leader's duty that dies (the sender, the fan-out walker), or the
    polling share, is an error, not a silent stop of alerts."""
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    for task in tasks:
        if task.done() and not stop.is_set():
            error = task.exception()
            raise RuntimeError(str(error) or f"the {task.get_name()} stopped") from error


def _host(base_url: str) -> str:
    # base_url ends with the token; only the server part is worth showing.
    return base_url.split("/bot", 1)[0]
