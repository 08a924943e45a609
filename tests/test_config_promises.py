"""Configuration validation at its edges: every bound, every format, every error line exactly.

tests/test_config.py shows the operator's view (exit 2, the key named); these pin each rule at
its edge, where mutation testing found the suite blind (docs/TESTING.md): a bound moved by one,
a format check loosened, an error line that loses its key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import config as config_module
from bot.config import Config, ConfigError, from_mapping, load

HERE = Path("/srv/ajil/config.toml")
TOKEN = "123456789:" + "A" * 35
SOURCE = {"name": "site", "url": "https://site.ma/"}


def _ok(data: dict[str, Any], env: dict[str, str] | None = None) -> Config:
    return from_mapping(data, HERE, env or {})


def _lines(data: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        from_mapping(data, HERE, env or {})
    assert str(caught.value) == "\n".join(caught.value.lines)
    return caught.value.lines


def _source(**fields: Any) -> dict[str, Any]:
    return {"sources": [{**SOURCE, **fields}]}


# -- bounds: the last good value and the first bad one -----------------------------------------

BOUNDS = [
    # (section, key, lowest good, highest good, extra keys for the section)
    ("news", "freshness_hours", 1, 168, {}),
    ("news", "dedup_window_hours", 1, 168, {}),
    ("alerts", "messages_per_second", 1, 1000, {"paid_broadcast": True}),
    ("http", "port", 0, 65535, {}),
]


@pytest.mark.parametrize(("section", "key", "low", "high", "extra"), BOUNDS)
def test_each_bound_takes_its_edges_and_refuses_one_beyond(
    section: str, key: str, low: int, high: int, extra: dict[str, Any]
) -> None:
    for good in (low, high):
        config = _ok({section: {**extra, key: good}})
        assert getattr(getattr(config, section), key) == good
    assert _lines({section: {**extra, key: low - 1}}) == [
        f"{HERE}: {section}.{key}: must be at least {low}"
    ]
    assert _lines({section: {**extra, key: high + 1}}) == [
        f"{HERE}: {section}.{key}: must be at most {high}"
    ]


def test_the_webhook_port_and_the_source_interval() -> None:
    assert _ok({"telegram": {"webhook": {"port": 1}}}).telegram.webhook.port == 1
    assert _ok({"telegram": {"webhook": {"port": 65535}}}).telegram.webhook.port == 65535
    assert _lines({"telegram": {"webhook": {"port": 0}}}) == [
        f"{HERE}: telegram.webhook.port: must be at least 1"
    ]
    assert _lines({"telegram": {"webhook": {"port": 65536}}}) == [
        f"{HERE}: telegram.webhook.port: must be at most 65535"
    ]
    assert _ok(_source(interval=15)).sources[0].interval == config_module.MIN_INTERVAL == 15
    assert _ok(_source(interval=86_400)).sources[0].interval == 86_400
    assert _lines(_source(interval=14)) == [f"{HERE}: sources[0].interval: must be at least 15"]
    assert _lines(_source(interval=86_401)) == [
        f"{HERE}: sources[0].interval: must be at most 86400"
    ]


def test_the_defaults() -> None:
    config = _ok({})
    assert config.alerts.messages_per_second == 25
    assert not config.alerts.paid_broadcast
    assert (config.news.freshness_hours, config.news.dedup_window_hours) == (6, 24)
    assert (config.http.enabled, config.http.listen, config.http.port) == (True, "127.0.0.1", 9110)
    assert config.telegram.webhook.url is None and config.telegram.webhook.port == 8443
    assert config.telegram.webhook.listen == "127.0.0.1"
    assert config.telegram.api_url == config_module.TELEGRAM_API_URL
    assert config.telegram.admins == [] and config.sources == [] and config.channels == []
    assert config.logging.level == "INFO" and config.schedule.timezone == "Africa/Casablanca"
    assert config.schedule.zone.key == "Africa/Casablanca"
    source = _ok(_source()).sources[0]
    assert (source.kind, source.interval, source.title, source.timezone) == ("auto", 60, None, None)


def test_more_than_thirty_a_second_needs_paid_broadcast() -> None:
    assert _ok({"alerts": {"messages_per_second": 30}}).alerts.messages_per_second == 30
    (line,) = _lines({"alerts": {"messages_per_second": 31}})
    assert line == (
        f"{HERE}: alerts: messages_per_second above 30 needs paid_broadcast = true "
        "(Telegram allows about 30 a second for free)"
    )
    paid = _ok({"alerts": {"messages_per_second": 31, "paid_broadcast": True}})
    assert paid.alerts.paid_broadcast and paid.alerts.messages_per_second == 31


# -- formats --------------------------------------------------------------------------------


def test_urls_must_be_http_or_https_with_a_host() -> None:
    for good in ("http://127.0.0.1:8081/bot", "https://api.telegram.org/bot"):
        assert _ok({"telegram": {"api_url": good}}).telegram.api_url == good
    for bad in ("ftp://x/bot", "https:///bot", "api.telegram.org/bot"):
        assert _lines({"telegram": {"api_url": bad}}) == [
            f"{HERE}: telegram.api_url: expected an http:// or https:// URL"
        ], bad
    assert _lines(_source(url="file:///etc/passwd")) == [
        f"{HERE}: sources[0].url: expected an http:// or https:// URL"
    ]


def test_the_webhook_url_is_public_https_or_local() -> None:
    hook = "https://bot.example.org/hook"
    assert _ok({"telegram": {"webhook": {"url": hook}}}).telegram.webhook.url == hook
    local = "http://127.0.0.1:8443/hook"
    assert _ok({"telegram": {"webhook": {"url": local}}}).telegram.webhook.url == local
    assert _ok({"telegram": {"webhook": {"url": ""}}}).telegram.webhook.url is None
    for bad in ("http://bot.example.org/hook", "ftp://x"):
        assert _lines({"telegram": {"webhook": {"url": bad}}}) == [
            f"{HERE}: telegram.webhook.url: expected the public https:// URL Telegram will post to"
        ]


def test_the_webhook_secret_is_1_to_256_safe_characters_and_never_shown() -> None:
    def secret(value: str) -> str | None:
        hook = _ok({"telegram": {"webhook": {"secret_token": value}}}).telegram.webhook
        return hook.secret_token.get_secret_value() if hook.secret_token else None

    assert secret("") is None
    full = "Az09_-" + "x" * 250
    assert secret(full) == full and secret("a") == "a"
    message = "expected 1-256 characters among A-Z a-z 0-9 _ - (not shown)"
    for bad in (full + "y", "has space", "sla/sh", "عاجل"):
        lines = _lines({"telegram": {"webhook": {"secret_token": bad}}})
        assert lines == [f"{HERE}: telegram.webhook.secret_token: {message}"]
        assert bad not in lines[0]


def test_the_token_looks_like_botfathers_and_is_never_shown() -> None:
    assert _ok({"telegram": {"token": TOKEN}}).token == TOKEN
    assert _ok({"telegram": {"token": "1:" + "k" * 20}}).token == "1:" + "k" * 20
    assert _ok({"telegram": {"token": ""}}).token is None
    assert _ok({}).token is None
    message = "expected a token from @BotFather, like 123456789:AA... (not shown)"
    for bad in ("123456789" + "A" * 35, "abc:" + "A" * 35, "1:" + "k" * 19, ":" + "k" * 30):
        lines = _lines({"telegram": {"token": bad}})
        assert lines == [f"{HERE}: telegram.token: {message}"], bad
        assert bad not in lines[0]


def test_the_environment_token_wins_and_is_checked_the_same_way() -> None:
    env_token = "42:" + "e" * 30
    config = _ok({"telegram": {"token": TOKEN}}, {"AJIL_TELEGRAM_TOKEN": f"  {env_token}\n"})
    assert config.token == env_token
    assert _ok({"telegram": {"token": TOKEN}}, {"AJIL_TELEGRAM_TOKEN": "  "}).token == TOKEN
    assert _ok({}, {"AJIL_TELEGRAM_TOKEN": env_token}).token == env_token
    assert _lines({}, {"AJIL_TELEGRAM_TOKEN": "42:short"}) == [
        "AJIL_TELEGRAM_TOKEN: expected a token from @BotFather, like 123456789:AA... (not shown)"
    ]
    # The rest of [telegram] is kept when the token comes from the environment.
    kept = _ok(
        {"telegram": {"admins": [7], "api_url": "http://127.0.0.1:1/bot"}},
        {"AJIL_TELEGRAM_TOKEN": env_token},
    )
    assert kept.telegram.admins == [7] and kept.telegram.api_url == "http://127.0.0.1:1/bot"


def test_time_zones_are_iana_names() -> None:
    assert _ok({"schedule": {"timezone": "Europe/Paris"}}).schedule.zone.key == "Europe/Paris"
    assert _ok(_source(timezone="Africa/Cairo")).sources[0].timezone == "Africa/Cairo"
    message = "expected an IANA time zone name such as Africa/Casablanca"
    for bad in ("Morocco/Rabat", "../etc/passwd", ""):
        assert _lines({"schedule": {"timezone": bad}}) == [f"{HERE}: schedule.timezone: {message}"]
        assert _lines(_source(timezone=bad)) == [f"{HERE}: sources[0].timezone: {message}"]


def test_selectors_must_parse() -> None:
    source = _ok(_source(ticker_selector=".breaking-news a", headline_selector="h2 > a")).sources[0]
    assert (source.ticker_selector, source.headline_selector) == (".breaking-news a", "h2 > a")
    message = "expected a CSS selector such as .breaking-news a"
    assert _lines(_source(ticker_selector="div[")) == [
        f"{HERE}: sources[0].ticker_selector: {message}"
    ]
    assert _lines(_source(headline_selector="a >>> b")) == [
        f"{HERE}: sources[0].headline_selector: {message}"
    ]


def test_source_names_titles_and_uniqueness() -> None:
    assert _ok(_source(name="a" * 64)).sources[0].name == "a" * 64
    assert _lines(_source(name="a" * 65)) == [
        f"{HERE}: sources[0].name: is too long (at most 64 characters)"
    ]
    assert _lines(_source(name="")) == [f"{HERE}: sources[0].name: must not be empty"]
    message = "expected a short name without spaces, such as kifache"
    for bad in ("my site", " site", "site\t", "si\u00a0te"):
        assert _lines(_source(name=bad)) == [f"{HERE}: sources[0].name: {message}"], repr(bad)
    assert _ok(_source(title="ت" * 80)).sources[0].title == "ت" * 80
    assert _lines(_source(title="ت" * 81)) == [
        f"{HERE}: sources[0].title: is too long (at most 80 characters)"
    ]
    twice = {"sources": [SOURCE, {"name": "other", "url": "https://o.ma/"}, SOURCE]}
    assert _lines(twice) == [
        f"{HERE}: (top level): source name 'site' is used twice; names must differ"
    ]
    two = _ok({"sources": [SOURCE, {"name": "other", "url": "https://o.ma/"}]})
    assert [s.name for s in two.sources] == ["site", "other"]


def test_channels_are_negative_ids() -> None:
    config = _ok({"channels": [{"chat_id": -1001234567890}, {"chat_id": -1, "level": "all"}]})
    assert [(c.chat_id, c.level) for c in config.channels] == [
        (-1001234567890, "urgent"),
        (-1, "all"),
    ]
    message = "expected a channel id, a negative number such as -1001234567890"
    for bad in (0, 5):
        assert _lines({"channels": [{"chat_id": bad}]}) == [
            f"{HERE}: channels[0].chat_id: {message}"
        ]


# -- error lines ----------------------------------------------------------------------------


def test_error_lines_name_the_key_path_and_what_was_expected() -> None:
    lines = _lines(
        {
            "telegram": {"admins": ["x"], "tokn": 1},
            "http": {"enabled": "maybe"},
            "news": "often",
            "sources": [SOURCE, {"url": "https://o.ma/"}],
        }
    )
    assert lines == [
        f"{HERE}: telegram.admins[0]: expected a whole number",
        f"{HERE}: telegram.tokn: unknown key; check its spelling against config.example.toml",
        f"{HERE}: news: expected a table",
        f"{HERE}: http.enabled: expected true or false",
        f"{HERE}: sources[1].name: required key is missing",
    ]
    assert _lines({"logging": {"level": 3}})[0].startswith(f"{HERE}: logging.level: ")
    assert _lines({"telegram": {"admins": 7}}) == [
        f"{HERE}: telegram.admins: expected a list, like [1, 2]"
    ]
    assert _lines({"http": {"port": 1.5}}) == [f"{HERE}: http.port: expected a whole number"]
    assert _lines({"http": {"port": "x"}}) == [f"{HERE}: http.port: expected a whole number"]
    assert _lines({"http": {"listen": 5}}) == [f"{HERE}: http.listen: expected a string in quotes"]


def test_a_screenful_of_errors_shows_five_and_counts_the_rest() -> None:
    sources = [{"url": "https://o.ma/"} for _ in range(7)]
    lines = _lines({"sources": sources})
    assert lines == [
        *[f"{HERE}: sources[{n}].name: required key is missing" for n in range(5)],
        f"{HERE}: ... and 2 more",
    ]
    five = _lines({"sources": sources[:5]})
    assert len(five) == 5 and "more" not in five[-1]
    six = _lines({"sources": sources[:6]})  # one past the cap: five lines and "1 more"
    assert len(six) == 6 and six[-1] == f"{HERE}: ... and 1 more"


def test_the_database_path_is_taken_from_the_files_folder() -> None:
    assert _ok({}).storage.database == Path("/srv/ajil/ajil.db")
    assert _ok({"storage": {"database": "data/a.db"}}).storage.database == Path(
        "/srv/ajil/data/a.db"
    )
    assert _ok({"storage": {"database": "/var/lib/a.db"}}).storage.database == Path("/var/lib/a.db")


def test_where_the_file_is_found() -> None:
    assert config_module.resolve_path("x.toml", {"AJIL_CONFIG": "/e.toml"}) == Path("x.toml")
    assert config_module.resolve_path(None, {"AJIL_CONFIG": "/e.toml"}) == Path("/e.toml")
    assert config_module.resolve_path("", {"AJIL_CONFIG": ""}) == Path("config.toml")
    assert config_module.resolve_path(None, {}) == config_module.DEFAULT_CONFIG


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(ConfigError) as caught:
        load(missing, env={})
    assert caught.value.lines == [
        f"{missing}: no such configuration file",
        f"  copy config.example.toml to {missing}, or name one with --config PATH or AJIL_CONFIG",
    ]
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, env={})
    assert caught.value.lines[0].startswith(f"{tmp_path}: cannot read the configuration file (")
    broken = tmp_path / "broken.toml"
    broken.write_text("[news\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(broken, env={})
    assert caught.value.lines[0].startswith(f"{broken}: invalid TOML: ")
    latin = tmp_path / "latin.toml"
    latin.write_bytes("# é\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load(latin, env={})
    assert caught.value.lines == [f"{latin}: not UTF-8 text; save the file as UTF-8"]
    good = tmp_path / "good.toml"
    good.write_text("[news]\nfreshness_hours = 3\n", encoding="utf-8")
    loaded = load(good, env={"AJIL_TELEGRAM_TOKEN": TOKEN})
    assert loaded.news.freshness_hours == 3 and loaded.token == TOKEN
    assert loaded.storage.database == tmp_path / "ajil.db"


def test_a_string_is_not_a_boolean() -> None:
    # TOML has true and false; "yes", "false" or 1 in their place is a mistake, even where a
    # lax reader would take it ("false" as false, "yes" as true).
    json_source = {"name": "t", "url": "https://a.ma/t.json", "kind": "json"}
    assert _lines({"http": {"enabled": "false"}}) == [
        f"{HERE}: http.enabled: expected true or false"
    ]
    assert _lines({"alerts": {"paid_broadcast": "yes"}}) == [
        f"{HERE}: alerts.paid_broadcast: expected true or false"
    ]
    assert _lines({"sources": [{**json_source, "urgent": "yes"}]}) == [
        f"{HERE}: sources[0].urgent: expected true or false"
    ]
    assert _lines({"sources": [{**SOURCE, "kind": "html", "render": 1}]}) == [
        f"{HERE}: sources[0].render: expected true or false"
    ]
