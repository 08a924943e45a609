"""The Pusher Channels protocol, version 7, as a public-channel subscriber speaks it. Pure.

Source of every rule: Pusher's protocol page ("Pusher Channels Protocol", pusher.com/docs/
channels/library_auth_reference/pusher-websockets-protocol). In short: connect to
`wss://ws-CLUSTER.pusher.com/app/KEY?protocol=7&client=…&version=…`; the server says
`pusher:connection_established` (data: a JSON text with `socket_id` and `activity_timeout`,
seconds); the client sends `pusher:subscribe` {channel}; the server confirms with
`pusher_internal:subscription_succeeded`, then sends the channel's events, whose `data` is a JSON
text. Either side sends `pusher:ping` after `activity_timeout` seconds without a message and the
other answers `pusher:pong`; a client that gets no answer within the pong timeout (30 s
recommended) drops the connection. Errors come as `pusher:error` {message, code} and as close
codes: 4000-4099 the connection must not be re-established unchanged, 4100-4199 it may be after
backing off (at least 1 s, exponential allowed), 4200-4299 at once. The server replays nothing
that was pushed while a client was away.

`Session` is one connection's state: it answers frames and says when to ping or give up, with
the time passed in, so that tests drive it with no clock. `reconnect_delay` is the backoff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import bot

PROTOCOL = 7
CLIENT = "ajil"
# The client's own activity timeout: the smaller of this and the server's is used (the
# protocol's recommendation for client libraries), and the pong timeout.
ACTIVITY_TIMEOUT = 120.0
PONG_TIMEOUT = 30.0
# Waiting for connection_established and subscription_succeeded, seconds.
HANDSHAKE_TIMEOUT = 15.0
MAX_BACKOFF = 60.0

Action = Literal["stop", "backoff", "now"]


class ProtocolError(Exception):
    """A frame that is not the protocol's JSON envelope; `reason` is short."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def socket_url(key: str, cluster: str | None = None, ws_url: str | None = None) -> str:
    """The websocket URL for an app key: on Pusher's `cluster` (wss://ws-CLUSTER.pusher.com),
    or on the server `ws_url` (scheme, host, port only, as pusher-js's wsHost/wsPort)."""
    if ws_url:
        base = ws_url.rstrip("/")
    elif cluster:
        base = f"wss://ws-{cluster}.pusher.com"
    else:
        raise ValueError("a cluster or a ws_url is needed")
    return f"{base}/app/{quote(key, safe='')}?protocol={PROTOCOL}&client={CLIENT}&version={bot.__version__}"


@dataclass(frozen=True)
class Frame:
    """One protocol message: its event, channel (None for connection events) and data, with a
    JSON text decoded once (the protocol sends event data as a JSON text)."""

    event: str
    channel: str | None = None
    data: Any = None


def decode(text: str) -> Frame:
    """Read one websocket text frame; raises ProtocolError."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise ProtocolError("a frame that is not JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
        raise ProtocolError("a frame without an event name")
    channel = raw.get("channel")
    return Frame(raw["event"], channel if isinstance(channel, str) else None, raw.get("data"))


def data_object(frame: Frame) -> dict[str, Any]:
    """The frame's data as a JSON object (decoded from its text if need be); {} otherwise."""
    data = frame.data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def encode(event: str, data: dict[str, Any] | None = None) -> str:
    return json.dumps({"event": event, "data": data or {}}, ensure_ascii=False)


def close_action(code: int | None) -> Action:
    """What a close code (or a pusher:error code) asks of the client. A code outside the
    protocol's ranges (1006 for a lost connection, None) is a network failure: back off."""
    if code is not None and 4000 <= code <= 4099:
        return "stop"
    if code is not None and 4200 <= code <= 4299:
        return "now"
    return "backoff"


def reconnect_delay(attempt: int, rand: Callable[[], float]) -> float:
    """Seconds before reconnect attempt `attempt` (1 for the first after a failure): doubling
    from 1 s up to MAX_BACKOFF, each drawn in its upper half (`rand()` in [0, 1)) so that many
    clients dropped together do not come back together; never under 1 s (the protocol's floor
    for 4100-4199)."""
    ceiling = min(MAX_BACKOFF, 2.0 ** max(attempt - 1, 0))
    return max(1.0, ceiling / 2 + rand() * ceiling / 2)


@dataclass(frozen=True)
class Reaction:
    """What the client does after a frame or a timer: frames to send, a message pushed on the
    channel (its data), and whether to drop the connection (`close`: why, and the action)."""

    send: tuple[str, ...] = ()
    pushed: Any = None
    is_push: bool = False
    subscribed: bool = False
    close: tuple[Action, str] | None = None


@dataclass
class Session:
    """One connection's protocol state. Times are seconds on any monotonic clock, passed in."""

    channel: str
    event: str
    started: float
    socket_id: str | None = None
    subscribed: bool = False
    activity_timeout: float = ACTIVITY_TIMEOUT
    last_heard: float = 0.0
    ping_sent: float | None = None
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.last_heard = self.started

    def deadline(self) -> float:
        """When `due` must be called if nothing arrives before."""
        if not self.subscribed:
            return self.started + HANDSHAKE_TIMEOUT
        if self.ping_sent is not None:
            return self.ping_sent + PONG_TIMEOUT
        return self.last_heard + self.activity_timeout

    def due(self, now: float) -> Reaction:
        """The timer fired: ping after a silence, give up without a handshake or a pong."""
        if now < self.deadline():
            return Reaction()
        if not self.subscribed:
            stage = "subscription" if self.socket_id else "connection_established"
            return Reaction(close=("backoff", f"no {stage} within {HANDSHAKE_TIMEOUT:.0f} s"))
        if self.ping_sent is not None:
            return Reaction(close=("backoff", f"no pong within {PONG_TIMEOUT:.0f} s"))
        self.ping_sent = now
        return Reaction(send=(encode("pusher:ping"),))

    def receive(self, text: str, now: float) -> Reaction:
        """One text frame from the server. Raises ProtocolError for one that is not JSON."""
        frame = decode(text)
        self.last_heard = now
        self.ping_sent = None  # any message shows the connection alive, as a pong does
        name = frame.event
        if name == "pusher:connection_established":
            data = data_object(frame)
            self.socket_id = str(data.get("socket_id") or "")
            timeout = data.get("activity_timeout")
            if isinstance(timeout, int | float) and timeout > 0:
                self.activity_timeout = min(float(timeout), ACTIVITY_TIMEOUT)
            return Reaction(send=(encode("pusher:subscribe", {"channel": self.channel}),))
        if name == "pusher:ping":
            return Reaction(send=(encode("pusher:pong"),))
        if name == "pusher_internal:subscription_succeeded" and frame.channel == self.channel:
            self.subscribed = True
            return Reaction(subscribed=True)
        if name == "pusher:error":
            return self._error(frame)
        if name == self.event and frame.channel == self.channel:
            return Reaction(pushed=frame.data, is_push=True)
        return Reaction()  # pong, other events, other channels: nothing to do

    def _error(self, frame: Frame) -> Reaction:
        data = frame.data if isinstance(frame.data, dict) else data_object(frame)
        code = data.get("code")
        code = code if isinstance(code, int) else None
        text = f"{code or 'error'} {data.get('message') or ''}".strip()
        self.errors.append(text)
        if code is None or not 4000 <= code <= 4299:
            return Reaction()  # 4300-4399 and uncoded errors leave the connection as it is
        return Reaction(close=(close_action(code), text))
