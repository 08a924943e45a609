"""The sender's own Bot API client: sendMessage over aiohttp, with Telegram's answers as values.

python-telegram-bot serves the commands; broadcasts go through this thinner path. Measured on
this machine, PTB's send_message over httpx spends most of a request in httpcore's pool
bookkeeping and object building, which capped a paid broadcast at about 160 messages a second
against a goal of 1000.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.compose.limits import MAX_TEXT, clean, shorten

# Telegram's 400 answers about a message's content, in each wording seen (the Bot API's own,
# the MTProto error names it passes on, and python-telegram-bot's rewording without the "Bad
# Request: " prefix), lowercased. Sources: Telegram's answers quoted in public bug reports
# (e.g. github.com/laravel-notification-channels/telegram/issues/112 "inline keyboard button URL
# is invalid", github.com/EverythingSuckz/TG-FileStreamBot/issues/44 BUTTON_URL_INVALID,
# github.com/BEDOLAGA-DEV/remnawave-bedolaga-telegram-bot/issues/1564 "inline keyboard button
# URL '…' is invalid: Unsupported URL protocol") and /work/shared/notes/research.md.
CONTENT_REFUSALS = (
    "can't parse entities",
    "can't parse inline keyboard button",
    "can't parse reply keyboard markup",
    "message is too long",
    "message_too_long",
    "text is too long",
    "caption is too long",
    "entities_too_long",
    "message text is empty",
    "text must be non-empty",
    "message must be non-empty",
    "strings must be encoded in utf-8",
    "button_data_invalid",
    "button_url_invalid",
    "button_type_invalid",
    "inline keyboard button url",
    "url is invalid",
    "wrong http url",
    "unsupported url protocol",
    "text buttons are unallowed in the inline keyboard",
    "reply_markup_invalid",
    "reply markup is too long",
)


def is_content_refusal(code: int, description: str) -> bool:
    """Whether Telegram refused the message itself (its text, entities or buttons): resending
    it to anyone else can only be refused again."""
    lowered = description.lower()
    return code == 400 and any(marker in lowered for marker in CONTENT_REFUSALS)


class TransportError(Exception):
    """No usable answer: connection refused or broken, timeout, a 5xx, or not JSON."""


@dataclass
class ApiError(Exception):
    """Telegram answered ok=false."""

    code: int
    description: str
    retry_after: float | None = None
    migrate_to: int | None = None

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class BotApiClient:
    def __init__(self, api_url: str, token: str, connections: int, timeout: float = 30.0):
        self._base = f"{api_url}{token}/"
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=5)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connections, limit_per_host=self._connections
            )
            # Tells the caller the moment a request's body is on the wire: the pacer spaces
            # messages by when they really left, not by when they were queued.
            trace = aiohttp.TraceConfig()
            trace.on_request_chunk_sent.append(_on_wire)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, trace_configs=[trace]
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, method: str, params: dict[str, Any], on_wire: Callable[[], None] | None = None
    ) -> Any:
        """The method's `result`; raises ApiError or TransportError."""
        await self.start()
        assert self._session is not None
        try:
            async with self._session.post(
                self._base + method, json=params, trace_request_ctx={"on_wire": on_wire}
            ) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # The message says what failed without the URL, which holds the token.
            raise TransportError(type(exc).__name__) from None
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransportError(f"HTTP {status}, not JSON") from None
        if not isinstance(answer, dict):
            raise TransportError(f"HTTP {status}, unexpected answer")
        if answer.get("ok"):
            return answer.get("result")
        if status >= 500:
            raise TransportError(f"HTTP {status}")
        parameters = answer.get("parameters") or {}
        raise ApiError(
            int(answer.get("error_code") or status),
            str(answer.get("description") or ""),
            parameters.get("retry_after"),
            parameters.get("migrate_to_chat_id"),
        )

    async def send_message(
        self, params: dict[str, Any], on_wire: Callable[[], None] | None = None
    ) -> int:
        """sendMessage; the message's id. A plain text (no parse_mode: an admin's incident
        report quoting a source's error) is cleaned and shortened to Telegram's limit here, so
        that such a report always reaches the admins; HTML texts come composed (Outgoing)."""
        if not params.get("parse_mode") and isinstance(params.get("text"), str):
            params = {**params, "text": shorten(clean(params["text"]), MAX_TEXT) or "…"}
        result = await self.call("sendMessage", params, on_wire)
        return int(result["message_id"])


async def _on_wire(_: Any, context: Any, __: Any) -> None:
    request = getattr(context, "trace_request_ctx", None)
    callback = request.get("on_wire") if isinstance(request, dict) else None
    if callback is not None:
        callback()
