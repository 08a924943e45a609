"""Fetching pages and feeds: the one seam between news processing and the network.

`Fetcher` is the protocol sources use; `HttpFetcher` is the real one (one shared httpx client,
at most two requests at a time per host, a 5 s connect and 20 s total timeout, a 5 MB cap on
the decoded body, conditional GET, at most 5 redirects). Every request, and every redirect hop,
goes through the fetch policy of bot/news/netguard.py. Every failure is a `FetchError` with a
short reason fit for /sources and the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import defaultdict
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from bot import __version__
from bot.news.netguard import FetchPolicy, GuardedBackend, Refused

USER_AGENT = f"Ajil/{__version__} (breaking-news bot for Telegram)"
MAX_BYTES = 5 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 20.0
MAX_REDIRECTS = 5
PER_HOST = 2
# Fetches made for a user (/summary) run in slots of their own, never in the polls': a user's
# slow links cannot delay a source's next breaking story.
ON_DEMAND = 4
ON_DEMAND_PER_HOST = 1


class FetchError(Exception):
    """A fetch that failed; `reason` is short and safe to show to an operator. `refused`: the
    fetch policy would not let it be made (nothing was asked of that address)."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


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
    async def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        confined: bool = False,
        on_demand: bool = False,
    ) -> Fetched:
        """GET `url`. `confined`: the URL came from a user, so it and every redirect hop must
        lie on a configured source's origin. `on_demand`: fetched for a user rather than for
        a poll (separate, smaller slots). Raises FetchError."""
        ...


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connects go through the fetch policy."""

    def __init__(self, policy: FetchPolicy) -> None:
        super().__init__(trust_env=False)
        # httpx has no public way to give its pool a network backend; the pool is built the
        # way httpx 0.28 builds it, with ours. (Pinned below 0.29 in pyproject.toml.)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(policy),
        )


class HttpFetcher:
    """The network fetcher. Use one per process: it holds the connection pool and host limits."""

    def __init__(
        self,
        *,
        max_bytes: int = MAX_BYTES,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        per_host: int = PER_HOST,
        policy: FetchPolicy | None = None,
    ) -> None:
        """`policy`: which origins are trusted on private addresses (the configured sources);
        the default trusts none, so only public addresses are reachable."""
        self.policy = policy or FetchPolicy()
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self._per_host = per_host
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._per_host)
        )
        self._on_demand = asyncio.Semaphore(ON_DEMAND)
        self._on_demand_hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(ON_DEMAND_PER_HOST)
        )
        self._client = httpx.AsyncClient(
            # Redirects are followed by hand, so that each hop is checked before it is asked.
            follow_redirects=False,
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            transport=GuardedTransport(self.policy),
            trust_env=False,  # an HTTP_PROXY in the environment would bypass the policy
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        confined: bool = False,
        on_demand: bool = False,
    ) -> Fetched:
        """GET `url` (see `Fetcher.fetch`); raises FetchError with a short reason."""
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError as exc:  # "http://[::1": an unclosed or invalid IPv6 address
            raise FetchError(f"not a valid URL ({exc})", refused=True) from None
        if on_demand:
            async with self._on_demand, self._on_demand_hosts[host]:
                return await self._fetch(url, validators, confined, contextlib.nullcontext())
        return await self._fetch(url, validators, confined, self._hosts[host])

    async def _fetch(
        self,
        url: str,
        validators: Validators | None,
        confined: bool,
        slot: AbstractAsyncContextManager[Any],
    ) -> Fetched:
        try:
            self._check(url, confined)
        except Refused as exc:
            raise FetchError(exc.reason, refused=True) from None
        headers = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        async with slot:
            try:
                async with asyncio.timeout(self.total_timeout):
                    return await self._get(url, headers, validators, confined)
            except Refused as exc:
                raise FetchError(exc.reason, refused=True) from None
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
            except (httpx.InvalidURL, httpx.UnsupportedProtocol):
                raise FetchError("invalid URL") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"HTTP error ({_short(exc)})") from None

    def _check(self, url: str, confined: bool) -> None:
        self.policy.check_url(url)
        if confined and not self.policy.is_source_origin(url):
            raise Refused("refused: not a page of a configured source")

    async def _get(
        self, url: str, headers: dict[str, str], validators: Validators | None, confined: bool
    ) -> Fetched:
        request = self._client.build_request("GET", url, headers=headers)
        for hop in range(MAX_REDIRECTS + 1):
            try:
                response = await self._client.send(request, stream=True)
            except Refused as exc:
                if hop == 0:
                    raise
                # Refused at connection (a private address): name the hop, not only its host.
                raise _refused_redirect(str(request.url), exc) from None
            try:
                if not response.has_redirect_location:
                    return await self._read(response, validators)
                target = response.next_request
                if target is None:
                    raise FetchError("a redirect without a usable Location")
                # As the server wrote it: httpx fills a host into "file:///etc/passwd".
                location = response.headers.get("location") or str(target.url)
            finally:
                await response.aclose()
            try:
                self._check(str(target.url), confined)
            except Refused as exc:
                raise _refused_redirect(location, exc) from None
            request = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: httpx.Response, validators: Validators | None) -> Fetched:
        if response.status_code == 304:
            return Fetched(str(response.url), 304, b"", None, None, validators or Validators())
        if response.status_code >= 400:
            raise FetchError(f"HTTP {response.status_code}")
        too_large = FetchError(f"too large (over {self.max_bytes // (1024 * 1024)} MB)")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large
        decoder = BoundedDecoder(response.headers.get("Content-Encoding"), self.max_bytes)
        chunks: list[bytes] = []
        size = 0
        # Raw bytes, decoded here: httpx would inflate a whole compressed chunk at once,
        # and a few kilobytes of gzip can hold gigabytes.
        async for raw in response.aiter_raw():
            for chunk in decoder.feed(raw):
                size += len(chunk)
                if size > self.max_bytes:
                    # Stop reading at once: a hostile server may stream forever.
                    raise too_large
                chunks.append(chunk)
        chunks.extend(decoder.flush())
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


class BoundedDecoder:
    """Undoes one layer of Content-Encoding (RFC 9110 section 8.4) without ever producing more
    than `limit` bytes in all, however small the compressed input.

    `identity`, `gzip` (and `x-gzip`) and `deflate` (zlib-wrapped or raw, as servers send both)
    are read; stacked encodings ("gzip, gzip") and any other coding raise FetchError: Ajil asks
    for gzip or deflate only, and a second layer exists only to get past size checks."""

    def __init__(self, header: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise FetchError(f"refused: stacked content encodings ({', '.join(codings)})")
        self.coding = codings[0] if codings else None
        if self.coding not in (None, "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported content encoding {self.coding!r}")
        self.limit = limit
        self._produced = 0
        self._inflate: zlib._Decompress | None = None
        self._first = True

    def feed(self, data: bytes) -> list[bytes]:
        """Decoded bytes for `data`; raises FetchError past the limit or on corrupt data."""
        if self.coding is None:
            return [data] if data else []
        if self._inflate is None:
            self._inflate = self._start(data)
        out: list[bytes] = []
        try:
            while data:
                chunk = self._inflate.decompress(data, self.limit - self._produced + 1)
                self._produced += len(chunk)
                if self._produced > self.limit:
                    raise FetchError(f"too large (over {self.limit // (1024 * 1024)} MB)")
                if chunk:
                    out.append(chunk)
                if self._inflate.eof:
                    # Concatenated gzip members are one body (RFC 1952 section 2.2).
                    data = self._inflate.unused_data
                    self._inflate = self._start(data) if data else self._inflate
                else:
                    data = self._inflate.unconsumed_tail
        except zlib.error:
            raise FetchError("the response could not be decompressed") from None
        return out

    def flush(self) -> list[bytes]:
        if self._inflate is None:
            return []
        try:
            rest = self._inflate.flush()
        except zlib.error:
            raise FetchError("the response could not be decompressed") from None
        self._produced += len(rest)
        if self._produced > self.limit:
            raise FetchError(f"too large (over {self.limit // (1024 * 1024)} MB)")
        return [rest] if rest else []

    def _start(self, head: bytes) -> zlib._Decompress:
        if self.coding == "deflate" and head[:1] and (head[0] & 0x0F) != 8:
            return zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
        return zlib.decompressobj(zlib.MAX_WBITS | (16 if self.coding != "deflate" else 0))


def _refused_redirect(target: str, exc: Refused) -> FetchError:
    """A redirect refused by the policy, naming where it led: "refused: redirected to
    file:///etc/passwd (not a web address (file scheme))". The target is cut at 200
    characters."""
    shown = target if len(target) <= 200 else target[:197] + "..."
    why = exc.reason.removeprefix("refused: ")
    return FetchError(f"refused: redirected to {shown} ({why})", refused=True)


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."
