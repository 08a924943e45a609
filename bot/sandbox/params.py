"""Reading Bot API parameters the way Telegram does: query, form or JSON, with JSON-encoded
objects inside form fields, and Telegram's wording for what is wrong with them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Refusal

Params = dict[str, Any]


def bad(description: str) -> Refusal:
    return Refusal(400, f"Bad Request: {description}")


async def read_params(request: web.Request) -> Params:
    params: Params = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad("JSON body must be an object")
            params.update(body)
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def integer(params: Params, key: str, default: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f'field "{key}" must be a valid Number') from None


def boolean(params: Params, key: str) -> bool:
    value = params.get(key)
    return value is True or str(value).lower() in ("true", "1")


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise bad("can't parse JSON") from None
    return value


def json_dict(value: Any) -> dict[str, Any] | None:
    parsed = _json_value(value) if value is not None else None
    if parsed is not None and not isinstance(parsed, dict):
        raise bad("object expected")
    return parsed


def json_list(value: Any) -> list[Any]:
    parsed = _json_value(value) if value is not None else []
    if not isinstance(parsed, list):
        raise bad("array expected")
    return parsed


def scope_key(params: Params) -> str:
    scope = json_dict(params.get("scope")) or {"type": "default"}
    return f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"
