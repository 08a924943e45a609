"""Push channels in a homepage's inline scripts: which Pusher channel fills which element.

kifache.com's urgent bar is empty in its HTML: a script connects to Pusher's hosted service,
subscribes to a public channel and appends each event's `data.message` to the bar
(research.md, "kifache's urgent bar is pushed, not served"). This module reads such scripts
without running them: `new Pusher(KEY, {cluster | wsHost/wsPort/wssPort, forceTLS |
encrypted})`, `.subscribe(CHANNEL)` on that client, `.bind(EVENT, handler)` on that
subscription, and in the handler the elements written to (jQuery's append/prepend/html/text/
after/before, the DOM's innerHTML/insertAdjacentHTML/textContent/append...) and the field of
the event read (`data.message` -> "message"). Option names and defaults are pusher-js's
(github.com/pusher/pusher-js, README "Configuration"): cluster "mt1" when neither a cluster
nor a host is given; TLS when forced, else when the page itself is https.

It recognises the common shapes (quoted with ' " or `, minified or not, chained or through
variables, a handler given inline, as an arrow or by name, one level of helper function), not
every program: a channel this misses still leaves the "empty urgent block" note, and `render =
true` reads such a bar anyway. Which element is the urgent bar is not decided here but by
bot.news.ticker (by its label); `urgent_binding` matches the two. Pure: no I/O, linear in the
scripts' length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from bot.news.outline import Outline

DEFAULT_CLUSTER = "mt1"  # pusher-js's default when no cluster nor host is given
# Bounds, so that a hostile or huge page costs little: every scan below is linear in the
# scripts read, and the work per client, subscription and handler is capped.
MAX_SCRIPT = 1_000_000  # characters of inline script read per page, in all
MAX_HELPER_SCRIPT = 50_000  # a longer script that never names Pusher is a bundle: not read
MAX_SPAN = 10_000  # characters a call's arguments or a function's body are followed, at most
MAX_ARGUMENT = 2_000  # characters of what a handler writes, looked at for the field it reads
MAX_FOUND = 10  # clients, subscriptions, binds, writes and helpers per handler, each at most
_SCRIPT_TYPES = ("", "text/javascript", "application/javascript", "module", "text/ecmascript")

_STRING = r"""(?:'(?:[^'\\\n]|\\.){0,2000}'|"(?:[^"\\\n]|\\.){0,2000}"|`(?:[^`\\$]|\\.){0,2000}`)"""
_NAME = r"[A-Za-z_$][\w$]*"
_PATH = rf"{_NAME}(?:\s*\.\s*{_NAME}){{0,6}}"  # bounded: a.b.c... chains cost no backtracking
_NEW_PUSHER = re.compile(r"\bnew\s+(?:window\s*\.\s*)?Pusher\s*\(")
_ASSIGNED = re.compile(rf"({_PATH})\s*=\s*$")
# Calls are found by their method name first, then their receiver is read just before it: a
# pattern that began with the receiver would be tried at every character of the scripts.
_SUBSCRIBE = re.compile(rf"\.\s*subscribe\s*\(\s*({_STRING})\s*\)")
_BIND = re.compile(rf"\.\s*bind\s*\(\s*({_STRING})\s*,\s*")
_RECEIVER = re.compile(rf"(?:(?<![\w$.])({_PATH})|(\)))\s*$")
_RECEIVER_SPAN = 200
_IDENTIFIER = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$.")
_STRING_REST = {
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'?"),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"?'),
    "`": re.compile(r"(?:[^`\\]|\\.)*`?", re.S),
}
_COMMENT_OR_STRING = re.compile(r"['\"`]|/[/*]")
_STRUCTURE = re.compile(r"[()\[\]{},'\"`]")
_FUNCTION_HEAD = re.compile(rf"(?:async\s+)?function\s*(?:{_NAME})?\s*\(\s*({_NAME})?[^)]*\)\s*")
_ARROW_HEAD = re.compile(rf"(?:async\s+)?(?:\(\s*({_NAME})?[^()]*\)|({_NAME}))\s*=>\s*")
_CALL = re.compile(rf"(?<![\w$.])({_NAME})\s*\(")
# Writes into an element: jQuery on a selector, the DOM on a looked-up element, or an alias;
# a property assigned (innerHTML = ..., += ...) or a method called with an argument.
_WRITE = (
    r"\s*\.\s*(?:empty\s*\(\s*\)\s*\.\s*)?(?:(?:innerHTML|outerHTML|textContent|innerText)"
    r"\s*\+?=(?!=)|(?:append|prepend|html|text|after|before|replaceWith|insertAdjacentHTML"
    r"|insertAdjacentText|appendChild|insertBefore|replaceChildren)\s*\((?!\s*\)))"
)
_JQUERY = rf"(?:\$|jQuery)\s*\(\s*({_STRING})\s*\)"
_LOOKUP = (
    rf"document\s*\.\s*(querySelector(?:All)?|getElementById|getElementsByClassName)"
    rf"\s*\(\s*({_STRING})\s*\)(?:\s*\[\s*\d+\s*\])?"
)
_JQUERY_WRITE = re.compile(_JQUERY + _WRITE)
_DOM_WRITE = re.compile(_LOOKUP + _WRITE)
_ALIAS = re.compile(rf"(?<![\w$.])({_NAME})\s*=\s*(?:{_JQUERY}|{_LOOKUP})")
_NAME_WRITE = re.compile(rf"(?<![\w$.])({_NAME}){_WRITE}")
_PAGE_HOST = re.compile(r"^(?:window\s*\.\s*|document\s*\.\s*)?location\s*\.\s*host(?:name)?$")


@dataclass(frozen=True)
class PushBinding:
    """One Pusher event handler found in a page's scripts.

    `key` is the app key; `cluster` names Pusher's hosted service (wss://ws-CLUSTER.pusher.com)
    and `ws_url` another server (scheme://host:port, as wsHost/wsPort/wssPort set it): exactly
    one of the two is set. `message_field` is the field of the event's data the handler writes
    (None: it writes the whole payload); `targets` the CSS selectors of the elements it writes
    into, as the script names them."""

    key: str
    cluster: str | None
    ws_url: str | None
    channel: str
    event: str
    message_field: str | None
    targets: tuple[str, ...]

    def describe(self) -> str:
        """One line for an operator: "key K, channel C, event E, cluster eu"."""
        server = f"cluster {self.cluster}" if self.cluster else f"server {self.ws_url}"
        return f"key {self.key}, channel {self.channel}, event {self.event}, {server}"


@dataclass(frozen=True)
class _Client:
    key: str
    cluster: str | None
    ws_url: str | None
    names: frozenset[str]  # variables holding it (last path segment)
    end: int  # where its `new Pusher(...)` call ends


def inline_scripts(tree: LexborHTMLParser) -> list[str]:
    """The text of the page's inline scripts (not JSON, not templates), in page order."""
    out = []
    for node in tree.css("script"):
        kind = (node.attributes.get("type") or "").strip().lower()
        if kind in _SCRIPT_TYPES:
            text = node.text(deep=True)
            if text.strip():
                out.append(text)
    return out


def find_bindings(scripts: Iterable[str], page_url: str) -> list[PushBinding]:
    """Every Pusher event handler in `scripts` that writes into the page, in script order.

    `page_url` gives the TLS default and the host that `wsHost: window.location.hostname`
    means. A client whose key is not a literal (nor a variable set to one), or a handler that
    writes into no element, gives nothing. Never raises."""
    read = [s for s in scripts if "Pusher" in s or len(s) <= MAX_HELPER_SCRIPT]
    if not any("Pusher" in s for s in read):
        return []
    js = strip_comments("\n;\n".join(read)[:MAX_SCRIPT])
    clients = _clients(js, page_url)
    if not clients:
        return []
    program = _Program(js, _aliases(js))
    # Subscriptions: (channel name, variables holding it, where the subscribe call ends).
    channels: list[tuple[str, frozenset[str], int]] = []
    for match in _SUBSCRIBE.finditer(js):
        receiver = _RECEIVER.search(js, max(0, match.start() - _RECEIVER_SPAN), match.start())
        client = _receiver_client(clients, receiver)
        if receiver is None or client is None:
            continue
        before = _ASSIGNED.search(js, max(0, receiver.start() - 120), receiver.start())
        names = frozenset({_last(before.group(1))} if before else ())
        channels.append((_unquote(match.group(1)), names, match.end()))
        if len(channels) >= MAX_FOUND:
            break
    bindings: list[PushBinding] = []
    bind_ends: dict[int, tuple[str, _Client]] = {}
    for match in _BIND.finditer(js):
        receiver = _RECEIVER.search(js, max(0, match.start() - _RECEIVER_SPAN), match.start())
        found = _receiver_channel(channels, bind_ends, receiver, clients)
        if found is None:
            continue
        channel, client = found
        bind_ends[_call_end(js, match.end())] = (channel, client)
        handler = program.handler(match.end())
        if handler is not None:
            targets, field = program.writes(*handler)
            if targets:
                event = _unquote(match.group(1))
                bindings.append(
                    PushBinding(
                        client.key, client.cluster, client.ws_url, channel, event, field, targets
                    )
                )
        if len(bind_ends) >= MAX_FOUND:
            break
    return bindings


def urgent_binding(
    tree: LexborHTMLParser, page: Outline, blocks: Sequence[int], bindings: Sequence[PushBinding]
) -> PushBinding | None:
    """The first binding that writes into one of the urgent `blocks` (outline indices of
    `page`, built from `tree`): an element its selector matches is the block or inside it.
    A channel that fills anything else (a comment counter, a live score) is not urgent."""
    if not blocks:
        return None
    for binding in bindings:
        for target in binding.targets:
            try:
                nodes = tree.css(target)
            except (SelectolaxError, ValueError):
                continue  # a jQuery-only selector (":eq(0)"): no match we can trust
            for node in nodes:
                index = page.index_of.get(node.mem_id)
                if index is not None and any(page.inside(index, b) for b in blocks):
                    return binding
    return None


def strip_comments(js: str) -> str:
    """`js` with each // and /* */ comment replaced by one space, string literals kept as
    they are: a commented-out client is no client."""
    out: list[str] = []
    i = start = 0
    n = len(js)
    while (found := _COMMENT_OR_STRING.search(js, i)) is not None:
        i = found.start()
        if js[i] in "'\"`":
            i = _string_end(js, i)
            continue
        out.append(js[start:i])
        if js[i + 1] == "/":
            end = js.find("\n", i)
            i = n if end < 0 else end
        else:
            end = js.find("*/", i + 2)
            i = n if end < 0 else end + 2
        out.append(" ")
        start = i
    out.append(js[start:])
    return "".join(out)


def _string_end(js: str, i: int) -> int:
    """The index just after the string literal opening at `i` (or the line's end)."""
    rest = _STRING_REST[js[i]].match(js, i + 1)
    return rest.end() if rest is not None else len(js)


def _structure(js: str, i: int, depth: int, n: int) -> Iterator[tuple[int, str, int]]:
    """(index, character, depth after it) for each bracket and comma outside string literals,
    from `i` to `n` with `depth` brackets open."""
    while (found := _STRUCTURE.search(js, i, n)) is not None:
        i = found.start()
        c = js[i]
        if c in "'\"`":
            i = _string_end(js, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        yield i, c, depth
        i += 1


def _call_end(js: str, i: int, limit: int = MAX_SPAN) -> int:
    """The index just after the `)` closing the call whose arguments are open at `i` (or
    `limit` characters on, for a call that does not close by then)."""
    end = min(len(js), i + limit)
    for at, c, depth in _structure(js, i, 1, end):
        if depth == 0 and c != ",":
            return at + 1
    return end


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _last(path: str) -> str:
    return re.split(r"\s*\.\s*", path.strip())[-1]


def _clients(js: str, page_url: str) -> list[_Client]:
    clients: list[_Client] = []
    for match in _NEW_PUSHER.finditer(js):
        if len(clients) >= MAX_FOUND:
            break
        end = _call_end(js, match.end())
        args = _split_arguments(js[match.end() : end - 1])
        if not args:
            continue
        key = _literal(args[0], js)
        if not key:
            continue
        server = _server(_options(args[1], js) if len(args) > 1 else {}, page_url)
        if server is None:
            continue
        cluster, ws_url = server
        before = _ASSIGNED.search(js, max(0, match.start() - 120), match.start())
        names = frozenset({_last(before.group(1))} if before else ())
        clients.append(_Client(key, cluster, ws_url, names, end))
    return clients


def _split_arguments(text: str) -> list[str]:
    """Top-level comma-separated parts of an argument list."""
    parts: list[str] = []
    start = 0
    for at, c, depth in _structure(text, 0, 0, len(text)):
        if c == "," and depth == 0:
            parts.append(text[start:at].strip())
            start = at + 1
    last = text[start:].strip()
    if last:
        parts.append(last)
    return parts


def _literal(expression: str, js: str) -> str | None:
    """The string `expression` is: a literal, or a variable (or property) set to one."""
    expression = expression.strip()
    if re.fullmatch(_STRING, expression):
        return _unquote(expression)
    if re.fullmatch(_PATH, expression):
        name = re.escape(_last(expression))
        found = re.search(rf"(?<![\w$]){name}\s*[=:]\s*({_STRING})", js)
        return _unquote(found.group(1)) if found else None
    return None


def _options(expression: str, js: str) -> dict[str, tuple[bool, str]]:
    """The options object's entries: name -> (is a literal, text). Strings are unquoted,
    numbers and booleans kept as written, paths (window.location.hostname) kept as paths.
    An options variable is looked up once (`var options = {...}`)."""
    expression = expression.strip()
    if re.fullmatch(_PATH, expression):
        defined = re.search(rf"(?<![\w$.]){re.escape(_last(expression))}\s*=\s*{{", js)
        if defined is None:
            return {}
        expression = js[defined.end() - 1 : _call_end(js, defined.end())]
    if not (expression.startswith("{") and expression.endswith("}")):
        return {}
    out: dict[str, tuple[bool, str]] = {}
    for entry in _split_arguments(expression[1:-1]):
        name, sep, value = entry.partition(":")
        if not sep:
            continue
        name, value = name.strip().strip("'\"`"), value.strip()
        if re.fullmatch(_STRING, value):
            out[name] = (True, _unquote(value))
        elif re.fullmatch(r"-?\d+|true|false|!0|!1", value):
            out[name] = (True, {"!0": "true", "!1": "false"}.get(value, value))
        elif re.fullmatch(_PATH, value):
            out[name] = (False, re.sub(r"\s+", "", value))
    return out


def _server(
    options: dict[str, tuple[bool, str]], page_url: str
) -> tuple[str | None, str | None] | None:
    """(cluster, ws_url) as pusher-js would connect with these options; None when the host
    is a variable this cannot read."""
    literal = {name: text for name, (is_literal, text) in options.items() if is_literal}
    page = urlsplit(page_url)
    if "wsHost" not in options:
        if "cluster" in options and "cluster" not in literal:
            return None
        return literal.get("cluster") or DEFAULT_CLUSTER, None
    host = literal.get("wsHost")
    if host is None:
        if not _PAGE_HOST.match(options["wsHost"][1]) or not page.hostname:
            return None
        host = page.hostname
    forced = literal.get("forceTLS", literal.get("useTLS", literal.get("encrypted")))
    tls = forced == "true" if forced in ("true", "false") else page.scheme == "https"
    port = literal.get("wssPort" if tls else "wsPort") or ""
    if not port.isdigit():
        port = "443" if tls else "80"
    return None, f"{'wss' if tls else 'ws'}://{host}:{port}"


def _receiver_client(clients: list[_Client], receiver: re.Match[str] | None) -> _Client | None:
    """The client a `.subscribe(` is called on: a variable holding it, or its `new Pusher()`."""
    if receiver is None:
        return None
    if receiver.group(1) is not None:
        last = _last(receiver.group(1))
        return next((c for c in clients if last in c.names), None)
    return next((c for c in clients if c.end == receiver.start(2) + 1), None)


def _receiver_channel(
    channels: list[tuple[str, frozenset[str], int]],
    bind_ends: dict[int, tuple[str, _Client]],
    receiver: re.Match[str] | None,
    clients: list[_Client],
) -> tuple[str, _Client] | None:
    """The subscription a `.bind(` is called on: a variable holding one, or a call chained
    on a subscribe (or on a previous bind of the same channel)."""
    if receiver is None:
        return None
    name, paren = receiver.group(1), receiver.start(2) if receiver.group(2) else -1
    for channel, names, end in channels:
        if (name is not None and _last(name) in names) or (name is None and end == paren + 1):
            return channel, _client_before(clients, end)
    if name is None:
        return bind_ends.get(paren + 1)
    return None


def _client_before(clients: list[_Client], position: int) -> _Client:
    """The client a subscription belongs to: the last one created before it."""
    before = [c for c in clients if c.end <= position]
    return before[-1] if before else clients[0]


def _function_at(js: str, i: int) -> tuple[str | None, str] | None:
    """(first parameter, body) of the function expression starting at `i` (after spaces)."""
    while i < len(js) and js[i].isspace():
        i += 1
    head = _FUNCTION_HEAD.match(js, i) or _ARROW_HEAD.match(js, i)
    if head is None:
        return None
    param = head.group(1) if head.re is _FUNCTION_HEAD else (head.group(1) or head.group(2))
    at = head.end()
    if at < len(js) and js[at] == "{":
        return param, js[at + 1 : _call_end(js, at + 1) - 1]
    if head.re is _ARROW_HEAD:
        # An expression body: up to the end of the enclosing call or statement.
        end = _call_end(js, at)
        statement = re.search(r"[;\n]", js[at:end])
        return param, js[at : at + statement.start()] if statement else js[at : end - 1]
    return None


def _aliases(js: str) -> dict[str, str]:
    """Variables holding an element: name -> CSS selector."""
    out = {}
    for match in _ALIAS.finditer(js):
        if match.group(2):
            out[match.group(1)] = _unquote(match.group(2))
        else:
            out[match.group(1)] = _selector(match.group(3), match.group(4))
    return out


def _selector(lookup: str, literal: str) -> str:
    value = _unquote(literal)
    if lookup == "getElementById":
        return "#" + value
    if lookup == "getElementsByClassName":
        return "".join("." + name for name in value.split())
    return value


class _Program:
    """The scripts read, with what handlers need of them: element variables, and the named
    functions they call, each looked up once when first needed."""

    def __init__(self, js: str, aliases: dict[str, str]) -> None:
        self.js = js
        self.aliases = aliases
        self._functions: dict[str, tuple[str | None, str] | None] = {}

    def handler(self, at: int) -> tuple[str | None, str] | None:
        """(first parameter, body) of the handler given at `at`: inline, or by name."""
        found = _function_at(self.js, at)
        if found is not None:
            return found
        name = re.compile(rf"\s*({_NAME})\s*[,)]").match(self.js, at)
        return self.function(name.group(1)) if name else None

    def function(self, name: str) -> tuple[str | None, str] | None:
        """(first parameter, body) of the function `name` (`function name(...)` or
        `name = function / arrow`), None if the scripts define none."""
        if name not in self._functions:
            found = None
            # Patterns that start with a literal: the regex engine skips ahead to it.
            quoted = re.escape(name)
            declared = re.search(rf"function\s+{quoted}\s*\(", self.js)
            if declared is not None:
                found = _function_at(self.js, declared.start())
            else:
                head = rf"{quoted}\s*=\s*(?=(?:async\s+)?(?:function\b|\(|{_NAME}\s*=>))"
                for assigned in re.finditer(head, self.js):
                    if assigned.start() == 0 or self.js[assigned.start() - 1] not in _IDENTIFIER:
                        found = _function_at(self.js, assigned.end())
                        break
            self._functions[name] = found
        return self._functions[name]

    def writes(
        self, param: str | None, body: str, depth: int = 0
    ) -> tuple[tuple[str, ...], str | None]:
        """(selectors written into, field of `param` read) in a handler's body; a helper it
        calls is read too (one level), the field still being the one the handler reads."""
        writes = [(m, _unquote(m.group(1))) for m in _JQUERY_WRITE.finditer(body)]
        writes += [(m, _selector(m.group(1), m.group(2))) for m in _DOM_WRITE.finditer(body)]
        writes += [
            (m, self.aliases[m.group(1)])
            for m in _NAME_WRITE.finditer(body)
            if m.group(1) in self.aliases
        ]
        writes = writes[:MAX_FOUND]
        targets = [selector for _, selector in writes]
        arguments = [_argument(body, match.end()) for match, _ in writes]
        if depth == 0:
            called: dict[str, int] = {}
            for call in _CALL.finditer(body):
                called.setdefault(call.group(1), call.end())
            for name, at in list(called.items())[:MAX_FOUND]:
                helper = self.function(name)
                if helper is None:
                    continue
                inner, _ = self.writes(*helper, depth + 1)
                if inner:
                    targets.extend(inner)
                    arguments.append(body[at : _call_end(body, at, MAX_ARGUMENT) - 1])
        return tuple(dict.fromkeys(targets)), _field(param, arguments, body)


def _argument(body: str, at: int) -> str:
    """What is written: a call's arguments (the write ended with "(") or an assignment's
    right-hand side, up to the statement's end."""
    if body[at - 1] == "(":
        return body[at : _call_end(body, at, MAX_ARGUMENT) - 1]
    text = body[at : at + MAX_ARGUMENT]
    end = re.search(r"[;\n}]", text)
    return text[: end.start()] if end else text


def _field(param: str | None, arguments: list[str], body: str) -> str | None:
    """The field of the event data the handler writes: read in a write's argument first, else
    anywhere in the body; None when it writes the payload itself."""
    if not param:
        return None
    read = re.compile(rf"(?<![\w$.]){re.escape(param)}\s*(?:\.\s*({_NAME})|\[\s*({_STRING})\s*\])")
    for text in [*arguments, body]:
        match = read.search(text)
        if match:
            return match.group(1) or _unquote(match.group(2))
    return None
