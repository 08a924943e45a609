"""Logging set-up: one line per event, and no secret ever written.

python-telegram-bot and httpx put the bot token in URLs and some error messages
("The token `...` was rejected by the server"), and at DEBUG python-telegram-bot prints every
Bot API call's parameters (setWebhook's `secret_token` among them) and aiosqlite every
statement's arguments. Every line passes through `redact` first, at every level: the token by
its shape, the secrets known at start-up and those made later (`add_secret`: the webhook
secret generated at first start), and any `secret_token` value by its key.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# A Bot API token: the bot's numeric id, a colon, then 30-odd URL-safe characters.
_TOKEN_PATTERN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
# `secret_token` followed by its value, as PTB's parameter dicts and URLs write it.
_SECRET_KEY_PATTERN = re.compile(r"""(secret_token['"]?\s*[:=]\s*['"]?)[A-Za-z0-9_-]+""")
REDACTED = "<token>"
# Secrets learnt while running; shared by every formatter (a set: adding is thread-safe).
_RUNTIME_SECRETS: set[str] = set()


def add_secret(secret: str) -> None:
    """Redact `secret` from every log line from now on (call it before the secret is used)."""
    if secret:
        _RUNTIME_SECRETS.add(secret)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the token, the given and registered secrets, or secret_token values."""
    for secret in (*secrets, *tuple(_RUNTIME_SECRETS)):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _SECRET_KEY_PATTERN.sub(r"\1" + REDACTED, text)
    return _TOKEN_PATTERN.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """Formats a record on one line with secrets removed; tracebacks only at DEBUG."""

    def __init__(self, secrets: Iterable[str], show_tracebacks: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = tuple(s for s in secrets if s)
        self._show_tracebacks = show_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
            if self._show_tracebacks:
                message += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {message}"
        return redact(line.replace("\r", " ").replace("\n", " | "), self._secrets)


def setup(level: str, secrets: Iterable[str] = ()) -> None:
    """Send every log line to stderr at `level`, through the redacting formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, show_tracebacks=level == "DEBUG"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs carry the token; their lines add
    # nothing an operator needs, even redacted. The same goes for the per-update chatter of
    # the scheduler and PTB's own polling at INFO.
    # aiosqlite's DEBUG lines echo each statement with its arguments: never wanted.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler",
        "trafilatura",
        "htmldate",
        "charset_normalizer",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
