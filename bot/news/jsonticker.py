"""JSON tickers: the small JSON endpoints where large sites serve their breaking news.

A `kind = "json"` source names where the list of entries is (`items`, a dotted path; empty for
a top-level list) and which field of an entry holds its title, link and time. Shapes seen
(research.md, "News sources"): Sky News Arabia `[{text, date (ms)}]`, Al Arabiya `{message}`,
Al Jazeera `{data: {breakingNews: {post, tickerTitle, tickerText}}}`. A path that leads to one
object (Al Arabiya's) is a ticker of one entry; an empty or null one is an empty ticker, the
usual state of a breaking-news endpoint.

Errors: a body that is not JSON, or a path that does not exist in it, raise ParseError (the
poll fails, `ajil fetch` says why); entries without a configured field are counted in warnings.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from bot.news.markup import absolute_url
from bot.news.models import Item, ParseError
from bot.news.urgency import title_urgency

MAX_ENTRIES = 100  # a ticker lists a handful; more is a listing read in part, with a warning
# Epoch numbers at or above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
MS_THRESHOLD = 100_000_000_000
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# JSONP: `callback({...});`, as some ticker endpoints answer.
_JSONP = re.compile(r"^\s*[A-Za-z_$][\w$.]*\s*\((.*)\)\s*;?\s*$", re.S)


@dataclass(frozen=True)
class TickerMapping:
    """Where a JSON ticker's entries are and what their fields are called.

    `items`: dotted path to the list ("" for the top level); a part made of digits indexes a
    list. `title_field` (required), `url_field` and `time_field` (None: the entries have none)
    are dotted paths inside an entry. `urgent`: every entry is urgent (else only those whose
    title carries an urgent marker). `site_url`: where entries without a link point (the
    site's front page)."""

    items: str = ""
    title_field: str = "title"
    url_field: str | None = None
    time_field: str | None = None
    urgent: bool = True
    site_url: str | None = None


@dataclass(frozen=True)
class TickerReading:
    items: list[Item]
    warnings: list[str]


def parse_ticker(
    text: str, mapping: TickerMapping, source: str, url: str, zone: tzinfo
) -> TickerReading:
    """The entries of a JSON ticker body as Items (from_ticker), newest as listed.

    `url` is the endpoint's (relative links resolve against it); naive times are in `zone`.
    Raises ParseError for a body that is not JSON or a path that is not in it.
    """
    data = _load(text)
    found = _follow(data, mapping.items, "items")
    if found is None:
        return TickerReading([], [])
    if isinstance(found, dict):
        entries: Sequence[Any] = [found]
    elif isinstance(found, list):
        entries = found
    else:
        raise ParseError(
            f'items "{mapping.items}" leads to {_kind(found)}, not a list or an object'
            if mapping.items
            else f"the body is {_kind(found)}, not a list or an object"
        )
    warnings: list[str] = []
    if len(entries) > MAX_ENTRIES:
        warnings.append(
            f"the ticker lists {len(entries)} entries; only the first {MAX_ENTRIES} are read"
        )
        entries = entries[:MAX_ENTRIES]
    site = mapping.site_url or urljoin(url, "/")
    items: list[Item] = []
    no_title: list[Any] = []
    not_text: list[Any] = []  # titles that are objects, lists or flags
    no_url = no_time = bad_time = not_objects = empty = 0
    for entry in entries:
        if isinstance(entry, str):
            entry = {mapping.title_field: entry}
        elif not isinstance(entry, dict):
            not_objects += 1
            continue
        raw_title = _field(entry, mapping.title_field)
        if not isinstance(raw_title, str):
            # A number is no headline (an id or a count in the wrong field), nor a list or a flag.
            if raw_title is None:
                no_title.append(entry)
            else:
                not_text.append(raw_title)
            continue
        title, link = _text_and_link(raw_title, url)
        if not title:
            empty += 1  # an empty message: nothing is breaking now, or a broken entry
            continue
        entry_url = None
        if mapping.url_field:
            raw_url = _field(entry, mapping.url_field)
            entry_url = absolute_url(url, raw_url) if isinstance(raw_url, str) else None
            if entry_url is None:
                no_url += 1
        entry_url = entry_url or link or site
        published = None
        if mapping.time_field:
            raw_time = _field(entry, mapping.time_field)
            if raw_time is None or raw_time == "":
                no_time += 1
            else:
                published = read_time(raw_time, zone)
                bad_time += published is None
        # A «عاجل |» before the title is a label, not part of the headline.
        marked, title = title_urgency(title)
        urgent = mapping.urgent or marked
        items.append(
            Item(source, title, entry_url, published, urgent=urgent, from_ticker=mapping.urgent)
        )
    total = len(entries)
    if no_title:
        keys = ", ".join(str(k) for k in list(no_title[0])[:8]) or "none"
        warnings.append(
            f'{len(no_title)} of {total} entries have no "{mapping.title_field}" (title_field); '
            f"skipped (the first one's keys: {keys})"
        )
    if not_text:
        warnings.append(
            f'{len(not_text)} of {total} entries have a "{mapping.title_field}" (title_field) '
            f"that is not text (the first: {_kind(not_text[0])}); skipped"
        )
    if empty and empty < total:
        # Every entry empty is an empty ticker, the usual state of such an endpoint; some
        # empty among headlines are entries skipped, and said.
        warnings.append(
            f'{empty} of {total} entries have an empty "{mapping.title_field}" (title_field); '
            "skipped"
        )
    if not_objects:
        warnings.append(f"{not_objects} of {total} entries are not objects; skipped")
    if no_url:
        warnings.append(
            f'{no_url} of {total} entries have no usable "{mapping.url_field}" (url_field); '
            f"they link to {site}"
        )
    if no_time:
        warnings.append(f'{no_time} of {total} entries have no "{mapping.time_field}" (time_field)')
    if bad_time:
        warnings.append(
            f'{bad_time} of {total} entries have a "{mapping.time_field}" that is not a time '
            "(expected ISO 8601, epoch seconds or milliseconds)"
        )
    return TickerReading(items, warnings)


def read_time(value: Any, zone: tzinfo) -> datetime | None:
    """A moment from an ISO 8601 string, epoch seconds or milliseconds (a number or a string
    of digits; ms from 1e11 up), or an RFC 5322 date; None if it is none of these or lies
    outside 2000-2100. A time without an offset is in `zone`."""
    moment: datetime | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= MS_THRESHOLD else value
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        moment = _iso(value.strip(), zone)
    return moment if moment is not None and _EARLIEST <= moment < _LATEST else None


def _iso(text: str, zone: tzinfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _load(text: str) -> Any:
    text = text.lstrip("\ufeff")
    wrapped = _JSONP.match(text) if not text.lstrip().startswith(("{", "[")) else None
    if wrapped:
        text = wrapped.group(1)
    try:
        return json.loads(text, parse_int=_integer)
    except json.JSONDecodeError as exc:
        if text.lstrip()[:1] == "<":
            raise ParseError("not JSON: the response is an HTML or XML page") from None
        raise ParseError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError):
        # Nesting past the interpreter's limit.
        raise ParseError("too complex (JSON nested too deep)") from None


class LongNumber:
    """An integer of more digits than Python reads (sys.get_int_max_str_digits, 4,300): kept
    as this marker, so that the one entry holding it is skipped, not the whole ticker."""

    def __repr__(self) -> str:
        return "LongNumber()"


def _integer(text: str) -> int | LongNumber:
    try:
        return int(text)
    except ValueError:
        return LongNumber()


def _follow(data: Any, path: str, key: str) -> Any:
    """The value at dotted `path` in `data`; None where the path meets a null (an empty
    ticker). Raises ParseError naming the part that is not there."""
    where = "the body"
    for part in path.split(".") if path else []:
        if data is None:
            return None
        if isinstance(data, dict):
            if part not in data:
                keys = ", ".join(str(k) for k in list(data)[:10]) or "none"
                raise ParseError(f'{key} "{path}": {where} has no key "{part}" (its keys: {keys})')
            data = data[part]
        elif isinstance(data, list) and part.isdigit():
            if int(part) >= len(data):
                raise ParseError(f'{key} "{path}": {where} has {len(data)} entries, no [{part}]')
            data = data[int(part)]
        else:
            raise ParseError(f'{key} "{path}": {where} is {_kind(data)}, so it has no "{part}"')
        where = f'"{part}"'
    return data


def _field(entry: dict[str, Any], path: str) -> Any:
    """An entry's field at dotted `path`, None when any part of it is missing."""
    value: Any = entry
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _text_and_link(raw: str, base: str) -> tuple[str, str | None]:
    """A title that may be an HTML fragment: its text, and its first link if it has one."""
    if "<" not in raw and "&" not in raw:
        return raw.strip(), None
    tree = LexborHTMLParser(f"<body>{raw}</body>")
    body = tree.body
    if body is None:
        return raw.strip(), None
    anchor = body.css_first("a[href]")
    link = absolute_url(base, anchor.attributes.get("href")) if anchor is not None else None
    return body.text(separator=" ").strip(), link


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, LongNumber):
        return "a number too long"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"
