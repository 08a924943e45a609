"""The house's one-way arrows: import-linter's contracts ([tool.importlinter] in pyproject.toml)
hold for the real tree, and each one fails on a copy of the tree that breaks it.

The copies are checked with the contracts read from the real pyproject.toml, so a contract
loosened there (a forbidden module dropped, a layer merged) makes its case here fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run `lint-imports` on the packages under `root`, with root's pyproject.toml."""
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "importlinter.cli"]
    # The packages are found on PYTHONPATH first: those of `root`, not the installed ones.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [*command, "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
    # Every contract was checked, none skipped.
    assert run.stdout.count(" KEPT") == 6


# (file to change, line appended, the contracts broken, what the report must name)
VIOLATIONS = {
    "storage imports telegram": (
        "storage/meta.py",
        "import telegram\n",
        ("Storage imports nothing of Telegram",),
        "storage.meta -> telegram",
    ),
    "storage imports the core": (
        "storage/items.py",
        "from bot.news import text\n",
        ("Storage imports nothing of Telegram",),
        "storage.items -> bot.news",
    ),
    "a handler imports the wiring, even for types only": (
        "handlers/guard.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.app import Services\n",
        ("The house",),
        "handlers.guard -> bot.app",
    ),
    "the core imports a handler": (
        "bot/compose/views.py",
        "import handlers.replies\n",
        ("Only bot.app wires the handlers in",),
        "bot.compose.views -> handlers.replies",
    ),
    "news processing imports storage": (
        "bot/news/text.py",
        "from storage import items\n",
        ("News processing (bot.news) imports nothing",),
        "bot.news.text -> storage",
    ),
    "news processing imports telegram": (
        "bot/news/dedup.py",
        "import telegram.constants\n",
        ("News processing (bot.news) imports nothing",),
        "bot.news.dedup -> telegram",
    ),
    "the sandbox's control routes import the emulator back": (
        "bot/sandbox/control.py",
        "from bot.sandbox import emulator\n",
        ("No import cycle",),
        "No cycles are allowed in bot.sandbox",
    ),
    "two news modules import each other, inside a function": (
        "bot/news/bounds.py",
        "def _late() -> None:\n    from bot.news.models import Item\n",
        ("No import cycle",),
        "No cycles are allowed in bot.news",
    ),
    # Handlers import bot.reading: through it they would reach the CLI too.
    "a core module imports the CLI": (
        "bot/reading.py",
        "from bot import cli\n",
        ("bot/: the core never imports the wiring", "The house"),
        "bot.reading -> bot.cli",
    ),
    "a new module of bot/ that no layer places": (
        "bot/extra.py",
        '"""A module no contract knows of yet."""\n',
        ("bot/: the core never imports the wiring",),
        "- bot.extra",
    ),
}


@pytest.fixture(scope="module")
def copy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and pyproject.toml, made once; each case edits and restores it."""
    root = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_each_contract_fails_on_a_tree_that_breaks_it(copy_root: Path, case: str) -> None:
    relative, line, contracts, named = VIOLATIONS[case]
    path = copy_root / relative
    before = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text((before or "") + line, encoding="utf-8")
    try:
        run = lint_imports(copy_root)
    finally:
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
    report = run.stdout + run.stderr
    assert run.returncode != 0, report
    broken = report.split("Broken contracts", 1)[-1]
    assert all(contract in broken for contract in contracts), report
    assert named in broken, report
    # These contracts, and no other.
    assert f"Contracts: {6 - len(contracts)} kept, {len(contracts)} broken." in report, report
