"""The requests of a page rendered in Chromium, made by Ajil under the fetch policy.

Chromium makes no request of its own for a rendered page (bot/news/render.py): Playwright's
route handler hands each one here. The page's document is answered with what the poll already
fetched; images, media, fonts, text tracks, manifests, event streams and subframe documents are
not fetched at all (the parsers read the main document, and a stream cannot be answered whole);
every other request is made through an httpx client over the guarded transport of polls
(bot/news/fetch.py, bot/news/netguard.py), so the address checked is the address connected to,
at every redirect hop, and a private address is reachable only on a configured source's origin.
One render may make MAX_REQUESTS requests and read MAX_RENDER_BYTES bytes in all, each response
at most the fetcher's MAX_BYTES; past that, requests are aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.news.fetch import MAX_BYTES, BoundedDecoder, FetchError, GuardedTransport
from bot.news.netguard import FetchPolicy, Refused

log = logging.getLogger(__name__)

MAX_REQUESTS = 300  # per render
MAX_RENDER_BYTES = 20 * 1024 * 1024  # all responses of one render, decoded

BLOCKED_TYPES = frozenset({"image", "media", "font", "texttrack", "manifest", "eventsource"})
_HOP_BY_HOP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
    }
)
_NOT_PASSED_BACK = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)


@dataclass
class PageBudget:
    """One render's page: its document, its deadline (time.monotonic) and what it has spent."""

    url: str
    body: bytes
    content_type: str
    deadline: float
    requests: int = 0
    blocked: int = 0
    bytes: int = 0
    in_flight: int = 0
    last_network: float = field(default_factory=time.monotonic)
    refused: list[str] = field(default_factory=list)
    served_document: bool = False
    crashed: bool = False


class PageRequests:
    """Answers the requests of rendered pages; one per Renderer (it holds the client)."""

    def __init__(
        self, policy: FetchPolicy, *, timeout: float, max_bytes: int = MAX_RENDER_BYTES
    ) -> None:
        """`policy`: what may be fetched (as for polls); `timeout`: seconds, at most, for one
        request (a render's deadline cuts it shorter); `max_bytes`: per render."""
        self.policy = policy
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            follow_redirects=True,  # every hop's connection goes through the guarded transport
            max_redirects=5,
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=GuardedTransport(policy),
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def answer(self, route: Any, budget: PageBudget) -> None:
        """Answer one request of the page: its document from what was fetched, the rest through
        the guarded client, or not at all."""
        from playwright.async_api import Error as PlaywrightError

        request = route.request
        try:
            if request.resource_type in BLOCKED_TYPES or (
                request.resource_type == "document" and request.frame.parent_frame is not None
            ):
                budget.blocked += 1
                await route.abort("blockedbyclient")
                return
            if (
                not budget.served_document
                and request.is_navigation_request()
                and request.frame.parent_frame is None
            ):
                # The document itself, as the poll fetched it: not asked for twice.
                budget.served_document = True
                await route.fulfill(
                    status=200, headers={"content-type": budget.content_type}, body=budget.body
                )
                return
            if budget.requests >= MAX_REQUESTS or budget.bytes >= self.max_bytes:
                budget.blocked += 1
                await route.abort("blockedbyclient")
                return
            budget.requests += 1
            budget.in_flight += 1
            try:
                answer = await self._forward(request, budget)
            finally:
                budget.in_flight -= 1
                budget.last_network = time.monotonic()
            if answer is None:
                await route.abort("failed")
            elif isinstance(answer, str):
                await route.abort(answer)
            else:
                status, headers, body = answer
                await route.fulfill(status=status, headers=headers, body=body)
        except PlaywrightError:
            pass  # the page or context closed meanwhile: nobody is waiting for the answer
        except Exception:
            # A request left unanswered would hold the page until the time limit.
            log.exception("%s: cannot answer the page's request for %s", budget.url, request.url)
            with contextlib.suppress(Exception):
                await route.abort("failed")

    async def _forward(
        self, request: Any, budget: PageBudget
    ) -> tuple[int, dict[str, str], bytes] | str | None:
        """The page's request made through the guarded client: (status, headers, body), or an
        abort reason ("blockedbyclient" when refused), or None when it failed."""
        try:
            self.policy.check_url(request.url)
        except Refused:
            budget.refused.append(request.url)
            return "blockedbyclient"
        headers = {
            k: v for k, v in (await request.all_headers()).items() if k.lower() not in _HOP_BY_HOP
        }
        headers["accept-encoding"] = "gzip, deflate"
        outgoing = self._client.build_request(
            request.method, request.url, headers=headers, content=request.post_data_buffer
        )
        remaining = budget.deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            async with asyncio.timeout(remaining):
                response = await self._client.send(outgoing, stream=True)
                try:
                    limit = min(MAX_BYTES, self.max_bytes - budget.bytes)
                    decoder = BoundedDecoder(response.headers.get("Content-Encoding"), limit)
                    chunks: list[bytes] = []
                    async for raw in response.aiter_raw():
                        for chunk in decoder.feed(raw):
                            budget.bytes += len(chunk)
                            chunks.append(chunk)
                    chunks.extend(decoder.flush())
                finally:
                    await response.aclose()
        except Refused:
            budget.refused.append(request.url)
            return "blockedbyclient"
        except (httpx.HTTPError, FetchError, TimeoutError) as exc:
            log.debug("%s: %s failed: %s", budget.url, request.url, _short(exc))
            return None
        passed: dict[str, str] = {}
        for key, value in response.headers.multi_items():
            key = key.lower()
            if key in _NOT_PASSED_BACK:
                continue
            # Playwright takes several Set-Cookie values on separate lines of one header.
            passed[key] = f"{passed[key]}\n{value}" if key in passed else value
        return response.status_code, passed, b"".join(chunks)


def _short(exc: Exception) -> str:
    text = (str(exc) or type(exc).__name__).splitlines()[0]
    return text if len(text) <= 100 else text[:97] + "..."
