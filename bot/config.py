"""Ajil's configuration: the TOML file's schema, how it is found and loaded, and its errors.

Every problem an operator can make in the file ends as a `ConfigError` whose lines name the file,
the key path and what was expected; the CLI prints them and exits 2. The token is a `SecretStr`
and no error line ever quotes it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

TOKEN_ENV = "AJIL_TELEGRAM_TOKEN"
CONFIG_ENV = "AJIL_CONFIG"
DATABASE_ENV = "AJIL_DATABASE_URL"
DEFAULT_CONFIG = Path("config.toml")
TELEGRAM_API_URL = "https://api.telegram.org/bot"
MIN_INTERVAL = 15

SourceKind = Literal["auto", "rss", "wordpress", "html", "json", "pusher"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigError(Exception):
    """A configuration the bot cannot start with; `lines` are ready to print."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class _Section(BaseModel):
    # Unknown keys are an error: a typo such as `intervall` must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL")
    return value


_PUSHER_KEY = re.compile(r"[A-Za-z0-9_.\-]+")
_PUSHER_CLUSTER = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# Pusher's rule for channel names: up to 164 of these characters.
_PUSHER_CHANNEL = re.compile(r"[A-Za-z0-9_\-=@,.;]{1,164}")
_PUSHER_KEYS = ("key", "cluster", "ws_url", "channel", "event")


def _ws_base(value: str) -> str:
    """A websocket server's base (scheme, host, optional port), like pusher-js's wsHost and
    wsPort: Ajil adds the /app/KEY path itself."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(
            "expected ws:// or wss:// and a host, such as wss://ws.example.com"
        ) from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError("expected ws:// or wss:// and a host, such as wss://ws.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "expected the server only (scheme, host, port), such as wss://ws.example.com:6001; "
            "Ajil adds /app/KEY itself"
        )
    return value.rstrip("/")


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name such as Africa/Casablanca") from None
    return value


class WebhookConfig(_Section):
    url: str | None = None
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    secret_token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith("https://") and not value.startswith("http://127.0.0.1"):
            raise ValueError("expected the public https:// URL Telegram will post to")
        return value

    @field_validator("secret_token")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        secret = value.get_secret_value()
        allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        if len(secret) > 256 or not set(secret) <= allowed:
            raise ValueError("expected 1-256 characters among A-Z a-z 0-9 _ - (not shown)")
        return value


class TelegramConfig(_Section):
    token: SecretStr | None = None
    api_url: str = TELEGRAM_API_URL
    admins: list[int] = Field(default_factory=list)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        secret = value.get_secret_value()
        bot_id, sep, key = secret.partition(":")
        if not sep or not bot_id.isdigit() or len(key) < 20:
            # Never echo the value: a half-pasted token is still a secret.
            raise ValueError("expected a token from @BotFather, like 123456789:AA... (not shown)")
        return value


def _database(value: object) -> object:
    """A SQLite file path (kept as a Path), or a PostgreSQL URL (kept as text)."""
    if not isinstance(value, str) or "://" not in value:
        return Path(value) if isinstance(value, str) else value
    parts = urlsplit(value)
    # The value is never echoed: the URL may carry a password.
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            "expected a file path (SQLite) or a postgresql:// URL; "
            f"{parts.scheme}:// databases are not supported"
        )
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when asked)
    except ValueError:
        raise ValueError("the PostgreSQL URL has an invalid port") from None
    if not parts.path.strip("/"):
        raise ValueError(
            "the PostgreSQL URL names no database: postgresql://user@host:5432/DATABASE"
        )
    return value


class StorageConfig(_Section):
    # A SQLite file (the default; relative to the configuration file's folder) or a PostgreSQL
    # URL, postgresql://user[:password]@host[:port]/database, which $AJIL_DATABASE_URL overrides.
    database: Path | str = Path("ajil.db")

    @field_validator("database", mode="before")
    @classmethod
    def _check_database(cls, value: object) -> object:
        return _database(value)

    @property
    def password(self) -> str:
        """The PostgreSQL URL's password ("" if none): a secret that logs must not show."""
        if isinstance(self.database, Path):
            return ""
        return urlsplit(self.database).password or ""


class ScheduleConfig(_Section):
    timezone: str = "Africa/Casablanca"

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone name such as Africa/Casablanca") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class LoggingConfig(_Section):
    level: LogLevel = "INFO"


class NewsConfig(_Section):
    freshness_hours: int = Field(default=6, ge=1, le=168)
    dedup_window_hours: int = Field(default=24, ge=1, le=168)


class HttpConfig(_Section):
    # TOML has true and false: a string ("yes", "false") is a mistake, not a boolean.
    enabled: bool = Field(default=True, strict=True)
    listen: str = "127.0.0.1"
    port: int = Field(default=9110, ge=0, le=65535)


class AlertsConfig(_Section):
    messages_per_second: int = Field(default=25, ge=1, le=1000)
    paid_broadcast: bool = Field(default=False, strict=True)
    # Kept so that existing files still load: deliveries are now retried for as long as the
    # alert is news ([news] freshness_hours), not a fixed number of times.
    max_attempts: int = Field(default=5, ge=1, le=20, deprecated="no longer used")

    @model_validator(mode="after")
    def _free_rate(self) -> AlertsConfig:
        if not self.paid_broadcast and self.messages_per_second > 30:
            raise ValueError(
                "messages_per_second above 30 needs paid_broadcast = true "
                "(Telegram allows about 30 a second for free)"
            )
        return self


class ChannelConfig(_Section):
    chat_id: int
    level: Literal["urgent", "all"] = "urgent"

    @field_validator("chat_id")
    @classmethod
    def _check_chat(cls, value: int) -> int:
        if value >= 0:
            raise ValueError("expected a channel id, a negative number such as -1001234567890")
        return value


class SourceConfig(_Section):
    name: str = Field(min_length=1, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=80)
    url: str
    kind: SourceKind = "auto"
    interval: int = Field(default=60, ge=MIN_INTERVAL, le=86_400)
    timezone: str | None = None
    ticker_selector: str | None = None
    headline_selector: str | None = None
    # html and auto: read the page after its scripts ran, in headless Chromium.
    render: bool = Field(default=False, strict=True)
    # json: where the entries are and which of their fields say what (bot/news/jsonticker.py).
    items: str | None = None
    title_field: str | None = None
    url_field: str | None = None
    time_field: str | None = None
    urgent: bool | None = Field(default=None, strict=True)
    site_url: str | None = None
    # kind = "pusher": the site's live push channel (Pusher protocol 7), read as its script
    # reads it; see _check_pusher.
    key: str | None = Field(default=None, min_length=1, max_length=128)
    cluster: str | None = None
    ws_url: str | None = None
    channel: str | None = None
    event: str | None = Field(default=None, min_length=1, max_length=200)
    message_field: str = Field(default="message", min_length=1, max_length=128)
    # kind = "pusher": at most this many pushed stories alerted per source in any minute; the
    # rest of a flood is stored, not alerted, and the source warns (bot.alerts.pushes.PushCap).
    pushes_per_minute: int = Field(default=10, ge=1, le=1000, strict=True)

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str | None) -> str | None:
        if value is not None and not _PUSHER_KEY.fullmatch(value):
            raise ValueError("expected the app key from the site's script: new Pusher('KEY', ...)")
        return value

    @field_validator("cluster")
    @classmethod
    def _check_cluster(cls, value: str | None) -> str | None:
        if value is not None and not _PUSHER_CLUSTER.fullmatch(value):
            raise ValueError("expected a Pusher cluster name such as eu, us2 or ap1")
        return value

    @field_validator("ws_url")
    @classmethod
    def _check_ws_url(cls, value: str | None) -> str | None:
        return None if value is None else _ws_base(value)

    @field_validator("channel")
    @classmethod
    def _check_channel(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(("private-", "presence-")):
            raise ValueError(
                "private and presence channels need the site's own sign-in; "
                "Ajil reads public channels only"
            )
        if not _PUSHER_CHANNEL.fullmatch(value):
            raise ValueError(
                "expected a channel name as the site's script subscribes to it, "
                "such as kifache-channel (letters, digits and _-=@,.; only)"
            )
        return value

    @field_validator("event")
    @classmethod
    def _check_event(cls, value: str | None) -> str | None:
        # Pusher protocol 7 (pusher.com/docs/channels/library_auth_reference/pusher-websockets-
        # protocol): these prefixes name the protocol's own events, which no binding receives.
        if value is not None and value.startswith(("pusher:", "pusher_internal:")):
            raise ValueError(
                "pusher: and pusher_internal: events are the protocol's own; expected the "
                "event the site's script binds, such as kifache-push-event"
            )
        return value

    @model_validator(mode="after")
    def _check_pusher(self) -> SourceConfig:
        given = [k for k in _PUSHER_KEYS if getattr(self, k) is not None]
        given += [k for k in ("message_field", "pushes_per_minute") if k in self.model_fields_set]
        if self.kind != "pusher":
            if given:
                raise ValueError(f'{", ".join(given)}: only for kind = "pusher"')
            return self
        missing = [k for k in ("key", "channel", "event") if getattr(self, k) is None]
        if missing:
            them = "them" if len(missing) > 1 else "it"
            raise ValueError(
                f'kind = "pusher" needs {_and(missing)} '
                f"(`ajil probe URL` finds {them} in the site's script)"
            )
        if (self.cluster is None) == (self.ws_url is None):
            raise ValueError(
                'kind = "pusher" needs exactly one of cluster (Pusher\'s own service, '
                "such as eu) or ws_url (another server, such as wss://ws.example.com:6001)"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _zone_name(value)

    @field_validator("items", "title_field", "url_field", "time_field", "message_field")
    @classmethod
    def _check_path(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return value
        if any(part.strip() == "" or part != part.strip() for part in value.split(".")):
            raise ValueError("expected a dotted path of keys such as data.breaking")
        return value

    @field_validator("site_url")
    @classmethod
    def _check_site_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @model_validator(mode="after")
    def _keys_of_kind(self) -> SourceConfig:
        if self.render and self.kind not in ("html", "auto"):
            raise ValueError(
                f'render = true reads web pages: it needs kind = "html" or "auto", '
                f'not "{self.kind}"'
            )
        json_keys = ("items", "title_field", "url_field", "time_field", "urgent", "site_url")
        stray = [k for k in json_keys if getattr(self, k) is not None]
        if stray and self.kind != "json":
            raise ValueError(f'{", ".join(stray)}: only for kind = "json"')
        if self.kind == "json" and (self.ticker_selector or self.headline_selector):
            raise ValueError(
                'ticker_selector and headline_selector are for pages, not kind = "json"'
            )
        return self

    @field_validator("ticker_selector", "headline_selector")
    @classmethod
    def _check_selector(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            LexborHTMLParser("<p></p>").css(value)
        except (SelectolaxError, ValueError):
            raise ValueError("expected a CSS selector such as .breaking-news a") from None
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() for c in value):
            raise ValueError("expected a short name without spaces, such as kifache")
        return value


class Config(_Section):
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    news: NewsConfig = Field(default_factory=NewsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_source_names(self) -> Config:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice; names must differ")
            seen.add(source.name)
        return self

    @property
    def token(self) -> str | None:
        return self.telegram.token.get_secret_value() if self.telegram.token else None

    @property
    def source_titles(self) -> dict[str, str]:
        """Each configured source's name -> the title users see (its `title`, else its name)."""
        return {s.name: s.title or s.name for s in self.sources}

    def source_title(self, name: str) -> str:
        """The title users see for the source `name`; the name itself for a source no longer
        configured (its items stay stored after it leaves the file)."""
        return self.source_titles.get(name, name)


def resolve_path(cli_path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    """--config wins over AJIL_CONFIG, which wins over ./config.toml."""
    if cli_path:
        return Path(cli_path)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return DEFAULT_CONFIG


def load(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and complete the configuration at `path`, or raise ConfigError."""
    env = os.environ if env is None else env
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [
                f"{path}: no such configuration file",
                f"  copy config.example.toml to {path}, or name one with --config PATH "
                f"or {CONFIG_ENV}",
            ]
        ) from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise ConfigError(
            [f"{path}: cannot read the configuration file ({exc.strerror})"]
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text; save the file as UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None
    return from_mapping(data, path, env)


def from_mapping(data: Mapping[str, Any], path: Path, env: Mapping[str, str]) -> Config:
    """Validate an already parsed TOML document; relative paths are taken from the file's folder."""
    try:
        config = Config.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    env_token = env.get(TOKEN_ENV, "").strip()
    if env_token:
        try:
            telegram = TelegramConfig.model_validate(
                {**config.telegram.model_dump(), "token": env_token}
            )
        except ValidationError:
            raise ConfigError(
                [f"{TOKEN_ENV}: expected a token from @BotFather, like 123456789:AA... (not shown)"]
            ) from None
        config = config.model_copy(update={"telegram": telegram})
    env_database = env.get(DATABASE_ENV, "").strip()
    if env_database:
        if "://" not in env_database:
            raise ConfigError(
                [f"{DATABASE_ENV}: expected a postgresql:// URL (a SQLite file goes in [storage])"]
            )
        try:
            storage = StorageConfig.model_validate({"database": env_database})
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigError([f"{DATABASE_ENV}: {reason}"]) from None
        config = config.model_copy(update={"storage": storage})
    database = config.storage.database
    if isinstance(database, Path) and not database.is_absolute():
        database = path.parent / database
        config = config.model_copy(
            update={"storage": config.storage.model_copy(update={"database": database})}
        )
    return config


def _key_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


_EXPECTED = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected a string in quotes",
    "list_type": "expected a list, like [1, 2]",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "model_type": "expected a table",
    "dict_type": "expected a table",
}


def _describe(exc: ValidationError, path: Path) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [p for p in error["loc"] if isinstance(p, int | str)]
        key = _key_path(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            what = "unknown key; check its spelling against config.example.toml"
        elif kind == "missing":
            what = "required key is missing"
        elif kind in (
            "greater_than_equal",
            "less_than_equal",
            "string_too_short",
            "string_too_long",
        ):
            what = _bound_message(kind, error.get("ctx", {}))
        elif kind in _EXPECTED:
            what = _EXPECTED[kind]
        else:
            what = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {key}: {what}")
    # A screenful of errors hides the first one; the operator fixes them a few at a time.
    if len(lines) > 5:
        lines = [*lines[:5], f"{path}: ... and {len(lines) - 5} more"]
    return lines


def _bound_message(kind: str, ctx: Mapping[str, Any]) -> str:
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_too_short":
        return "must not be empty"
    return f"is too long (at most {ctx.get('max_length')} characters)"
