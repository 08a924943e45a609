"""The `ajil` command: argument parsing, exit codes and the top-level error handling.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 3 (`ajil fetch` only)
every source was read but one gave a warning (no headlines found, a bot challenge, an urgent
block that its script fills...). No traceback reaches the operator; anything unexpected is
logged on one line (with the traceback under -v) and exits 1.
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

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_WARNING = 0, 1, 2, 3
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
    fetch = commands.add_parser(
        "fetch",
        parents=[common],
        help="poll the sources once and print what they list",
        description="Poll every configured source once (writing nothing) and print its items; "
        "on stderr, each source's urgent block and every warning. Exit status 1 when a source "
        "failed, else 3 when a source gave a warning (such as no headlines found), else 0.",
    )
    fetch.add_argument("--source", metavar="NAME", help="only this source")
    fetch.add_argument("--json", action="store_true", help="one JSON object per line")
    article = commands.add_parser(
        "article",
        parents=[common],
        help="read one article and summarize it",
        description="Extract an article (URL or saved HTML file): title, time, image, text "
        "and a summary.",
    )
    article.add_argument("target", metavar="URL_OR_FILE")
    article.add_argument("--json", action="store_true", help="print one JSON object")
    article.add_argument(
        "--sentences",
        type=_sentence_count,
        default=3,
        metavar="N",
        help="sentences in the summary (1-10, default 3)",
    )
    probe = commands.add_parser(
        "probe",
        parents=[common],
        help="look at a site once and print the [[sources]] block to read it",
        description="Read a news site once, as an auto source would, and print what was found: "
        "its feed or WordPress REST API, its urgent block and label, the push channel that "
        "fills an empty urgent bar, the first headlines, the encoding, conditional-GET support, "
        "and a [[sources]] block to paste. Exit status 1 when nothing usable was found.",
    )
    probe.add_argument("url", metavar="URL", help="the site's homepage (or a feed), http(s)")
    probe.add_argument("--name", help="source name in the printed block (default: from the host)")
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the live database to PATH (safe while the bot runs)",
        description="Take a consistent copy of the database with SQLite's online backup, "
        "while the bot keeps running (on PostgreSQL, use pg_dump: this says how).",
    )
    backup.add_argument("path", metavar="PATH", help="the new file to write")
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="try Ajil in a web chat: no token, no network, no configuration",
        description="Start a Bot API emulator, a sample news site and the real bot, and serve "
        "a web chat on 127.0.0.1:PORT.",
    )
    demo.add_argument("--port", type=_port, default=8080, help="web chat port (default 8080)")
    return parser


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError("expected a port number from 1 to 65535")
    return int(value)


def _sentence_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10:
        raise argparse.ArgumentTypeError("expected a whole number from 1 to 10")
    return int(value)


_NO_CONFIG_NEEDED = {"article", "probe"}


def _implicit(args: argparse.Namespace) -> bool:
    return getattr(args, "config", None) is None and not os.environ.get(config_module.CONFIG_ENV)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path = config_module.resolve_path(getattr(args, "config", None), os.environ)
    try:
        if args.command == "demo":
            config = Config()  # the demo brings its own settings and never reads a file
        elif args.command in _NO_CONFIG_NEEDED and _implicit(args) and not path.exists():
            config = Config()  # reading one article needs no sources nor token
        else:
            config = config_module.load(path)
    except ConfigError as exc:
        for line in exc.lines:
            print(f"ajil: {logs.redact(line)}", file=sys.stderr)
        return EXIT_USAGE
    verbose = getattr(args, "verbose", False)
    hook_secret = config.telegram.webhook.secret_token
    logs.setup(
        "DEBUG" if verbose else config.logging.level,
        [
            config.token or "",
            hook_secret.get_secret_value() if hook_secret else "",
            config.storage.password,
        ],
    )
    if args.command == "check":
        return _check(config)
    if args.command == "fetch":
        return _fetch(config, args.source, args.json)
    if args.command == "article":
        return _article(config, args.target, args.json, args.sentences)
    if args.command == "demo":
        return _demo(args.port)
    if args.command == "probe":
        return _probe(config, args.url, args.name, args.json)
    if args.command == "backup":
        return _backup(config, args.path)
    return _run(config)


def _check(config: Config) -> int:
    if any(s.render for s in config.sources):
        from bot.news.render import RenderUnavailable, check_available

        try:
            check_available()
        except RenderUnavailable as exc:
            print(f"ajil: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print("ok")
    if not config.token:
        print(
            f"note: no bot token yet; `ajil run` needs {config_module.TOKEN_ENV} "
            "or [telegram] token",
            file=sys.stderr,
        )
    return EXIT_OK


def _fetch(config: Config, source: str | None, as_json: bool) -> int:
    from bot.news import oneshot
    from bot.news.render import RenderUnavailable

    if source is not None and source not in {s.name for s in config.sources}:
        names = ", ".join(s.name for s in config.sources) or "none configured"
        print(f"ajil: no source named {source!r} (sources: {names})", file=sys.stderr)
        return EXIT_USAGE
    if not config.sources:
        print("ajil: no [[sources]] in the configuration", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = asyncio.run(oneshot.fetch_once(config, source))
    except RenderUnavailable as exc:
        print(f"ajil: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for found in report.found:
        if as_json:
            print(oneshot.json_line(found.as_json()))
        else:
            print(_describe_item(found))
    kinds = {s.name: s.kind for s in config.sources}
    channels = {s.name: f"{s.channel} ({s.event})" for s in config.sources if s.kind == "pusher"}
    for name, block in report.urgent_blocks.items():
        # Only pages have urgent blocks: a feed says urgent item by item.
        if block is not None or kinds.get(name) in ("auto", "html"):
            print(f"ajil: {name}: urgent block: {block or 'none found'}", file=sys.stderr)
        if name in channels:
            print(
                f"ajil: {name}: urgent stories are pushed on {channels[name]}: "
                "ajil run listens, ajil fetch reads the site only",
                file=sys.stderr,
            )
        # Items urgent on their own: a «عاجل» marker in the title, a category or a tag.
        own = sum(
            1
            for f in report.found
            if f.item.source == name and f.item.urgent and not f.item.from_ticker
        )
        if own:
            print(
                f"ajil: {name}: {own} item(s) urgent by their own label "
                "(a «عاجل» marker before the title, or an urgent category or tag)",
                file=sys.stderr,
            )
    for name, warnings in report.warnings.items():
        for warning in warnings:
            print(f"ajil: {name}: warning: {warning}", file=sys.stderr)
    for name, reason in report.failures.items():
        print(f"ajil: {name}: failed: {reason}", file=sys.stderr)
    if report.failures:
        return EXIT_FAILURE
    return EXIT_WARNING if report.warnings else EXIT_OK


def _describe_item(found: object) -> str:
    from bot.news.oneshot import Found

    assert isinstance(found, Found)
    item = found.item
    published = found.published
    when = published.strftime("%Y-%m-%d %H:%M") if published else "-"
    flags = ("URGENT " if item.urgent else "") + ("(same story) " if found.duplicate_of else "")
    return f"{item.source}\t{when}\t{flags}{item.title}\t{item.url or ''}"


def _article(config: Config, target: str, as_json: bool, sentences: int) -> int:
    from bot.news import oneshot

    try:
        report = asyncio.run(oneshot.read_article(target, config, sentences))
    except oneshot.FetchError as exc:
        print(f"ajil: {target}: cannot fetch: {exc.reason}", file=sys.stderr)
        return EXIT_FAILURE
    except oneshot.ParseError as exc:
        print(f"ajil: {target}: {exc.reason}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(f"ajil: {target}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        print(oneshot.json_line(report.as_json()))
        return EXIT_OK
    article = report.article
    when = (
        article.published.astimezone(config.schedule.zone).isoformat() if article.published else "-"
    )
    print(article.title or "(no title)")
    print(f"published: {when}")
    if article.image:
        print(f"image: {article.image}")
    print()
    print("summary:")
    for sentence in report.summary:
        print(f"- {sentence}")
    print()
    print(article.text)
    return EXIT_OK


def _is_web_url(url: str) -> bool:
    """An http(s) URL with a host that parses ("http://[::1" and "https://" do not)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _probe(config: Config, url: str, name: str | None, as_json: bool) -> int:
    from zoneinfo import ZoneInfo

    from bot import probe
    from bot.news import oneshot
    from bot.news.fetch import FetchError, HttpFetcher
    from bot.news.netguard import FetchPolicy

    if not _is_web_url(url):
        print(f"ajil: {url}: expected an http:// or https:// URL", file=sys.stderr)
        return EXIT_USAGE
    if name is not None and (not name or any(c.isspace() for c in name)):
        print("ajil: --name: expected a short name without spaces", file=sys.stderr)
        return EXIT_USAGE
    zone = ZoneInfo(config.schedule.timezone)

    async def look() -> probe.Report:
        # The operator named this site on the command line: its own origin is trusted.
        async with HttpFetcher(policy=FetchPolicy([url])) as fetcher:
            return await probe.probe(url, fetcher, zone, name)

    try:
        report = asyncio.run(look())
    except FetchError as exc:
        print(f"ajil: {url}: cannot read the site: {exc.reason}", file=sys.stderr)
        return EXIT_FAILURE
    if as_json:
        print(oneshot.json_line(report.as_json()))
    else:
        print("\n".join(report.lines(zone)))
    if report.reason is not None:
        print(f"ajil: {url}: nothing usable found: {report.reason}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _backup(config: Config, target: str) -> int:
    from pathlib import Path

    from storage import StorageError
    from storage.backup import backup

    if not isinstance(config.storage.database, Path):
        # PostgreSQL has its own consistent online copy; a second one here would be worse.
        print(
            "ajil: the database is PostgreSQL: back it up with pg_dump, which copies a "
            "consistent snapshot while the bot runs, e.g.\n"
            f"  pg_dump --format=custom --file={target} '{_without_password(config)}'\n"
            "(the password from ~/.pgpass or PGPASSWORD), and restore with pg_restore.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        pages = backup(Path(config.storage.database), Path(target))
    except StorageError as exc:
        print(f"ajil: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"backup written: {target} ({pages} pages, integrity ok)")
    return EXIT_OK


def _without_password(config: Config) -> str:
    from storage.postgres import redact

    return redact(str(config.storage.database)).replace(":***@", "@")


def _demo(port: int) -> int:
    from bot import app
    from bot.sandbox.demo import demo

    try:
        asyncio.run(demo(port))
    except OSError as exc:
        print(f"ajil: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except app.StartupError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_OK
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
