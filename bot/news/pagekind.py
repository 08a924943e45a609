"""What a fetched page is, before reading headlines from it: a news page, or one that stands
in for it (a bot challenge served with 200, a meta-refresh stub, a redirect body, a shell that
its scripts fill).

Markers come from what such pages carry: Cloudflare's "Just a moment..." interstitial and its
/cdn-cgi/challenge-platform/ script, DDoS-Guard, Sucuri, Imperva/Incapsula, DataDome, SiteGround
and reCAPTCHA/hCaptcha walls, the cookie-and-reload JavaScript challenges of cheap hosts
(aes.js, `__test=`), Angular/React/Vue/Next/Nuxt app roots, and <noscript> "enable JavaScript"
notices. A marker only counts on a page with next to no text: a news page that embeds a
captcha in its comment form, or mounts a React widget, is still a news page. And a page whose
HTML holds a headline (bot.news.headlines: a link to one of the site's articles with its
title) is never a shell, however small it is and whatever scripts it has: it is read as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from bot.news.headlines import find_headlines
from bot.news.outline import outline

Kind = Literal["news", "challenge", "refresh", "redirect", "shell"]

# Below these, a page has no room for a news listing: a challenge or a shell, if it says so.
THIN_TEXT = 1500
THIN_LINKS = 15

_CHALLENGE_TITLE = re.compile(
    r"just a moment|attention required|please wait\W+cloudflare|checking your browser"
    r"|ddos-guard|ddos protection|sucuri website firewall|access denied|security check"
    r"|are you a robot|are you human|verify you are human|human verification|bot verification"
    r"|captcha|pardon our interruption|one moment, please|التحقق من أنك لست روبوت",
    re.I,
)
_CHALLENGE_BODY = re.compile(
    r"/cdn-cgi/challenge-platform/|_cf_chl_opt|cf-browser-verification|challenges\.cloudflare\.com"
    r"|ddos-guard|sucuri_cloudproxy|_incapsula_resource|captcha-delivery\.com|sgcaptcha"
    r"|g-recaptcha|h-captcha|hcaptcha\.com|recaptcha/api\.js|/aes\.js|__test=",
    re.I,
)
# A script that sets a cookie and reloads: the JavaScript challenge of shared hosts.
_COOKIE_RELOAD = re.compile(
    r"document\.cookie\s*=.*?location\.(?:reload|href|replace)", re.I | re.S
)
_APP_ROOT = (
    "[ng-app], [ng-version], app-root, #root, #app, #__next, #__nuxt, [data-reactroot],"
    " [data-server-rendered], #___gatsby"
)
_NOSCRIPT_JS = re.compile(r"javascript|جافا ?سكريبت|جافاسكربت", re.I)
_REFRESH = re.compile(
    r"^\s*(\d*(?:\.\d+)?)\s*(?:[;,]\s*(?:url\s*=\s*)?['\"]?([^'\"]+?)['\"]?)?\s*$", re.I
)
_REDIRECT_TITLE = re.compile(
    r"\b30[1278]\b|moved (?:permanently|temporarily)|object moved|document (?:has )?moved"
    r"|redirect",
    re.I,
)
_SHORT_REFRESH = 10  # seconds: a longer one on a full page is the page reloading itself


@dataclass(frozen=True)
class PageKind:
    """`kind` of page; `reason` is a short English phrase for a warning ("" for news);
    `target` the absolute URL a refresh stub or a redirect body points to, if any."""

    kind: Kind
    reason: str = ""
    target: str | None = None


def classify(html: str, status: int, url: str) -> PageKind:
    """What the page at `url` (fetched with HTTP `status`) is; see the module docstring.

    A redirect status (3xx) that reached us carries a body instead of a usable Location: it is
    a "redirect" whatever the body, with the body's first link (or refresh) as its target.
    Never raises.
    """
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(deep=True).strip() if title_node is not None else ""
    refresh = _refresh_target(tree, url)
    text, links = _visible_text(tree), len(tree.css("body a[href]"))
    thin = len(text) < THIN_TEXT and links < THIN_LINKS
    if 300 <= status < 400:
        target = refresh[1] if refresh else _first_link(tree, url)
        return PageKind(
            "redirect", f"the server answered {status} with a page instead of a redirect", target
        )
    # Before refreshes: a challenge often refreshes to itself with a token, again and again.
    if thin and _CHALLENGE_TITLE.search(title):
        return PageKind("challenge", f"page looks like a bot challenge ({title[:60]!r})")
    marker = (_CHALLENGE_BODY.search(html) or _COOKIE_RELOAD.search(html)) if thin else None
    if marker:
        return PageKind("challenge", f"page looks like a bot challenge ({marker.group(0)[:40]!r})")
    if refresh and refresh[1] != url and (thin or refresh[0] <= _SHORT_REFRESH):
        return PageKind("refresh", "the page only redirects (meta refresh)", refresh[1])
    if thin:
        if _REDIRECT_TITLE.search(title) and len(text) < 300:
            target = _first_link(tree, url)
            if target and target != url:
                return PageKind("redirect", "the page is a redirect notice", target)
        shell = _shell(tree, text, url)
        if shell:
            return PageKind("shell", shell)
    return PageKind("news")


def _visible_text(tree: LexborHTMLParser) -> str:
    body = tree.body
    if body is None:
        return ""
    copy = LexborHTMLParser(body.html or "")
    copy.strip_tags(["script", "style", "noscript", "template", "svg"])
    inner = copy.body
    return " ".join((inner.text(deep=True, separator=" ") if inner is not None else "").split())


def _refresh_target(tree: LexborHTMLParser, url: str) -> tuple[float, str] | None:
    for meta in tree.css("meta[http-equiv]"):
        if (meta.attributes.get("http-equiv") or "").strip().lower() != "refresh":
            continue
        match = _REFRESH.match(meta.attributes.get("content") or "")
        if not match or not match.group(2):
            continue
        delay = float(match.group(1)) if match.group(1) else 0.0
        target = urljoin(url, match.group(2).strip())
        if target.startswith(("http://", "https://")):
            return delay, target
    return None


def _first_link(tree: LexborHTMLParser, url: str) -> str | None:
    for anchor in tree.css("a[href]"):
        target = urljoin(url, (anchor.attributes.get("href") or "").strip())
        if target.startswith(("http://", "https://")):
            return target
    return None


def _shell(tree: LexborHTMLParser, text: str, url: str) -> str | None:
    if find_headlines(outline(tree), url, limit=1):
        return None  # its headlines are in its HTML: what its scripts add is extra
    for noscript in tree.css("noscript"):
        if _NOSCRIPT_JS.search(noscript.text(deep=True)):
            return "page is a shell that its scripts fill (it asks to enable JavaScript)"
    if tree.css_first(_APP_ROOT) is not None:
        return "page is a shell that its scripts fill (an app root with no headlines)"
    body = tree.body
    custom = body is not None and any(
        "-" in node.tag[1:] and node.tag[0].isalpha() for node in body.traverse() if node.tag
    )
    if custom:
        return "page is a shell that its scripts fill (custom elements, no headlines)"
    if len(text) < 200 and tree.css_first("script") is not None:
        return "page is a shell that its scripts fill (no text in its HTML)"
    return None
