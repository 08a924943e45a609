"""A source's warning or error, as stored in English, told in the chat's language.

The news code (bot/news/) says why a source reads less than it should in short English
phrases ("no headlines found", "feed: HTTP 500", "push channel flood: …"); they are stored as
the source's `warning` ("a; b") and `last_error`, and read as they are by `ajil fetch` and the
logs. /sources and the admins' incidents show them to people who read Arabic, French or
English: each known phrase is matched here and told with its catalog entry (`reason-*` in
bot/locale), its details (a status, a selector, a count, a channel) kept as they were. A phrase
not known here (a library's error text) is shown as it is; in an Arabic line it is a
left-to-right run, which bot.compose.bidi isolates. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.i18n import Translator

# Where in a poll a reason came from, as bot.news.sources prefixes it (longest first).
_WHERE = (
    ("homepage: render: ", "reason-where-render"),
    ("homepage: ", "reason-where-homepage"),
    ("feed: ", "reason-where-feed"),
    ("REST API: ", "reason-where-rest"),
)

# The shells' parentheses in bot.news.pagekind.
_SHELLS = {
    "it asks to enable JavaScript": "reason-shell-noscript",
    "an app root with no headlines": "reason-shell-app",
    "custom elements, no headlines": "reason-shell-custom",
    "no text in its HTML": "reason-shell-empty",
}


def _shell(t: Translator, how: str) -> str:
    key = _SHELLS.get(how)
    return t("reason-shell", how=t(key) if key else how)


# (pattern, how to tell it): each pattern is a whole phrase as bot/news writes it; its named
# groups are the details passed on to the catalog entry.
_Tell = Callable[[Translator, dict[str, str]], str]
_KNOWN: list[tuple[re.Pattern[str], _Tell]] = [
    (re.compile(p, re.S), tell)
    for p, tell in [
        (r"no headlines found", lambda t, g: t("reason-no-headlines")),
        (
            r"page looks like a bot challenge \((?P<what>.*)\)",
            lambda t, g: t("reason-challenge", what=g["what"]),
        ),
        (
            r"page is a shell that its scripts fill \((?P<how>.*)\)",
            lambda t, g: _shell(t, g["how"]),
        ),
        (r"the page only redirects \(meta refresh\)", lambda t, g: t("reason-refresh")),
        (r"the page is a redirect notice", lambda t, g: t("reason-redirect-notice")),
        (
            r"the server answered (?P<status>\d+) with a page instead of a redirect",
            lambda t, g: t("reason-redirect-page", status=g["status"]),
        ),
        (
            r"urgent block is empty in the page: its script fills it",
            lambda t, g: t("reason-empty-block"),
        ),
        (
            r"urgent block is still empty after the page's scripts ran: something fills it "
            r"later \(a push channel\? see ajil probe\)",
            lambda t, g: t("reason-still-empty"),
        ),
        (
            r"the urgent bar is filled by a Pusher push channel \((?P<channel>.*)\): add a "
            r'kind = "pusher" source; `ajil probe (?P<url>\S+)` prints it',
            lambda t, g: t("reason-pushed-bar", channel=g["channel"], url=g["url"]),
        ),
        (
            r'ticker_selector "(?P<selector>.*)" matches nothing in the page',
            lambda t, g: t("reason-selector-nothing", selector=g["selector"]),
        ),
        (
            r"push channel refused \((?P<error>.*)\): check key, cluster or ws_url",
            lambda t, g: t("reason-push-refused", error=g["error"]),
        ),
        (
            r"push channel down \((?P<error>.*)\), the site still polled",
            lambda t, g: t("reason-push-down", error=g["error"]),
        ),
        (
            r"push channel flood: (?P<held>\d+) pushed stories held back \(more than "
            r"(?P<cap>\d+) a minute\): stored, not alerted",
            lambda t, g: t("reason-push-flood", held=g["held"], cap=g["cap"]),
        ),
        (
            r"render = true, but this process has no browser to render with",
            lambda t, g: t("reason-no-browser"),
        ),
        (
            r"the ticker lists (?P<count>\d+) entries; only the first (?P<max>\d+) are read",
            lambda t, g: t("reason-json-too-many", count=g["count"], max=g["max"]),
        ),
        (
            r'(?P<n>\d+) of (?P<total>\d+) entries have no "(?P<field>.+)" \(title_field\); '
            r"skipped \(the first one's keys: (?P<keys>.*)\)",
            lambda t, g: t("reason-json-no-title", **g),
        ),
        (
            r'(?P<n>\d+) of (?P<total>\d+) entries have a "(?P<field>.+)" \(title_field\) that '
            r"is not text \(the first: (?P<what>.*)\); skipped",
            lambda t, g: t("reason-json-title-not-text", **g),
        ),
        (
            r'(?P<n>\d+) of (?P<total>\d+) entries have an empty "(?P<field>.+)" '
            r"\(title_field\); skipped",
            lambda t, g: t("reason-json-empty-title", **g),
        ),
        (
            r"(?P<n>\d+) of (?P<total>\d+) entries are not objects; skipped",
            lambda t, g: t("reason-json-not-objects", **g),
        ),
        (
            r'(?P<n>\d+) of (?P<total>\d+) entries have no usable "(?P<field>.+)" \(url_field\); '
            r"they link to (?P<site>\S+)",
            lambda t, g: t("reason-json-no-url", **g),
        ),
        (
            r'(?P<n>\d+) of (?P<total>\d+) entries have no "(?P<field>.+)" \(time_field\)',
            lambda t, g: t("reason-json-no-time", **g),
        ),
        (
            r'(?P<n>\d+) of (?P<total>\d+) entries have a "(?P<field>.+)" that is not a time '
            r"\(expected ISO 8601, epoch seconds or milliseconds\)",
            lambda t, g: t("reason-json-bad-time", **g),
        ),
        (r"HTTP (?P<status>\d{3})", lambda t, g: t("reason-http", status=g["status"])),
        (
            r"timed out after (?P<seconds>[\d.]+) s",
            lambda t, g: t("reason-timed-out", seconds=g["seconds"]),
        ),
        (r"too large \(over (?P<mb>\d+) MB\)", lambda t, g: t("reason-too-large", mb=g["mb"])),
    ]
]


# A known reason holds "; " twice at most (the JSON ticker's title_field one, once): runs of
# more parts are never tried, so that a long text of many "; " costs linear time.
_MOST_PARTS = 3


def _told(reason: str, t: Translator, strict: bool = True) -> str | None:
    """One known reason in `t`'s language, or None when it is not known here. Not `strict`:
    a known place ("feed: ") before an unknown reason is told, the reason as it is."""
    for prefix, key in _WHERE:
        if reason.startswith(prefix):
            rest = reason.removeprefix(prefix)
            why = _told(rest, t)
            return t(key, why=why or rest) if why or not strict else None
    for pattern, tell in _KNOWN:
        match = pattern.fullmatch(reason)
        if match:
            return tell(t, match.groupdict())
    return None


def reasons_text(reasons: str, t: Translator) -> str:
    """A stored warning ("a; b": reasons joined by "; ", some of which hold "; " themselves)
    or error in `t`'s language, the reasons joined by the language's own separator. Plain
    text, not escaped."""
    parts = reasons.split("; ")
    told: list[str] = []
    start = 0
    while start < len(parts):
        # The longest run of parts that is one known reason; else the part as it is.
        for end in range(min(len(parts), start + _MOST_PARTS), start, -1):
            text = _told("; ".join(parts[start:end]), t)
            if text is not None:
                break
        else:
            end, text = start + 1, _told(parts[start], t, strict=False) or parts[start]
        if text:
            told.append(text)
        start = end
    return t("reason-separator").join(told)
