"""A Pusher-protocol (version 7) websocket server on 127.0.0.1, as a news site's push service.

It speaks what Pusher's hosted service speaks to a public-channel subscriber (see
bot.news.push_protocol for the rules and their source): `pusher:connection_established` with a
`socket_id` and `activity_timeout`, `pusher:subscribe` answered by
`pusher_internal:subscription_succeeded`, the channel's events with their data as a JSON text,
`pusher:ping` / `pusher:pong` both ways (it pings a silent client and closes with 4201 when no
pong comes), `pusher:error` and close code 4001 for an unknown app key, 4007 for another
protocol version. Like Pusher, it replays nothing: a message pushed while a client is away is
lost to that client.

Control routes, JSON in and out, on the same port:
  POST /control/push/trigger     {"channel", "event", "data": {...}} -> {"subscribers": N}
  POST /control/push/disconnect  {"code": 4200, "reason": "...", "down": false} -> {"closed": N}
                                 ("down": true also refuses new connections, HTTP 503, until
                                 POST /control/push/up: the push service is out)
  POST /control/push/up
  GET  /control/push/connections                                     -> {"connections": [...]}
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

DEFAULT_KEY = "ajil-sandbox-key"
PONG_TIMEOUT = 30.0


@dataclass
class Connection:
    socket_id: str
    ws: web.WebSocketResponse
    channels: set[str] = field(default_factory=set)
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    pongs: int = 0  # pongs received (answers to the server's pings)
    pings: int = 0  # pings received from the client


@dataclass(frozen=True)
class Pushed:
    at: float  # time.time() when triggered
    channel: str
    event: str
    data: dict[str, Any]
    subscribers: int


class PushServer:
    """Serves one app key; `trigger` pushes, `disconnect` drops every client."""

    def __init__(self, key: str = DEFAULT_KEY, activity_timeout: int = 120) -> None:
        self.key = key
        self.activity_timeout = activity_timeout
        self.connections: list[Connection] = []
        self.pushed: list[Pushed] = []
        self.accepted = 0  # connections accepted so far
        self.down = False  # refusing connections (HTTP 503), as a push service in an outage
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """The base a client is configured with (`ws_url`): it adds /app/KEY itself."""
        return f"ws://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/app/{key}", self._socket)
        app.router.add_post("/control/push/trigger", self._trigger_route)
        app.router.add_post("/control/push/disconnect", self._disconnect_route)
        app.router.add_post("/control/push/up", self._up_route)
        app.router.add_get("/control/push/connections", self._connections_route)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the push server did not open a socket"
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.disconnect(4200, "server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- what tests, the sample site and the demo do ------------------------------------------

    def subscribers(self, channel: str) -> int:
        return sum(1 for c in self.connections if channel in c.channels)

    def trigger(self, channel: str, event: str, data: dict[str, Any]) -> int:
        """Push `data` to the channel's subscribers now; returns how many it went to."""
        frame = json.dumps(
            {"event": event, "channel": channel, "data": json.dumps(data, ensure_ascii=False)},
            ensure_ascii=False,
        )
        chosen = [c for c in self.connections if channel in c.channels]
        for connection in chosen:
            connection.outbox.put_nowait(frame)
        self.pushed.append(Pushed(time.time(), channel, event, data, len(chosen)))
        return len(chosen)

    async def disconnect(self, code: int = 4200, reason: str = "") -> int:
        """Close every connection with `code` (4200: come back at once; 4100: back off; 4001:
        do not come back unchanged), after a `pusher:error` saying why, as Pusher does."""
        closing = list(self.connections)
        # Gone from now on: a push from here on reaches only those who come back.
        self.connections.clear()
        self._changed.set()
        for connection in closing:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.send_str(
                    _frame("pusher:error", {"code": code, "message": reason})
                )
                await connection.ws.close(code=code, message=reason.encode())
        return len(closing)

    async def wait_for_subscribers(self, channel: str, count: int, timeout: float = 30) -> None:
        """Until `count` clients are subscribed to `channel`; raises TimeoutError."""
        async with asyncio.timeout(timeout):
            while self.subscribers(channel) < count:
                self._changed.clear()
                await self._changed.wait()

    # -- the protocol -------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            return web.Response(status=503, text="push service unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if request.match_info["key"] != self.key:
            await _refuse(ws, 4001, f"App key {request.match_info['key']} does not exist")
            return ws
        if request.query.get("protocol") != "7":
            await _refuse(ws, 4007, "Unsupported protocol version")
            return ws
        connection = Connection(f"{next(self._ids)}.{id(ws) % 1_000_000}", ws)
        self.connections.append(connection)
        self.accepted += 1
        writer = asyncio.create_task(self._write(connection))
        try:
            established = {
                "socket_id": connection.socket_id,
                "activity_timeout": self.activity_timeout,
            }
            await ws.send_str(_frame("pusher:connection_established", json.dumps(established)))
            await self._read(connection)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if connection in self.connections:
                self.connections.remove(connection)
            self._changed.set()
        return ws

    async def _read(self, connection: Connection) -> None:
        ws = connection.ws
        waiting_pong = False
        while not ws.closed:
            timeout = PONG_TIMEOUT if waiting_pong else float(self.activity_timeout)
            try:
                message = await ws.receive(timeout=timeout)
            except TimeoutError:
                if waiting_pong:
                    await _refuse(ws, 4201, "Pong reply not received")
                    return
                await ws.send_str(_frame("pusher:ping", {}))
                waiting_pong = True
                continue
            if message.type != WSMsgType.TEXT:
                return
            waiting_pong = False
            await self._handle(connection, message.data)

    async def _handle(self, connection: Connection, text: str) -> None:
        ws = connection.ws
        try:
            frame = json.loads(text)
            name = frame["event"]
        except (ValueError, KeyError, TypeError):
            await ws.send_str(_frame("pusher:error", {"code": None, "message": "Invalid JSON"}))
            return
        data = frame.get("data") if isinstance(frame.get("data"), dict) else {}
        if name == "pusher:ping":
            connection.pings += 1
            await ws.send_str(_frame("pusher:pong", {}))
        elif name == "pusher:pong":
            connection.pongs += 1
        elif name == "pusher:subscribe" and isinstance(data.get("channel"), str):
            channel = data["channel"]
            if channel.startswith(("private-", "presence-")):
                message = f"Channel {channel} needs authorization"
                await ws.send_str(_frame("pusher:error", {"code": None, "message": message}))
                return
            connection.channels.add(channel)
            self._changed.set()
            await ws.send_str(
                json.dumps(
                    {
                        "event": "pusher_internal:subscription_succeeded",
                        "channel": channel,
                        "data": "{}",
                    }
                )
            )
        elif name == "pusher:unsubscribe" and isinstance(data.get("channel"), str):
            connection.channels.discard(data["channel"])
            self._changed.set()

    async def _write(self, connection: Connection) -> None:
        while True:
            frame = await connection.outbox.get()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.send_str(frame)

    # -- control routes -----------------------------------------------------------------------

    async def _trigger_route(self, request: web.Request) -> web.Response:
        body = await request.json()
        data = body.get("data")
        if not isinstance(data, dict) or not body.get("channel") or not body.get("event"):
            raise web.HTTPBadRequest(text='expected {"channel", "event", "data": {...}}')
        count = self.trigger(str(body["channel"]), str(body["event"]), data)
        return web.json_response({"subscribers": count})

    async def _disconnect_route(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        code = int(body.get("code", 4200))
        self.down = bool(body.get("down", False))
        closed = await self.disconnect(code, str(body.get("reason", "forced disconnect")))
        return web.json_response({"closed": closed})

    async def _up_route(self, _: web.Request) -> web.Response:
        self.down = False
        return web.json_response({"ok": True})

    async def _connections_route(self, _: web.Request) -> web.Response:
        rows = [
            {"socket_id": c.socket_id, "channels": sorted(c.channels), "pings": c.pings}
            for c in self.connections
        ]
        return web.json_response({"connections": rows, "accepted": self.accepted})


def _frame(event: str, data: Any) -> str:
    return json.dumps({"event": event, "data": data}, ensure_ascii=False)


async def _refuse(ws: web.WebSocketResponse, code: int, message: str) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(_frame("pusher:error", {"code": code, "message": message}))
        await ws.close(code=code, message=message.encode())
