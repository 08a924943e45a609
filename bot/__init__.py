"""Ajil's core: configuration, news processing, alerts, the sandbox, the CLI and app wiring."""

import os

__version__ = "0.1.0"

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta), which Ajil's code
# already handles; without it every 429 logs a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
