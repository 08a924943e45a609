"""What an `ajil` command imports: PostgreSQL's driver (asyncpg, 0.1-0.4 s to import) only
when a postgresql:// URL is opened (storage/__init__.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from bot.cli import main
from storage import Database

code = main(["--config", sys.argv[1], "check"])
async def open_sqlite():
    db = await Database.open(sys.argv[2])
    await db.close()
asyncio.run(open_sqlite())
print(code, "asyncpg" in sys.modules)
"""


def test_a_sqlite_configuration_never_imports_asyncpg(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"\n', encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), str(tmp_path / "ajil.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["0", "False"], done.stdout + done.stderr
