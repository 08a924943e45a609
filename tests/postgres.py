"""A fresh PostgreSQL schema per test: the server the tests use, and whether they may skip.

AJIL_TEST_DATABASE_URL names the server and database (default: the local `test` database,
postgresql://postgres@127.0.0.1:5432/test). Each test gets its own schema, created empty and
dropped after, and a URL whose search_path points at it: what it runs is exactly what a bot
configured with that URL runs. Where no server answers, the test skips with the reason; with
AJIL_TEST_POSTGRES_REQUIRED=1 (CI sets it) it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

URL_ENV = "AJIL_TEST_DATABASE_URL"
REQUIRED_ENV = "AJIL_TEST_POSTGRES_REQUIRED"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

_unreachable: list[str] = []  # the reason, once a connection failed: later tests skip at once


def server_url() -> str:
    return os.environ.get(URL_ENV, "").strip() or DEFAULT_URL


def required() -> bool:
    return os.environ.get(REQUIRED_ENV, "").strip() not in ("", "0")


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL not reachable at {server_url()}: {reason}"
    if required():
        pytest.fail(f"{message} ({REQUIRED_ENV} is set: PostgreSQL tests may not skip)")
    pytest.skip(message)


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A database URL whose search_path is a new, empty schema, dropped on exit."""
    if _unreachable:
        _unavailable(_unreachable[0])
    base = server_url()
    try:
        admin = await asyncpg.connect(base, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        _unreachable.append(f"{type(exc).__name__}: {exc}")
        _unavailable(_unreachable[0])
    schema = f"ajil_test_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}search_path={schema}"
    finally:
        try:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await admin.close()
