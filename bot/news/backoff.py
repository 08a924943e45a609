"""When to try a failing source again: exponential backoff with jitter, capped at one hour."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

CAP = timedelta(hours=1)


def retry_delay(failures: int, interval: timedelta, rng: random.Random | None = None) -> timedelta:
    """The wait after `failures` failures in a row: interval x 2^(failures-1), ±20 %, at most 1 h.

    The jitter keeps many sources that failed together (a network outage) from all retrying
    in the same second.
    """
    if failures <= 0:
        return interval
    base = interval.total_seconds() * 2 ** min(failures - 1, 16)
    jitter = (rng or random).uniform(0.8, 1.2)
    return min(timedelta(seconds=base * jitter), CAP)


def next_attempt(
    failures: int, interval: timedelta, now: datetime, rng: random.Random | None = None
) -> datetime:
    return now + retry_delay(failures, interval, rng)
