"""`kind = "pusher"` sources in the configuration: what they need, and the errors an operator
sees for what is missing or wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, from_mapping

BASE = {"name": "kifache", "url": "https://kifache.example/"}
PUSHER = {
    **BASE,
    "kind": "pusher",
    "key": "0123abcd",
    "cluster": "eu",
    "channel": "kifache-channel",
    "event": "kifache-push-event",
}


def errors(source: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        from_mapping({"sources": [source]}, Path("config.toml"), {})
    return caught.value.lines


def test_a_pusher_source_on_a_cluster_or_another_server() -> None:
    config = from_mapping({"sources": [PUSHER]}, Path("config.toml"), {})
    source = config.sources[0]
    assert (source.kind, source.cluster, source.ws_url, source.message_field) == (
        "pusher",
        "eu",
        None,
        "message",
    )
    other = {**PUSHER, "cluster": None, "ws_url": "wss://ws.example.com:6001/"}
    del other["cluster"]
    assert from_mapping({"sources": [other]}, Path("c"), {}).sources[0].ws_url == (
        "wss://ws.example.com:6001"
    )


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"event": None},
            'config.toml: sources[0]: kind = "pusher" needs event '
            "(`ajil probe URL` finds it in the site's script)",
        ),
        (
            {"ws_url": "ws://127.0.0.1:6001"},
            'config.toml: sources[0]: kind = "pusher" needs exactly one of cluster',
        ),
        (
            {"cluster": None, "ws_url": "ws://127.0.0.1:6001/app/0123abcd"},
            "config.toml: sources[0].ws_url: expected the server only (scheme, host, port)",
        ),
        (
            {"cluster": None, "ws_url": "https://ws.example.com"},
            "config.toml: sources[0].ws_url: expected ws:// or wss:// and a host",
        ),
        (
            {"channel": "private-news"},
            "config.toml: sources[0].channel: private and presence channels need the site's",
        ),
        ({"cluster": "EU west"}, "config.toml: sources[0].cluster: expected a Pusher cluster"),
        ({"key": "a key"}, "config.toml: sources[0].key: expected the app key"),
        ({"kind": "rss"}, "config.toml: sources[0]: key, cluster, channel, event: only for kind"),
        # The protocol's own events never reach a binding: a source bound to one hears nothing.
        (
            {"event": "pusher:subscribe"},
            "config.toml: sources[0].event: pusher: and pusher_internal: events are the "
            "protocol's own",
        ),
        (
            {"event": "pusher_internal:subscription_succeeded"},
            "config.toml: sources[0].event: pusher: and pusher_internal: events",
        ),
        (
            {"message_field": "payload..html"},
            "config.toml: sources[0].message_field: expected a dotted path of keys",
        ),
    ],
)
def test_each_mistake_is_named(change: dict[str, Any], line: str) -> None:
    source = {k: v for k, v in {**PUSHER, **change}.items() if v is not None}
    (found,) = errors(source)
    assert found.startswith(line), found


def test_message_field_is_only_for_a_pusher_source() -> None:
    (found,) = errors({**BASE, "message_field": "html"})
    assert found == 'config.toml: sources[0]: message_field: only for kind = "pusher"'
