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
MAX_SCRIPT = 1_000_000  # characters of inline script read per page: a longer one is a bundle
_SCRIPT_TYPES = ("", "text/javascript", "application/javascript", "module", "text/ecmascript")

_STRING = r"""(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\$]|\\.)*`)"""
_NAME = r"[A-Za-z_$][\w$]*"
_PATH = rf"{_NAME}(?:\s*\.\s*{_NAME})*"
_NEW_PUSHER = re.compile(r"\bnew\s+(?:window\s*\.\s*)?Pusher\s*\(")
_ASSIGNED = re.compile(rf"({_PATH})\s*=\s*$")
_SUBSCRIBE = re.compile(rf"(?:({_PATH})|(\)))\s*\.\s*subscribe\s*\(\s*({_STRING})\s*\)")
_BIND = re.compile(rf"(?:({_PATH})|(\)))\s*\.\s*bind\s*\(\s*({_STRING})\s*,\s*")
_CONSTANT = re.compile(rf"({_PATH})\s*[=:]\s*({_STRING})")
_FUNCTION_HEAD = re.compile(rf"(?:async\s+)?function\s*(?:{_NAME})?\s*\(\s*({_NAME})?[^)]*\)\s*")
_ARROW_HEAD = re.compile(rf"(?:async\s+)?(?:\(\s*({_NAME})?[^()]*\)|({_NAME}))\s*=>\s*")
_DEFINED = re.compile(
    rf"(?:function\s+({_NAME})\s*\(|({_NAME})\s*=\s*(?:async\s+)?(?:function\b|\(?[\w$,\s]*\)?\s*=>))"
)
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
_ALIAS = re.compile(rf"({_NAME})\s*=\s*(?:{_JQUERY}|{_LOOKUP})")
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
    source = "\n;\n".join(scripts)
    if "Pusher" not in source:
        return []
    js = strip_comments(source[:MAX_SCRIPT])
    constants = {_last(m.group(1)): _unquote(m.group(2)) for m in _CONSTANT.finditer(js)}
    clients = _clients(js, constants, page_url)
    if not clients:
        return []
    aliases = _aliases(js)
    functions = _functions(js)
    # Subscriptions: (channel name, variables holding it, where the subscribe call ends).
    channels: list[tuple[str, frozenset[str], int]] = []
    for match in _SUBSCRIBE.finditer(js):
        client = _receiver_client(clients, match.group(1), match.start(2) if match.group(2) else -1)
        if client is None:
            continue
        before = _ASSIGNED.search(js, max(0, match.start() - 120), match.start())
        names = frozenset({_last(before.group(1))} if before else ())
        channels.append((_unquote(match.group(3)), names, match.end()))
    bindings: list[PushBinding] = []
    bind_ends: dict[int, tuple[str, _Client]] = {}
    for match in _BIND.finditer(js):
        found = _receiver_channel(channels, bind_ends, match, clients)
        if found is None:
            continue
        channel, client = found
        handler = _handler(js, match.end(), functions)
        call_end = _call_end(js, match.end())
        bind_ends[call_end] = (channel, client)
        if handler is None:
            continue
        param, body = handler
        targets, field = _writes(body, param, aliases, functions)
        if targets:
            bindings.append(
                PushBinding(
                    client.key,
                    client.cluster,
                    client.ws_url,
                    channel,
                    _unquote(match.group(3)),
                    field,
                    targets,
                )
            )
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
    i, n = 0, len(js)
    start = 0
    while i < n:
        c = js[i]
        if c in "'\"`":
            i = _string_end(js, i)
            continue
        if c == "/" and i + 1 < n and js[i + 1] in "/*":
            out.append(js[start:i])
            if js[i + 1] == "/":
                end = js.find("\n", i)
                i = n if end < 0 else end
            else:
                end = js.find("*/", i + 2)
                i = n if end < 0 else end + 2
            out.append(" ")
            start = i
            continue
        i += 1
    out.append(js[start:])
    return "".join(out)


def _string_end(js: str, i: int) -> int:
    """The index just after the string literal opening at `i` (or the line's end)."""
    quote = js[i]
    i += 1
    n = len(js)
    while i < n:
        c = js[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        if c == "\n" and quote != "`":
            return i
        i += 1
    return n


def _structure(js: str, i: int, depth: int) -> Iterator[tuple[int, str, int]]:
    """(index, character, depth after it) for each bracket and comma outside string literals,
    from `i` with `depth` brackets open."""
    n = len(js)
    while i < n:
        c = js[i]
        if c in "'\"`":
            i = _string_end(js, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c in "([{)]},":
            yield i, c, depth
        i += 1


def _call_end(js: str, i: int) -> int:
    """The index just after the `)` closing the call whose arguments are open at `i`."""
    for at, c, depth in _structure(js, i, 1):
        if depth == 0 and c != ",":
            return at + 1
    return len(js)


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _last(path: str) -> str:
    return re.split(r"\s*\.\s*", path.strip())[-1]


def _clients(js: str, constants: dict[str, str], page_url: str) -> list[_Client]:
    clients = []
    for match in _NEW_PUSHER.finditer(js):
        end = _call_end(js, match.end())
        args = _split_arguments(js[match.end() : end - 1])
        if not args:
            continue
        key = _literal(args[0], constants)
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
    for at, c, depth in _structure(text, 0, 0):
        if c == "," and depth == 0:
            parts.append(text[start:at].strip())
            start = at + 1
    last = text[start:].strip()
    if last:
        parts.append(last)
    return parts


def _literal(expression: str, constants: dict[str, str]) -> str | None:
    expression = expression.strip()
    if re.fullmatch(_STRING, expression):
        return _unquote(expression)
    if re.fullmatch(_PATH, expression):
        return constants.get(_last(expression))
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


def _receiver_client(clients: list[_Client], name: str | None, paren: int) -> _Client | None:
    if name is not None:
        last = _last(name)
        return next((c for c in clients if last in c.names), None)
    return next((c for c in clients if c.end == paren + 1), None)


def _receiver_channel(
    channels: list[tuple[str, frozenset[str], int]],
    bind_ends: dict[int, tuple[str, _Client]],
    match: re.Match[str],
    clients: list[_Client],
) -> tuple[str, _Client] | None:
    """The subscription a `.bind(` is called on: a variable holding one, or a call chained
    on a subscribe (or on a previous bind of the same channel)."""
    name, paren = match.group(1), match.start(2) if match.group(2) else -1
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


def _functions(js: str) -> dict[str, tuple[str | None, str]]:
    """Named functions of the scripts: name -> (first parameter, body)."""
    out: dict[str, tuple[str | None, str]] = {}
    for match in _DEFINED.finditer(js):
        if match.group(1):
            name, found = match.group(1), _function_at(js, match.start())
        else:
            name, found = match.group(2), _function_at(js, js.index("=", match.start()) + 1)
        if found is not None and name not in out:
            out[name] = found
    return out


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


def _handler(
    js: str, at: int, functions: dict[str, tuple[str | None, str]]
) -> tuple[str | None, str] | None:
    found = _function_at(js, at)
    if found is not None:
        return found
    name = re.match(rf"\s*({_NAME})\s*[,)]", js[at:])
    return functions.get(name.group(1)) if name else None


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


def _writes(
    body: str,
    param: str | None,
    aliases: dict[str, str],
    functions: dict[str, tuple[str | None, str]],
    depth: int = 0,
) -> tuple[tuple[str, ...], str | None]:
    """(selectors written into, field of `param` read) in a handler's body; a helper it calls
    is read too (one level), the field still being the one the handler reads."""
    targets: list[str] = []
    arguments: list[str] = []
    writes = [(m, _unquote(m.group(1))) for m in _JQUERY_WRITE.finditer(body)]
    writes += [(m, _selector(m.group(1), m.group(2))) for m in _DOM_WRITE.finditer(body)]
    for name, selector in aliases.items():
        pattern = rf"(?<![\w$.]){re.escape(name)}{_WRITE}"
        writes += [(m, selector) for m in re.finditer(pattern, body)]
    for match, selector in writes:
        targets.append(selector)
        arguments.append(_argument(body, match.end()))
    if depth == 0:
        for call in _CALL.finditer(body):
            helper = functions.get(call.group(1))
            if helper is not None:
                inner, _ = _writes(helper[1], helper[0], aliases, functions, depth + 1)
                if inner:
                    targets.extend(inner)
                    arguments.append(body[call.end() : _call_end(body, call.end()) - 1])
    return tuple(dict.fromkeys(targets)), _field(param, arguments, body)


def _argument(body: str, at: int) -> str:
    """What is written: a call's arguments (the write ended with "(") or an assignment's
    right-hand side, up to the statement's end."""
    if body[at - 1] == "(":
        return body[at : _call_end(body, at) - 1]
    end = re.search(r"[;\n}]", body[at:])
    return body[at : at + end.start()] if end else body[at:]


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
