"""Shared fixtures: a fresh database, the Bot API emulator, configuration files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.news.fetch import HttpFetcher
from bot.news.netguard import FetchPolicy
from bot.sandbox.emulator import Emulator
from storage import Database
from tests import postgres, wild

TOKEN = "123456789:AAHfake-token-for-tests_0123456789abcdef"
# ../shared/corpus beside the repository; from a worktree nested deeper, the nearest one above.
CORPUS = next(
    (
        folder / "shared" / "corpus"
        for folder in Path(__file__).resolve().parents[1:]
        if (folder / "shared" / "corpus").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "corpus",
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated database on each backend: a SQLite file, and a fresh PostgreSQL
    schema (tests/postgres.py: skipped where no server answers, a failure in CI)."""
    if request.param == "sqlite":
        database = await Database.open(tmp_path / "ajil.db")
        yield database
        await database.close()
        return
    async with postgres.fresh_schema() as url:
        database = await Database.open(url)
        yield database
        await database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_target(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Path | str]:
    """Where a bot under test keeps its data, on each backend: a SQLite file (not created),
    or the URL of a fresh PostgreSQL schema. For tests that start `ajil run` themselves."""
    if request.param == "sqlite":
        yield tmp_path / "ajil.db"
        return
    async with postgres.fresh_schema() as url:
        yield url


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = Emulator(TOKEN)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config.toml with the given text into a fresh folder and return its path."""

    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
async def sites() -> AsyncIterator[wild.Wild]:
    """tests/wild.py's sites on 127.0.0.1 (modules that define their own `sites` use theirs)."""
    async with wild.serve() as state:
        yield state


@pytest.fixture
async def fetcher(sites: wild.Wild) -> AsyncIterator[HttpFetcher]:
    """A fetcher that trusts the `sites` origin, as it would a configured source's."""
    async with HttpFetcher(total_timeout=5, policy=FetchPolicy([sites.base])) as http:
        yield http
