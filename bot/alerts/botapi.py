"""The sender's own Bot API client: sendMessage over aiohttp, with Telegram's answers as values.

python-telegram-bot serves the commands; broadcasts go through this thinner path. Measured on
this machine, PTB's send_message over httpx spends most of a request in httpcore's pool
bookkeeping and object building, which capped a paid broadcast at about 160 messages a second
against a goal of 1000.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp


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
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """The method's `result`; raises ApiError or TransportError."""
        await self.start()
        assert self._session is not None
        try:
            async with self._session.post(self._base + method, json=params) as response:
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

    async def send_message(self, params: dict[str, Any]) -> int:
        result = await self.call("sendMessage", params)
        return int(result["message_id"])
