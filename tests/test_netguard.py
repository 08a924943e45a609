"""The fetch policy and the bounded fetcher, against servers on 127.0.0.1 that play hostile.

A canary server records every request it gets: whatever a hostile link, redirect or URL tries,
it must see none.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.news.fetch import FetchError, HttpFetcher
from bot.news.netguard import FetchPolicy, Origin, is_public, origin_of
from tests.hostile import BODY, Server, serve


@pytest.fixture
async def source() -> AsyncIterator[Server]:
    async with serve() as server:
        yield server


@pytest.fixture
async def canary() -> AsyncIterator[Server]:
    async with serve() as server:
        yield server


@pytest.fixture
async def fetcher(source: Server) -> AsyncIterator[HttpFetcher]:
    async with HttpFetcher(policy=FetchPolicy([source.url + "/"]), total_timeout=5) as http:
        yield http


# -- the rules, as pure functions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Example.MA/x", Origin("http", "example.ma", 80)),
        ("https://example.ma.:443/", Origin("https", "example.ma", 443)),
        ("https://user:pw@example.ma/", Origin("https", "example.ma", 443)),
        ("http://مثال.المغرب/", Origin("http", "xn--mgbh0fb.xn--mgbc0a9azcg", 80)),
        ("HTTP://[::1]:8080/", Origin("http", "::1", 8080)),
        ("http://127.0.0.1:8080", Origin("http", "127.0.0.1", 8080)),
    ],
)
def test_origins_compare_after_normalisation(url: str, origin: Origin) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "javascript:alert(1)", "ftp://x.ma/", "http://", "//x.ma/"]
)
def test_only_web_urls_have_an_origin(url: str) -> None:
    with pytest.raises(ValueError):
        origin_of(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
    ],
)
def test_inner_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "196.200.131.1", "2001:4860:4860::8888"])
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address)


def test_a_source_is_trusted_on_its_exact_origin_only() -> None:
    policy = FetchPolicy(["http://localhost:8080/feed/"])
    assert policy.is_source_origin("http://LOCALHOST:8080/article/1")
    assert policy.is_source_origin("http://localhost.:8080/")
    assert policy.is_source_origin("http://user@localhost:8080/")
    assert not policy.is_source_origin("http://localhost:8081/")
    assert not policy.is_source_origin("https://localhost:8080/")
    assert not policy.is_source_origin("http://127.0.0.1:8080/")
    assert policy.allows("localhost", 8080, "127.0.0.1")
    assert not policy.allows("localhost", 8081, "127.0.0.1")
    # A public news site's parent domain is not the site.
    public = FetchPolicy(["https://www.hespress.com/"])
    assert not public.is_source_origin("http://com/")
    assert not public.is_source_origin("https://hespress.com.evil.example/")


# -- the fetcher, over real sockets ----------------------------------------------------------


async def test_the_sources_own_origin_is_fetched(source: Server, fetcher: HttpFetcher) -> None:
    fetched = await fetcher.fetch(f"{source.url}/page")
    assert fetched.body == BODY


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/secret",
        "http://LOCALHOST:{port}/secret",
        "http://localhost.:{port}/secret",
        "http://2130706433:{port}/secret",
        "http://0x7f000001:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://{source_host}@127.0.0.1:{port}/secret",
    ],
)
async def test_other_inner_services_are_never_reached(
    source: Server, canary: Server, fetcher: HttpFetcher, template: str
) -> None:
    url = template.format(port=canary.port, source_host=f"127.0.0.1:{source.port}")
    with pytest.raises(FetchError, match=r"refused|cannot resolve"):
        await fetcher.fetch(url)
    assert canary.requests == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/secret",
        "file:///etc/hostname",
    ],
)
async def test_redirects_are_held_to_the_policy(
    source: Server, canary: Server, fetcher: HttpFetcher, target: str
) -> None:
    hop = target.format(port=canary.port)
    with pytest.raises(FetchError) as refused:
        await fetcher.fetch(f"{source.url}/redirect?to={hop}")
    # The refusal names the hop it refused, whether by its scheme or by its address.
    assert refused.value.reason.startswith(f"refused: redirected to {hop} ("), refused.value
    assert canary.requests == []


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1/feed", "http://[not-an-address]/"])
async def test_a_malformed_url_is_a_fetch_error_not_a_crash(fetcher: HttpFetcher, url: str) -> None:
    # `ajil article http://[::1` ended in a ValueError traceback; `ajil probe` in "unexpected
    # error while reading the source".
    with pytest.raises(FetchError, match="not a valid URL"):
        await fetcher.fetch(url)
    with pytest.raises(FetchError, match="not a valid URL"):
        await fetcher.fetch(url, on_demand=True)


async def test_a_redirect_to_a_malformed_url_is_a_fetch_error(
    source: Server, fetcher: HttpFetcher
) -> None:
    with pytest.raises(FetchError):
        await fetcher.fetch(f"{source.url}/redirect?to=http://[::1")


async def test_a_users_url_stays_on_the_sources_origins(
    source: Server, canary: Server, fetcher: HttpFetcher
) -> None:
    assert (await fetcher.fetch(f"{source.url}/page", confined=True)).body == BODY
    inside = f"{source.url}/redirect?to={source.url}/page"
    assert (await fetcher.fetch(inside, confined=True)).body == BODY
    with pytest.raises(FetchError, match="not a page of a configured source"):
        await fetcher.fetch(f"{canary.url}/page", confined=True)
    with pytest.raises(FetchError) as refused:
        await fetcher.fetch(f"{source.url}/redirect?to={canary.url}/page", confined=True)
    assert refused.value.reason == (
        f"refused: redirected to {canary.url}/page (not a page of a configured source)"
    )
    assert canary.requests == []


async def test_one_layer_of_compression_is_read(source: Server, fetcher: HttpFetcher) -> None:
    fetched = await fetcher.fetch(f"{source.url}/encoded?layers=gzip&mb=1")
    assert fetched.body == b"\0" * (1024 * 1024)
    fetched = await fetcher.fetch(f"{source.url}/encoded?layers=deflate&mb=1")
    assert len(fetched.body) == 1024 * 1024
    assert (await fetcher.fetch(f"{source.url}/raw-deflate")).body == BODY


async def test_stacked_encodings_are_refused(source: Server, fetcher: HttpFetcher) -> None:
    with pytest.raises(FetchError, match="stacked content encodings"):
        await fetcher.fetch(f"{source.url}/encoded?layers=gzip,gzip&mb=64")


async def test_a_compression_bomb_stops_at_the_cap(source: Server) -> None:
    small = HttpFetcher(policy=FetchPolicy([source.url]), max_bytes=2 * 1024 * 1024)
    async with small:
        with pytest.raises(FetchError, match="too large"):
            # 256 MB of zeros in about 250 KB of gzip: stopped after 2 MB of output.
            await small.fetch(f"{source.url}/encoded?layers=gzip&mb=256")


async def test_fetches_for_users_never_take_the_polls_slots(
    source: Server, fetcher: HttpFetcher
) -> None:
    held = f"{source.url}/held"  # answers only when the test releases it
    users = [asyncio.create_task(fetcher.fetch(held, on_demand=True)) for _ in range(4)]
    await asyncio.sleep(0.1)
    poll = await fetcher.fetch(f"{source.url}/page")  # not queued behind the users' links
    assert poll.body == BODY
    assert not any(task.done() for task in users)
    # One user fetch per host at a time: the server has seen only the first so far.
    assert source.requests.count("/held") == 1
    source.release.set()
    await asyncio.gather(*users)
    assert source.requests.count("/held") == 4
