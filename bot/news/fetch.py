"""Fetching pages and feeds: the one seam between news processing and the network.

`Fetcher` is the protocol sources use; `HttpFetcher` is the real one (one shared httpx client,
at most two requests at a time per host, a 5 s connect and 20 s total timeout, a 5 MB cap,
conditional GET, at most 5 redirects). Every failure is a `FetchError` with a short reason fit
for /sources and the admins.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from bot import __version__

USER_AGENT = f"Ajil/{__version__} (breaking-news bot for Telegram)"
MAX_BYTES = 5 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 20.0
MAX_REDIRECTS = 5
PER_HOST = 2


class FetchError(Exception):
    """A fetch that failed; `reason` is short and safe to show to an operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Validators:
    """What a server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    charset: str | None
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher(Protocol):
    async def fetch(self, url: str, validators: Validators | None = None) -> Fetched: ...


class HttpFetcher:
    """The network fetcher. Use one per process: it holds the connection pool and host limits."""

    def __init__(
        self,
        *,
        max_bytes: int = MAX_BYTES,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        per_host: int = PER_HOST,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self._per_host = per_host
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._per_host)
        )
        self._client = httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        host = (urlsplit(url).hostname or "").lower()
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async with self._hosts[host]:
            try:
                async with asyncio.timeout(self.total_timeout):
                    return await self._get(url, headers, validators)
            except TimeoutError:
                raise FetchError(f"timed out after {self.total_timeout:g} s") from None
            except httpx.TooManyRedirects:
                raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
            except httpx.ConnectTimeout:
                raise FetchError("connection timed out") from None
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {self.total_timeout:g} s") from None
            except httpx.ConnectError as exc:
                raise FetchError(f"cannot connect ({_short(exc)})") from None
            except httpx.DecodingError:
                raise FetchError("the response could not be decompressed") from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise FetchError(f"the connection broke ({_short(exc)})") from None
            except httpx.InvalidURL:
                raise FetchError("invalid URL") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"HTTP error ({_short(exc)})") from None

    async def _get(
        self, url: str, headers: dict[str, str], validators: Validators | None
    ) -> Fetched:
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(str(response.url), 304, b"", None, None, validators or Validators())
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"too large (over {self.max_bytes // (1024 * 1024)} MB)")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    # Stop reading at once: a hostile server may stream forever.
                    raise FetchError(f"too large (over {self.max_bytes // (1024 * 1024)} MB)")
                chunks.append(chunk)
            content_type = response.headers.get("Content-Type")
            return Fetched(
                url=str(response.url),
                status=response.status_code,
                body=b"".join(chunks),
                content_type=content_type.split(";")[0].strip().lower() if content_type else None,
                charset=response.charset_encoding,
                validators=Validators(
                    response.headers.get("ETag"), response.headers.get("Last-Modified")
                ),
            )


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."
