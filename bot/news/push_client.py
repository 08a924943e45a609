"""One live push channel: a websocket kept open to a Pusher-protocol server, for one source.

Built on aiohttp's websocket client (aiohttp is already Ajil's HTTP server and client); the
protocol itself is bot.news.push_protocol. `PushClient.run` connects, subscribes, hands every
message pushed on the channel to `on_push` as it arrives, and calls `on_subscribed` after each
subscription (the first, and every one after a reconnect: the server replays nothing, so the
caller catches up from the site). It reconnects after a drop, backing off with jitter as the
protocol's close codes ask, and stops for good only on a 4000-4099 code (a wrong key, an app
that does not exist: retrying unchanged cannot help) or when cancelled.

The clock, the random draw and the sleep are parameters, so that tests drive the backoff
without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.news.push_protocol import (
    HANDSHAKE_TIMEOUT,
    Action,
    ProtocolError,
    Reaction,
    Session,
    close_action,
    reconnect_delay,
)

log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 256 * 1024
# How a push channel's flood begins in its source's warning (bot.alerts.pushes.PushCap); the
# admins' incidents (bot.ops.incidents) tell it at once.
FLOOD_PREFIX = "push channel flood"
_LOUD_FAILURES = (1, 5, 20, 100)  # consecutive failures worth a warning; the others are debug


@dataclass(frozen=True)
class PushSettings:
    """Where and what to listen to: `url` from push_protocol.socket_url."""

    name: str  # the source's name, for the log
    url: str
    channel: str
    event: str


@dataclass(frozen=True)
class Outcome:
    """How one connection ended: the next step, why, and whether it had subscribed."""

    action: Action
    reason: str
    subscribed: bool


# on_push(data, received): the event's data, and time.time() when it arrived.
OnPush = Callable[[Any, float], Awaitable[None]]
# on_subscribed(connection): 1 for the first subscription, then 2, 3... after reconnects.
# Awaited between frames: it must start long work (a catch-up poll) and return.
OnSubscribed = Callable[[int], Awaitable[None]]


class PushClient:
    """Keeps one subscription alive until cancelled (or refused for good)."""

    def __init__(
        self,
        settings: PushSettings,
        on_push: OnPush,
        on_subscribed: OnSubscribed,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.on_push = on_push
        self.on_subscribed = on_subscribed
        self.clock = clock
        self.rand = rand
        self.sleep = sleep
        self.connections = 0  # subscriptions made so far
        self.failures = 0  # connections in a row that ended before subscribing
        self.connected = False
        self.refused = False  # stopped for good by a 4000-4099 code
        self.last_error: str | None = None
        self.delays: list[float] = []  # every backoff waited, seconds (for ops and tests)

    async def run(self) -> Outcome:
        """Connect and listen until cancelled; returns only when the server refused for good
        (a 4000-4099 code), with why."""
        # Connecting is bounded; the websocket itself lives as long as it is answered.
        timeout = aiohttp.ClientTimeout(
            total=None, connect=HANDSHAKE_TIMEOUT, sock_connect=HANDSHAKE_TIMEOUT
        )
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                outcome = await self._connection(http)
                self.connected = False
                if outcome.subscribed:
                    self.failures = 0
                if outcome.action == "stop":
                    self.last_error = outcome.reason
                    self.refused = True
                    log.error(
                        "source %s: the push server refused the connection (%s); check key, "
                        "cluster or ws_url and channel; the site is still polled",
                        self.settings.name,
                        outcome.reason,
                    )
                    return outcome
                delay = self.next_delay(outcome)
                self.last_error = outcome.reason
                level = logging.WARNING if self.failures in _LOUD_FAILURES else logging.DEBUG
                if outcome.subscribed:
                    level = logging.INFO
                log.log(
                    level,
                    "source %s: push channel lost (%s); reconnecting in %.1f s",
                    self.settings.name,
                    outcome.reason,
                    delay,
                )
                self.delays.append(delay)
                await self.sleep(delay)

    def problem(self) -> str | None:
        """What is wrong with the channel, for the source's warning: refused for good, or down
        for three connections in a row; None while it works or is merely reconnecting."""
        if self.refused:
            return f"push channel refused ({self.last_error}): check key, cluster or ws_url"
        if not self.connected and self.failures >= 3:
            return f"push channel down ({self.last_error}), the site still polled"
        return None

    def next_delay(self, outcome: Outcome) -> float:
        """Seconds before the next connection. A connection that was up and asked to come back
        at once (4200-4299) does; any other end backs off, longer after each connection in a
        row that never subscribed, so that a server that keeps refusing is not hammered."""
        if outcome.action == "now" and outcome.subscribed:
            return 0.0
        self.failures += 1
        return reconnect_delay(self.failures, self.rand)

    async def _connection(self, http: aiohttp.ClientSession) -> Outcome:
        settings = self.settings
        session = Session(settings.channel, settings.event, started=self.clock())
        try:
            async with http.ws_connect(
                settings.url,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                autoping=True,
                max_msg_size=MAX_FRAME_BYTES,
            ) as ws:
                return await self._listen(ws, session)
        except aiohttp.WSServerHandshakeError as exc:
            # An HTTP answer instead of a websocket: 4xx will not change by retrying soon.
            return Outcome("backoff", f"HTTP {exc.status} instead of a websocket", False)
        except (aiohttp.ClientError, OSError) as exc:
            return Outcome("backoff", str(exc) or type(exc).__name__, session.subscribed)
        except TimeoutError:
            return Outcome("backoff", "connection timed out", session.subscribed)

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse, session: Session) -> Outcome:
        while True:
            wait = max(0.0, session.deadline() - self.clock())
            try:
                message = await ws.receive(timeout=min(wait, HANDSHAKE_TIMEOUT * 8))
            except TimeoutError:
                reaction = session.due(self.clock())
            else:
                if message.type == aiohttp.WSMsgType.TEXT:
                    try:
                        reaction = session.receive(message.data, self.clock())
                    except ProtocolError as exc:
                        log.debug("source %s: %s", self.settings.name, exc.reason)
                        continue
                elif message.type == aiohttp.WSMsgType.BINARY:
                    continue  # the protocol has no binary frames
                else:
                    code = ws.close_code
                    why = f"closed by the server ({code})" if code else "connection lost"
                    if message.type == aiohttp.WSMsgType.ERROR:
                        # The reader's error (a frame over max_msg_size...) comes as the
                        # message's data; ws.exception() is often None then.
                        error = message.data if isinstance(message.data, Exception) else None
                        why = f"connection error ({error or ws.exception() or 'unknown'})"
                    return Outcome(close_action(code), why, session.subscribed)
            outcome = await self._react(ws, session, reaction)
            if outcome is not None:
                return outcome

    async def _react(
        self, ws: aiohttp.ClientWebSocketResponse, session: Session, reaction: Reaction
    ) -> Outcome | None:
        for frame in reaction.send:
            await ws.send_str(frame)
        if reaction.close is not None:
            action, why = reaction.close
            await ws.close()
            return Outcome(action, why, session.subscribed)
        if reaction.subscribed:
            self.connections += 1
            self.connected = True
            if self.connections == 1:
                log.info(
                    "source %s: listening to push channel %s",
                    self.settings.name,
                    self.settings.channel,
                )
            await self.on_subscribed(self.connections)
        if reaction.is_push:
            await self.on_push(reaction.pushed, time.time())
        return None
