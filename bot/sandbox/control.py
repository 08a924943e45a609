"""The emulator's control API: play users, groups and channels, read what the bot sent, read
the call log, switch faults on. Used by the web chat, benchmarks and tests in other processes.

All under /control/, JSON in and out:
  POST /control/users       {"users": [{"id", "first_name", "language_code"}]}
  POST /control/groups      {"id", "title", "members": [...], "admins": [...], "supergroup", "forum"}
  POST /control/channels    {"id", "title"}
  POST /control/message     {"user_id", "text", "chat_id"?, "thread_id"?}
  POST /control/press       {"user_id", "chat_id", "message_id", "data"}
  POST /control/inline      {"user_id", "query"}
  GET  /control/chats/{id}/messages?after=MESSAGE_ID&wait=SECONDS
  GET  /control/calls?method=sendMessage&since=UNIX_TIME[&count=1]
  POST /control/faults      {"global_per_second", "blocked": [...], "latency",
                             "button_url_refusals": {"url part": "wording"}, ...}
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from aiohttp import web

from bot.sandbox.world import SentMessage, World

_SET_FAULTS = {"blocked", "deactivated", "kicked"}
_SCALAR_FAULTS = {
    "global_per_second", "private_per_second", "group_per_minute", "retry_after", "latency",
    "drop_next",
}  # fmt: skip


def message_json(message: SentMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "chat_id": message.chat_id,
        "date": message.date,
        "sent_at": message.sent_at,
        "from_bot": message.from_user.is_bot,
        "from": message.from_user.first_name,
        "text": message.text,
        "html": message.html,
        "photo": message.photo_url,
        "buttons": (message.reply_markup or {}).get("inline_keyboard", []),
        "edits": message.edits,
        "deleted": message.deleted,
        "silent": message.disable_notification,
        "preview": message.link_preview,
    }


def add_control_routes(app: web.Application, world: World) -> None:
    """Add the /control/ routes, acting on `world` (the emulator's state, faults and call log)."""

    async def users(request: web.Request) -> web.Response:
        body = await request.json()
        for user in body.get("users", []):
            world.add_user(
                int(user["id"]),
                str(user.get("first_name") or user["id"]),
                user.get("language_code", "ar"),
            )
        return web.json_response({"ok": True, "count": len(world.users)})

    async def groups(request: web.Request) -> web.Response:
        body = await request.json()
        chat = world.add_group(
            int(body["id"]),
            str(body.get("title", "")),
            [int(m) for m in body.get("members", [])],
            [int(a) for a in body.get("admins", [])],
            supergroup=bool(body.get("supergroup")),
            forum=bool(body.get("forum")),
        )
        return web.json_response({"ok": True, "chat": chat.to_api()})

    async def channels(request: web.Request) -> web.Response:
        body = await request.json()
        chat = world.add_channel(int(body["id"]), str(body.get("title", "")))
        return web.json_response({"ok": True, "chat": chat.to_api()})

    async def message(request: web.Request) -> web.Response:
        body = await request.json()
        user = int(body["user_id"])
        if user not in world.users:
            raise web.HTTPNotFound(text="no such user")
        chat = int(body["chat_id"]) if body.get("chat_id") is not None else None
        thread = int(body["thread_id"]) if body.get("thread_id") is not None else None
        update = await world.user_message(user, str(body["text"]), chat, thread)
        return web.json_response({"ok": True, "update_id": update["update_id"], "at": time.time()})

    async def press(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            update = await world.press_button(
                int(body["user_id"]),
                int(body["chat_id"]),
                int(body["message_id"]),
                str(body["data"]),
            )
        except KeyError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return web.json_response({"ok": True, "update_id": update["update_id"]})

    async def inline(request: web.Request) -> web.Response:
        body = await request.json()
        update = await world.inline_query(int(body["user_id"]), str(body.get("query", "")))
        return web.json_response({"ok": True, "update_id": update["update_id"]})

    async def chat_messages(request: web.Request) -> web.Response:
        chat_id = int(request.match_info["chat_id"])
        after = int(request.query.get("after", "0"))
        wait = min(float(request.query.get("wait", "0")), 30.0)

        def newer() -> list[SentMessage]:
            return [
                m
                for m in world.messages.get(chat_id, [])
                if m.message_id > after or (m.edits and m.from_user.is_bot)
            ]

        if wait and not any(m.message_id > after for m in newer()):
            with contextlib.suppress(TimeoutError):
                await world.wait_for(
                    lambda: any(m.message_id > after for m in newer()) or world.closing,
                    wait,
                )
        return web.json_response({"messages": [message_json(m) for m in newer()]})

    async def calls(request: web.Request) -> web.Response:
        method = request.query.get("method")
        since = float(request.query.get("since", "0"))
        chosen = [
            c for c in world.calls if c.at >= since and (method is None or c.method == method)
        ]
        if request.query.get("count"):
            # Cheap to answer while a broadcast runs: a benchmark polling the full log would
            # stall the emulator and bunch the very arrivals it measures.
            return web.json_response({"count": sum(1 for c in chosen if c.error is None)})
        rows = [
            {"at": c.at, "method": c.method, "chat_id": c.params.get("chat_id"), "error": c.error}
            for c in chosen
        ]
        return web.json_response({"calls": rows})

    async def faults(request: web.Request) -> web.Response:
        body = await request.json()
        for key, value in body.items():
            if key in _SET_FAULTS:
                setattr(world.faults, key, {int(v) for v in value})
            elif key in _SCALAR_FAULTS:
                setattr(world.faults, key, value)
            elif key == "migrated":
                world.faults.migrated = {int(k): int(v) for k, v in value.items()}
            elif key == "button_url_refusals":
                world.faults.button_url_refusals = {str(k): str(v) for k, v in value.items()}
            else:
                raise web.HTTPBadRequest(text=f"unknown fault {key!r}")
        return web.json_response({"ok": True})

    app.router.add_post("/control/users", users)
    app.router.add_post("/control/groups", groups)
    app.router.add_post("/control/channels", channels)
    app.router.add_post("/control/message", message)
    app.router.add_post("/control/press", press)
    app.router.add_post("/control/inline", inline)
    app.router.add_get("/control/chats/{chat_id}/messages", chat_messages)
    app.router.add_get("/control/calls", calls)
    app.router.add_post("/control/faults", faults)
