"""Links Telegram accepts: every URL placed in a button or an <a href> goes through `safe_url`.

Telegram wants a valid absolute URL (https://core.telegram.org/bots/api#inlinekeyboardbutton:
"HTTP or tg:// URL to be opened when the button is pressed"); a space, raw non-ASCII text or
another scheme is refused as BUTTON_URL_INVALID ("inline keyboard button URL '…' is invalid"),
and the whole message with it. So an item's link is made an RFC 3986 URI from the IRI a site
wrote (RFC 3987 section 3.1: path, query and fragment percent-encoded as UTF-8; the host in
IDNA), and anything that is not http(s) (javascript:, data:, file:, mailto:...) or cannot be
made valid gives no link at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import idna

from bot.compose.limits import clean

# Telegram documents no maximum for a button's URL; 2,048 is the longest URL browsers and
# link checkers commonly keep, and far beyond any article address seen on our sources.
MAX_URL = 2048
SCHEMES = ("http", "https")
# RFC 3986 unreserved and sub-delims, plus ':' and '@' (pchar) and '/' '?': left as they are.
_KEEP_PATH = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/"
)
_KEEP_QUERY = _KEEP_PATH | {"?"}
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_PORT = re.compile(r"[0-9]{1,5}")


def safe_url(raw: str | None) -> str | None:
    """An absolute http(s) URI for `raw`, or None when it cannot be one.

    "https://site.ma/أخبار/تعليق الدراسة.html" ->
    "https://site.ma/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D8%AA%D8%B9%D9%84%D9%8A%D9%82%20...html";
    "javascript:alert(1)", "data:...", "file:///etc/passwd", "//host/x", "" -> None.
    The result is ASCII, has no spaces and is at most MAX_URL characters.
    """
    if not raw:
        return None
    text = clean(raw).strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced '[' in the host
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return None
    host = _host(parts.netloc)
    if host is None:
        return None
    uri = f"{scheme}://{host}{_encode(parts.path, _KEEP_PATH) or '/'}"
    if parts.query:
        uri += "?" + _encode(parts.query, _KEEP_QUERY)
    if parts.fragment:
        uri += "#" + _encode(parts.fragment, _KEEP_QUERY)
    return uri if len(uri) <= MAX_URL else None


def _host(netloc: str) -> str | None:
    """The host (and port) in ASCII; user information is left out (news links never need it,
    and "https://trusted.ma@evil.example/" is a classic disguise)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # an IPv6 literal
        end = hostport.find("]")
        if end < 0 or not re.fullmatch(r"\[[0-9A-Fa-f:.]+\]", hostport[: end + 1]):
            return None
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            return None
    else:
        host, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
        host = host.rstrip(".")
        if not host:
            return None
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    if port is not None:
        if port == "":
            port = None
        elif not _PORT.fullmatch(port) or int(port) > 65535:
            return None
    return host if port is None else f"{host}:{port}"


def _encode(part: str, keep: frozenset[str]) -> str:
    """Percent-encode as UTF-8 every character outside `keep`, leaving valid %XX escapes."""
    out: list[str] = []
    index = 0
    while index < len(part):
        char = part[index]
        if char == "%" and _ESCAPE.match(part, index):
            out.append(part[index : index + 3].upper())
            index += 3
            continue
        if char in keep:
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        index += 1
    return "".join(out)
