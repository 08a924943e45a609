"""What the core hands to the Telegram handlers: one `Services`, built once by `bot.app`.

Its own module so that both sides import it at run time and the arrow stays one way: `bot.app`
imports `handlers` and this module; `handlers` import this module, never `bot.app`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts.sender import Sender
from bot.alerts.watcher import Watcher
from bot.config import Config
from bot.news.fetch import Fetcher
from bot.ops.metrics import Metrics
from storage import Database


@dataclass(frozen=True)
class Services:
    """The running core, every part required: a wiring mistake fails where `Services` is built,
    not at the first command that needs the missing part."""

    config: Config
    db: Database
    fetcher: Fetcher
    sender: Sender
    watcher: Watcher
    metrics: Metrics
