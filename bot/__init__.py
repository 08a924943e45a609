"""Ajil's core, between the handlers above it and storage below it.

Data and imports flow one way: `handlers` → `bot` → `storage`. Here: the use cases the handlers
call (`actions`, each one transaction; `reading`), presentation (`compose`: every message sent),
news processing (`news`, which knows nothing of Telegram or storage), alerts (`alerts`: watcher,
outbox sender, pacing), configuration (`config`), texts (`i18n`), operations (`ops`), and at
the top the wiring (`app`, `services`), the CLI (`cli`) and the offline sandbox (`sandbox`).
Nothing in `bot` but `app` imports `handlers`.
"""

import os

__version__ = "0.1.0"

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta), which Ajil's code
# already handles; without it every 429 logs a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
