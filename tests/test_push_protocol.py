"""The Pusher protocol as Ajil speaks it: pings and pongs, error codes, the reconnect backoff
(with an injected clock and random draw: nothing here waits for real time), and reading what
a site pushes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.news.models import ParseError
from bot.news.push_client import MAX_FRAME_BYTES, Outcome, PushClient, PushSettings
from bot.news.push_protocol import (
    ACTIVITY_TIMEOUT,
    HANDSHAKE_TIMEOUT,
    PONG_TIMEOUT,
    ProtocolError,
    Session,
    close_action,
    decode,
    reconnect_delay,
    socket_url,
)
from bot.news.pushed import message_of, on_site, pushed_items
from bot.sandbox.pusher import PushServer

SITE = "https://kifache.example/"


def frame(event: str, data: Any = None, channel: str | None = None) -> str:
    body: dict[str, Any] = {"event": event, "data": data if data is not None else {}}
    if channel:
        body["channel"] = channel
    return json.dumps(body)


def established(timeout: int = 120) -> str:
    return frame(
        "pusher:connection_established",
        json.dumps({"socket_id": "123.456", "activity_timeout": timeout}),
    )


def subscribed_session(now: float = 0.0, timeout: int = 120) -> Session:
    session = Session("news-channel", "news-push-event", started=now)
    session.receive(established(timeout), now)
    session.receive(frame("pusher_internal:subscription_succeeded", "{}", "news-channel"), now)
    return session


def sent_events(frames: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [(json.loads(f)["event"], json.loads(f)["data"]) for f in frames]


# -- the URL --------------------------------------------------------------------------------


def test_the_url_of_a_cluster_and_of_another_server() -> None:
    assert socket_url("abc123", cluster="eu").startswith(
        "wss://ws-eu.pusher.com/app/abc123?protocol=7&client=ajil&version="
    )
    assert socket_url("abc123", ws_url="ws://127.0.0.1:6001/").startswith(
        "ws://127.0.0.1:6001/app/abc123?protocol=7&"
    )
    with pytest.raises(ValueError):
        socket_url("abc123")


# -- the handshake, pings and pongs ------------------------------------------------------------


def test_connection_established_is_answered_by_a_subscription_to_the_channel() -> None:
    session = Session("news-channel", "news-push-event", started=0.0)
    reaction = session.receive(established(), 0.1)
    assert sent_events(reaction.send) == [("pusher:subscribe", {"channel": "news-channel"})]
    assert session.socket_id == "123.456" and not session.subscribed
    reaction = session.receive(
        frame("pusher_internal:subscription_succeeded", "{}", "news-channel"), 0.2
    )
    assert reaction.subscribed and session.subscribed


def test_a_ping_from_the_server_is_answered_by_a_pong() -> None:
    session = subscribed_session()
    reaction = session.receive(frame("pusher:ping"), 5.0)
    assert sent_events(reaction.send) == [("pusher:pong", {})]
    assert reaction.close is None and not reaction.is_push


def test_after_the_activity_timeout_of_silence_the_client_pings_then_gives_up_without_a_pong() -> (
    None
):
    session = subscribed_session(now=0.0, timeout=50)
    assert session.activity_timeout == 50  # the server's, being smaller than the client's
    assert session.due(49.9).send == ()
    assert session.deadline() == 50
    ping = session.due(50.0)
    assert sent_events(ping.send) == [("pusher:ping", {})]
    assert session.due(50.0 + PONG_TIMEOUT - 0.1) == type(ping)()  # still waiting
    gone = session.due(50.0 + PONG_TIMEOUT)
    assert gone.close is not None and gone.close[0] == "backoff"
    assert "pong" in gone.close[1]


def test_a_pong_or_any_message_keeps_the_connection() -> None:
    session = subscribed_session(now=0.0)
    session.due(ACTIVITY_TIMEOUT)
    session.receive(frame("pusher:pong"), ACTIVITY_TIMEOUT + 1)
    assert session.ping_sent is None
    assert session.deadline() == ACTIVITY_TIMEOUT * 2 + 1
    assert session.due(ACTIVITY_TIMEOUT + PONG_TIMEOUT + 1).close is None


def test_a_server_activity_timeout_longer_than_the_clients_is_capped() -> None:
    session = subscribed_session(timeout=600)
    assert session.activity_timeout == ACTIVITY_TIMEOUT


def test_no_handshake_in_time_drops_the_connection() -> None:
    session = Session("c", "e", started=10.0)
    assert session.deadline() == 10.0 + HANDSHAKE_TIMEOUT
    reaction = session.due(10.0 + HANDSHAKE_TIMEOUT)
    assert reaction.close == (
        "backoff",
        f"no connection_established within {HANDSHAKE_TIMEOUT:.0f} s",
    )


def test_only_the_configured_event_on_the_configured_channel_is_a_push() -> None:
    session = subscribed_session()
    data = json.dumps({"message": "<a href='/1'>x</a>"})
    assert session.receive(frame("news-push-event", data, "news-channel"), 1).pushed == data
    assert not session.receive(frame("other-event", data, "news-channel"), 1).is_push
    assert not session.receive(frame("news-push-event", data, "other-channel"), 1).is_push


def test_a_frame_that_is_not_the_envelope_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode("not json")
    with pytest.raises(ProtocolError):
        decode('{"data": {}}')


# -- errors and close codes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (4000, "stop"),
        (4001, "stop"),
        (4099, "stop"),
        (4100, "backoff"),
        (4199, "backoff"),
        (4200, "now"),
        (4201, "now"),
        (4299, "now"),
        (1006, "backoff"),
        (None, "backoff"),
    ],
)
def test_close_codes_follow_the_protocols_ranges(code: int | None, action: str) -> None:
    assert close_action(code) == action


def test_pusher_error_events_drop_the_connection_as_their_code_says() -> None:
    for code, action in ((4001, "stop"), (4100, "backoff"), (4200, "now")):
        session = subscribed_session()
        reaction = session.receive(frame("pusher:error", {"code": code, "message": "why"}), 1.0)
        assert reaction.close == (action, f"{code} why")
    # Outside 4000-4299 (or uncoded): said, and the connection stays.
    session = subscribed_session()
    assert session.receive(frame("pusher:error", {"code": 4301, "message": "x"}), 1).close is None
    assert session.receive(frame("pusher:error", {"code": None, "message": "y"}), 1).close is None
    assert session.errors == ["4301 x", "error y"]


# -- the backoff -----------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_in_its_upper_half_from_one_second_up_to_a_minute() -> None:
    low, high = (lambda: 0.0), (lambda: 0.999999)
    assert reconnect_delay(1, low) == reconnect_delay(1, high) == 1.0
    assert reconnect_delay(3, low) == 2.0
    assert 3.99 < reconnect_delay(3, high) < 4.0
    assert reconnect_delay(4, low) == 4.0
    assert reconnect_delay(30, low) == 30.0
    assert 59.9 < reconnect_delay(30, high) <= 60.0


def test_the_client_comes_back_at_once_only_from_a_live_connection_asked_to() -> None:
    client = PushClient(PushSettings("s", "ws://x", "c", "e"), _noop, _noop, rand=lambda: 0.0)
    assert client.next_delay(Outcome("now", "4200", subscribed=True)) == 0.0
    # Refused at once again before subscribing: that is a failure, and backs off.
    assert client.next_delay(Outcome("now", "4200", subscribed=False)) == 1.0
    assert client.next_delay(Outcome("backoff", "lost", subscribed=False)) == 1.0
    assert client.next_delay(Outcome("backoff", "lost", subscribed=False)) == 2.0
    assert client.failures == 3


async def _noop(*_: Any) -> None:
    return None


async def until(condition: Any, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_push_service_that_is_down_is_retried_with_growing_delays_then_rejoined() -> None:
    server = PushServer()
    await server.start()
    server.down = True
    slept: list[float] = []
    subscriptions: list[int] = []
    problems: list[str | None] = []

    async def sleep(seconds: float) -> None:
        # No real waiting: the delays are recorded, and the service comes back after four.
        slept.append(seconds)
        problems.append(client.problem())
        if len(slept) == 4:
            server.down = False

    async def on_subscribed(connection: int) -> None:
        subscriptions.append(connection)

    client = PushClient(
        PushSettings("s", socket_url(server.key, ws_url=server.url), "c", "e"),
        _noop,
        on_subscribed,
        rand=lambda: 0.999999,
        sleep=sleep,
    )
    import asyncio

    task = asyncio.create_task(client.run())
    try:
        await until(lambda: subscriptions == [1])
        assert [round(s, 2) for s in slept] == [1.0, 2.0, 4.0, 8.0]
        assert subscriptions == [1] and client.failures == 4 and client.connected
        assert "HTTP 503" in (client.last_error or "")
        # Said as the source's warning from the third failure in a row; not once it is back.
        assert problems[:2] == [None, None]
        assert (
            problems[2]
            == "push channel down (HTTP 503 instead of a websocket), the site still polled"
        )
        assert client.problem() is None
        # Dropped with "come back at once" from a live connection: no wait at all.
        await server.disconnect(4200)
        await until(lambda: subscriptions == [1, 2])
        assert slept[-1] == 0.0
        # A wrong key is refused for good: the client stops.
        await server.disconnect(4001, "App key does not exist")
        outcome = await asyncio.wait_for(task, 30)
        assert outcome.action == "stop" and "4001" in outcome.reason
        assert client.problem() == (
            "push channel refused (4001 App key does not exist): check key, cluster or ws_url"
        )
    finally:
        task.cancel()
        await server.stop()


async def test_a_frame_over_the_size_cap_is_named_as_the_reason_the_channel_dropped() -> None:
    server = PushServer()
    await server.start()
    slept: list[float] = []
    subscriptions: list[int] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def on_subscribed(connection: int) -> None:
        subscriptions.append(connection)

    client = PushClient(
        PushSettings("s", socket_url(server.key, ws_url=server.url), "c", "e"),
        _noop,
        on_subscribed,
        sleep=sleep,
    )
    task = asyncio.create_task(client.run())
    try:
        await until(lambda: subscriptions == [1])
        server.trigger("c", "e", {"message": "ا" * (MAX_FRAME_BYTES // 2 + 1)})
        await until(lambda: len(subscriptions) == 2)
        # Not "connection error (unknown)": what the server sent that ended the connection.
        assert f"exceeds limit {MAX_FRAME_BYTES}" in (client.last_error or ""), client.last_error
    finally:
        task.cancel()
        await server.stop()


# -- reading what is pushed --------------------------------------------------------------------


def test_a_pushed_fragment_gives_its_links_title_and_url_resolved_against_the_homepage() -> None:
    (item,) = pushed_items(
        '<p><a href="/331601" target="_blank">عاجل.. انقطاع التيار الكهربائي عن أحياء '
        "واسعة بالمدينة</a></p>",
        "kifache",
        SITE,
    )
    assert item.title == "انقطاع التيار الكهربائي عن أحياء واسعة بالمدينة"
    assert item.url == "https://kifache.example/331601"
    assert item.urgent and item.from_ticker and item.published is None
    assert item.uid == "url:kifache.example/331601"


def test_a_pushed_text_without_a_link_gets_the_sites_url_and_an_id_from_its_text() -> None:
    (short,) = pushed_items("زلزال بقوة 5 درجات", "kifache", SITE)
    assert short.url == SITE and short.title == "زلزال بقوة 5 درجات"
    (again,) = pushed_items("<span> زلزال  بقوة 5 درجات </span>", "kifache", SITE)
    assert again.uid == short.uid  # the same text, however it is wrapped: the same item
    (dead,) = pushed_items(
        '<a href="javascript:void(0)">حريق في سوق الخضر بالمدينة القديمة</a>', "kifache", SITE
    )
    assert dead.url == SITE and dead.uid.startswith("title:kifache:")


def test_a_pushed_link_off_the_site_is_never_the_alerts_link() -> None:
    # A message pushed on the site's channel may link anywhere (a hijacked channel, a share
    # link, an ad): the alert keeps the headline and opens the source's own site instead.
    for off in (
        "https://phish.example/kifache/331601",
        "https://kifache.example.phish.example/331601",
        "http://example/331601",  # a parent of the source's host is not its site
        "//evil.example/331601",
    ):
        (item,) = pushed_items(f'<a href="{off}">حريق في سوق الخضر بالمدينة القديمة</a>', "k", SITE)
        assert item.url == SITE, off
        assert item.uid == "title:k:حريق في سوق الخضر بالمدينه القديمه"
    for on in ("https://www.kifache.example/9", "https://m.kifache.example/9", "/9"):
        (item,) = pushed_items(f'<a href="{on}">حريق في سوق الخضر بالمدينة القديمة</a>', "k", SITE)
        assert item.url != SITE and item.url.endswith("/9"), on
    assert on_site("https://kifache.example/1", "https://www.kifache.example/")
    assert not on_site("https://[::1/1", SITE)


def test_scripts_and_styles_in_a_pushed_fragment_are_not_its_text() -> None:
    (text,) = pushed_items(
        "<style>.x{color:red}</style>انهيار عمارة قديمة<script>alert(1)</script>", "k", SITE
    )
    assert text.title == "انهيار عمارة قديمة"
    (link,) = pushed_items(
        '<a href="/9"><noscript>نص مخفي</noscript>حريق في سوق الخضر بالمدينة القديمة'
        "<template>قالب</template></a>",
        "k",
        SITE,
    )
    assert link.title == "حريق في سوق الخضر بالمدينة القديمة"
    assert pushed_items("<script>alert('عاجل: خبر')</script>", "k", SITE) == []


def test_a_pushed_label_or_nothing_is_no_item() -> None:
    assert pushed_items("<span>عاجل</span>", "k", SITE) == []
    assert pushed_items("  ", "k", SITE) == []
    with pytest.raises(ParseError):
        pushed_items("x" * 70_000, "k", SITE)


def test_the_message_is_found_where_message_field_says() -> None:
    assert message_of(json.dumps({"message": "<a>x</a>"}), "message") == "<a>x</a>"
    assert message_of({"payload": {"html": "y"}}, "payload.html") == "y"
    assert message_of('"just a string"', "message") == "just a string"
    assert message_of("not json at all", "message") == "not json at all"
    with pytest.raises(ParseError, match=r"no 'message' in the pushed data \(its keys: body, id\)"):
        message_of(json.dumps({"id": 1, "body": "x"}), "message")
    with pytest.raises(ParseError, match="is int, not text"):
        message_of({"message": 5}, "message")
