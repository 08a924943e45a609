"""WordPress sites through their REST API (`/wp-json/wp/v2/posts`), into Items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.news.markup import absolute_url, clean_text
from bot.news.models import Item, ParseError
from bot.news.urgency import is_urgent_label, title_urgency

POSTS_PATH = "/wp-json/wp/v2/posts"
QUERY = "per_page=20&_embed=wp:term,wp:featuredmedia"


def posts_url(site_url: str) -> str:
    """The REST posts endpoint of the WordPress site at `site_url`."""
    parts = urlsplit(site_url)
    path = parts.path
    if POSTS_PATH in path:
        return site_url
    base = path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, base + POSTS_PATH, QUERY, ""))


def posts_url_from_api(api_root: str) -> str | None:
    """The posts endpoint under the REST API root a page announces with
    `<link rel="https://api.w.org/" href=…>`: pretty (…/wp-json/) or plain (…/?rest_route=/).

    Returns None for what is not an http(s) URL. The shapes are WordPress's own
    (developer.wordpress.org/rest-api/extending-the-rest-api/routes-and-endpoints/).
    """
    parts = urlsplit(api_root.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    route = dict(query).get("rest_route")
    if route is not None:
        rest = [(k, v) for k, v in query if k != "rest_route"]
        rest.insert(0, ("rest_route", route.rstrip("/") + "/wp/v2/posts"))
        rest.extend(parse_qsl(QUERY))
        return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(rest), ""))
    path = parts.path.rstrip("/") + "/wp/v2/posts"
    return urlunsplit((parts.scheme, parts.netloc, path, QUERY, ""))


def parse_posts(text: str, source: str, base_url: str) -> list[Item]:
    try:
        posts = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not JSON ({exc.msg})") from None
    if not isinstance(posts, list):
        raise ParseError("not a list of WordPress posts")
    items = []
    for post in posts:
        if isinstance(post, dict):
            item = _item(post, source, base_url)
            if item is not None:
                items.append(item)
    return items


def _rendered(post: dict[str, Any], key: str) -> str:
    value = post.get(key)
    if isinstance(value, dict):
        value = value.get("rendered")
    return clean_text(value if isinstance(value, str) else None)


def _item(post: dict[str, Any], source: str, base: str) -> Item | None:
    raw_title = _rendered(post, "title")
    if not raw_title:
        return None
    urgent, title = title_urgency(raw_title)
    categories = tuple(
        clean_text(term.get("name"))
        for group in (post.get("_embedded") or {}).get("wp:term", []) or []
        if isinstance(group, list)
        for term in group
        if isinstance(term, dict) and term.get("name")
    )
    urgent = urgent or any(is_urgent_label(c) for c in categories)
    return Item(
        source=source,
        title=title,
        url=absolute_url(base, post.get("link") if isinstance(post.get("link"), str) else None),
        published=_date_gmt(post.get("date_gmt")),
        urgent=urgent,
        guid=str(post["id"]) if post.get("id") is not None else None,
        summary=_rendered(post, "excerpt") or None,
        image=_image(post, base),
        categories=categories,
    )


def _date_gmt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def _image(post: dict[str, Any], base: str) -> str | None:
    direct = post.get("jetpack_featured_media_url")
    if isinstance(direct, str) and direct:
        return absolute_url(base, direct)
    for media in (post.get("_embedded") or {}).get("wp:featuredmedia", []) or []:
        if isinstance(media, dict) and isinstance(media.get("source_url"), str):
            return absolute_url(base, media["source_url"])
    return None
