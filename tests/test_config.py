"""The configuration file: what works, and a clear exit 2 for each way of getting it wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import config as config_module
from bot.cli import main
from bot.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
GOOD_SOURCE = '[[sources]]\nname = "site"\nurl = "https://example.org/"\n'


def test_example_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(ROOT / "config.example.toml")]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_example_config_lists_kifache_first() -> None:
    config = config_module.load(ROOT / "config.example.toml", env={})
    assert config.sources[0].name == "kifache"
    assert config.schedule.timezone == "Africa/Casablanca"
    assert all(source.interval >= 15 for source in config.sources)


def test_defaults_and_relative_database(write_config) -> None:
    path = write_config(GOOD_SOURCE)
    config = config_module.load(path, env={})
    assert config.telegram.api_url == "https://api.telegram.org/bot"
    assert config.storage.database == path.parent / "ajil.db"
    assert config.sources[0].kind == "auto" and config.sources[0].interval == 60
    assert config.token is None


def test_environment_token_overrides_file(write_config) -> None:
    path = write_config('[telegram]\ntoken = "111:' + "a" * 30 + '"\n')
    config = config_module.load(path, env={"AJIL_TELEGRAM_TOKEN": "222:" + "b" * 30})
    assert config.token == "222:" + "b" * 30


def test_path_resolution_order() -> None:
    env = {"AJIL_CONFIG": "/etc/ajil.toml"}
    assert config_module.resolve_path("x.toml", env) == Path("x.toml")
    assert config_module.resolve_path(None, env) == Path("/etc/ajil.toml")
    assert config_module.resolve_path(None, {}) == Path("config.toml")


MALFORMED = [
    # (file text, what the message must name)
    ("[telegram]\ntokn = 'x'\n", "telegram.tokn: unknown key"),
    ("[telegarm]\n", "telegarm: unknown key"),
    ("[telegram]\nadmins = 'me'\n", "telegram.admins: expected a list"),
    ("[telegram]\nadmins = ['abc']\n", "telegram.admins[0]: expected a whole number"),
    ("[telegram]\napi_url = 'ftp://x/bot'\n", "telegram.api_url: expected an http"),
    ("[schedule]\ntimezone = 'Morocco/Rabat'\n", "schedule.timezone: expected an IANA time zone"),
    ("[storage]\ndatabase = 5\n", "storage.database"),
    (
        "[[sources]]\nname = 'a'\nurl = 'https://a.ma'\ninterval = 5\n",
        "sources[0].interval: must be at least 15",
    ),
    (
        "[[sources]]\nname = 'a'\nurl = 'https://a.ma'\ninterval = 'often'\n",
        "sources[0].interval: expected a whole number",
    ),
    ("[[sources]]\nname = 'a'\nurl = 'https://a.ma'\nkind = 'atom'\n", "sources[0].kind"),
    ("[[sources]]\nurl = 'https://a.ma'\n", "sources[0].name: required key is missing"),
    ("[[sources]]\nname = 'a'\nurl = 'not a url'\n", "sources[0].url: expected an http"),
    (
        "[[sources]]\nname = 'my site'\nurl = 'https://a.ma'\n",
        "sources[0].name: expected a short name",
    ),
    ("[logging]\nlevel = 'LOUD'\n", "logging.level"),
    ("[telegram\ntoken = 1\n", "invalid TOML"),
    ("sources = 3\n", "sources: expected a list"),
    (GOOD_SOURCE + GOOD_SOURCE, "used twice"),
]


@pytest.mark.parametrize(("text", "expected"), MALFORMED)
def test_malformed_config_exits_2_naming_the_key(
    write_config, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write_config(text)
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert str(path) in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 5


def test_missing_file_says_how_to_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml: no such configuration file" in err
    assert "config.example.toml" in err


def test_not_utf8(write_config, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("")
    path.write_bytes("[telegram]\n# عاجل\n".encode("cp1256"))
    assert main(["check", "--config", str(path)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_bad_token_is_never_echoed(write_config, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "12345:short-secret-value"
    path = write_config(f'[telegram]\ntoken = "{secret}"\n')
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "telegram.token" in err
    assert secret not in err and "short-secret" not in err


def test_bad_environment_token_is_never_echoed(write_config) -> None:
    path = write_config(GOOD_SOURCE)
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, env={"AJIL_TELEGRAM_TOKEN": "oops-secret"})
    assert "AJIL_TELEGRAM_TOKEN" in str(caught.value)
    assert "oops-secret" not in str(caught.value)


def test_config_from_environment_variable(write_config) -> None:
    path = write_config("[[sources]]\nname = 'x'\nurl = 'https://x.ma'\nkind = 'rsss'\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env={"AJIL_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "sources[0].kind" in result.stderr
    assert "Traceback" not in result.stderr
