"""The `ajil` command: argument parsing, exit codes and the top-level error handling.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. No traceback reaches the
operator; anything unexpected is logged on one line (with the traceback under -v) and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot import __version__, logs
from bot import config as config_module
from bot.config import Config, ConfigError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("ajil")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="configuration file (default: $AJIL_CONFIG, else ./config.toml)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log everything (DEBUG), whatever the configuration says",
    )
    parser = argparse.ArgumentParser(
        prog="ajil",
        description="Ajil (عاجل): breaking news from Arabic news sites, on Telegram.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"ajil {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "run",
        parents=[common],
        help="run the bot until Ctrl-C or SIGTERM",
        description="Run the bot: answer commands and send breaking alerts.",
    )
    commands.add_parser(
        "check",
        parents=[common],
        help="validate the configuration and print ok",
        description="Validate the configuration file; print ok, or what is wrong.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path = config_module.resolve_path(getattr(args, "config", None), os.environ)
    try:
        config = config_module.load(path)
    except ConfigError as exc:
        for line in exc.lines:
            print(f"ajil: {logs.redact(line)}", file=sys.stderr)
        return EXIT_USAGE
    verbose = getattr(args, "verbose", False)
    logs.setup("DEBUG" if verbose else config.logging.level, [config.token or ""])
    if args.command == "check":
        return _check(config)
    return _run(config)


def _check(config: Config) -> int:
    print("ok")
    if not config.token:
        print(
            f"note: no bot token yet; `ajil run` needs {config_module.TOKEN_ENV} "
            "or [telegram] token",
            file=sys.stderr,
        )
    return EXIT_OK


def _run(config: Config) -> int:
    from bot import app  # imported here: `ajil check` need not load python-telegram-bot

    try:
        asyncio.run(app.run(config))
    except app.StartupError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        log.exception("stopped by an unexpected error")
        return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
