"""A Bot API server on 127.0.0.1 that behaves like Telegram's, for tests and the demo.

The bot is pointed at it through `[telegram] api_url`; nothing in the bot knows it is not
talking to Telegram. Requests are accepted as GET or POST, with query, form or JSON parameters,
and answered in Telegram's envelope: `ok`, `result` or `error_code` and `description`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.telegram_html import EntityParseError, parse_html, utf16_length
from bot.sandbox.world import SentMessage, World

MAX_TEXT = 4096
Params = dict[str, Any]


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: Params | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class Emulator:
    """Serves one bot's Bot API; `world` is its state, for tests to act and look through."""

    def __init__(self, token: str, bot_username: str = "AjilBot") -> None:
        self.world = World(token, bot_username)
        self.calls: list[tuple[float, str, Params]] = []
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0
        self._methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
        }

    @property
    def api_url(self) -> str:
        """The value for `[telegram] api_url`."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # A client that hangs up (a bot stopping mid long-poll) ends its handler, as on Telegram.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None)
        assert sockets, "the emulator's server did not open a socket"
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            # Wake long polls so the server can close without waiting for their timeouts.
            self._closing = True
            await self.world.touch()
            await self._runner.cleanup()
            self._runner = None

    # -- transport ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.world.token:
            return _reply(ApiError(401, "Unauthorized"))
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _reply(_bad(str(exc)))
        self.calls.append((time.time(), method, params))
        handler = self._methods.get(method) or self._methods.get(_canonical(method, self._methods))
        if handler is None:
            return _reply(ApiError(404, "Not Found: method not found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            return _reply(exc)
        return web.json_response({"ok": True, "result": result})

    # -- methods -----------------------------------------------------------------------------

    async def _get_me(self, _: Params) -> Any:
        me = self.world.bot.to_api()
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=True,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return me

    async def _get_updates(self, params: Params) -> Any:
        if self.world.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params, "offset", 0)
        limit = min(max(_int(params, "limit", 100), 1), 100)
        timeout = max(_int(params, "timeout", 0), 0)
        allowed = _json_list(params.get("allowed_updates"))
        world = self.world
        if offset:
            # Confirming an offset forgets every update before it, as Telegram does.
            world.updates = [u for u in world.updates if u["update_id"] >= offset]

        def pending() -> list[dict[str, Any]]:
            return [u for u in world.updates if not allowed or any(kind in u for kind in allowed)][
                :limit
            ]

        found = pending()
        if not found and timeout:
            with contextlib.suppress(TimeoutError):
                await world.wait_for(lambda: bool(pending()) or self._closing, timeout)
            found = pending()
        return found

    async def _delete_webhook(self, params: Params) -> Any:
        self.world.webhook = {"url": ""}
        if _bool(params, "drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def _get_webhook_info(self, _: Params) -> Any:
        return {
            "url": self.world.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }

    async def _send_message(self, params: Params) -> Any:
        chat = self._chat(params)
        source = str(params.get("text", ""))
        text, entities = _render(source, params.get("parse_mode"))
        if not text.strip():
            raise _bad("message text is empty")
        if utf16_length(text) > MAX_TEXT:
            raise _bad("message is too long")
        preview = _json_dict(params.get("link_preview_options")) or {}
        message = SentMessage(
            self.world.new_message_id(),
            chat.id,
            int(time.time()),
            self.world.bot,
            text,
            html=source if params.get("parse_mode") == "HTML" else None,
            entities=entities,
            reply_markup=_json_dict(params.get("reply_markup")),
            disable_notification=_bool(params, "disable_notification"),
            link_preview=not preview.get("is_disabled", False),
            thread_id=_int(params, "message_thread_id", 0) or None,
        )
        self.world.record(message)
        await self.world.touch()
        return message.to_api(chat)

    async def _edit_message_text(self, params: Params) -> Any:
        chat = self._chat(params)
        message = self.world.find_message(chat.id, _int(params, "message_id", 0))
        if message is None or not message.from_user.is_bot:
            raise _bad("message to edit not found")
        source = str(params.get("text", ""))
        text, entities = _render(source, params.get("parse_mode"))
        if not text.strip():
            raise _bad("message text is empty")
        if utf16_length(text) > MAX_TEXT:
            raise _bad("message is too long")
        markup = _json_dict(params.get("reply_markup"))
        if text == message.text and markup == message.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message.edits.append(message.html or message.text)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.html = source if params.get("parse_mode") == "HTML" else None
        await self.world.touch()
        return message.to_api(chat)

    async def _send_chat_action(self, params: Params) -> Any:
        self._chat(params)
        return True

    async def _answer_callback_query(self, params: Params) -> Any:
        if not params.get("callback_query_id"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        return True

    async def _set_my_commands(self, params: Params) -> Any:
        commands = _json_list(params.get("commands"))
        self.world.commands[_scope_key(params)] = commands
        return True

    async def _get_my_commands(self, params: Params) -> Any:
        return self.world.commands.get(_scope_key(params), [])

    async def _delete_my_commands(self, params: Params) -> Any:
        self.world.commands.pop(_scope_key(params), None)
        return True

    async def _get_chat(self, params: Params) -> Any:
        chat = self._chat(params)
        data = chat.to_api()
        data["accent_color_id"] = 0
        data["max_reaction_count"] = 11
        data["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
        }
        return data

    def _chat(self, params: Params) -> Any:
        raw = params.get("chat_id")
        try:
            chat_id = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            chat_id = None
        chat = self.world.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise _bad("chat not found")
        return chat


def _render(source: str, parse_mode: Any) -> tuple[str, list[dict[str, Any]]]:
    if parse_mode in (None, ""):
        return source, []
    if parse_mode != "HTML":
        raise _bad(f"unsupported parse_mode {parse_mode!s}")
    try:
        parsed = parse_html(source)
    except EntityParseError as exc:
        raise _bad(str(exc)) from None
    return parsed.text, []


def _reply(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


async def _read_params(request: web.Request) -> Params:
    params: Params = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise ValueError("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _canonical(method: str, known: dict[str, Any]) -> str:
    # Telegram's method names are case-insensitive.
    lowered = method.lower()
    return next((name for name in known if name.lower() == lowered), method)


def _int(params: Params, key: str, default: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f'field "{key}" must be a valid Number') from None


def _bool(params: Params, key: str) -> bool:
    value = params.get(key)
    return value is True or str(value).lower() in ("true", "1")


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise _bad("can't parse JSON") from None
    return value


def _json_dict(value: Any) -> dict[str, Any] | None:
    parsed = _json_value(value) if value is not None else None
    if parsed is not None and not isinstance(parsed, dict):
        raise _bad("object expected")
    return parsed


def _json_list(value: Any) -> list[Any]:
    parsed = _json_value(value) if value is not None else []
    if not isinstance(parsed, list):
        raise _bad("array expected")
    return parsed


def _scope_key(params: Params) -> str:
    scope = _json_dict(params.get("scope")) or {"type": "default"}
    return f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"
