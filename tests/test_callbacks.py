"""Button data by construction: every kind packs within Telegram's 64 bytes with its worst-case
values, refuses more at packing time, and parses back through the handlers' own patterns."""

from __future__ import annotations

import re

import pytest
from telegram.ext import CallbackQueryHandler

from bot.compose import callbacks
from bot.compose.callbacks import CallbackDataError
from bot.preferences import MAX_WORD
from storage.subscribers import keyword_id

LONGEST_ARABIC_KEYWORD = "ض" * MAX_WORD  # 40 letters, 80 bytes
WORST = [
    callbacks.Summary(callbacks.MAX_ID),
    callbacks.More(True, callbacks.MAX_OFFSET, callbacks.MAX_PAGE),
    callbacks.More(False, 0, 1),
    callbacks.Subscribe(),
    callbacks.SettingsHome(),
    *(callbacks.Language(code) for code in callbacks.LANGUAGE_CODES),
    *(callbacks.AlertLevel(level) for level in callbacks.LEVELS),
    callbacks.Sources(),
    callbacks.SourceToggle(callbacks.MAX_ID),
    callbacks.Keywords(),
    callbacks.RemoveKeyword(keyword_id(LONGEST_ARABIC_KEYWORD)),
    callbacks.Quiet((1439, 1438)),
    callbacks.Quiet(None),
]


@pytest.mark.parametrize("button", WORST, ids=lambda b: type(b).__name__)
def test_every_kind_packs_its_worst_case_within_64_bytes(button: object) -> None:
    data = button.pack()  # type: ignore[attr-defined]
    assert 1 <= len(data.encode("utf-8")) <= 64
    assert _parse(data) == button


def _parse(data: str) -> object:
    for kind in (callbacks.Summary, callbacks.More):
        if re.match(kind.PATTERN, data):
            return kind.parse(data)
    if re.match(callbacks.Subscribe.PATTERN, data):
        return callbacks.Subscribe()
    assert re.match(callbacks.SETTINGS_PATTERN, data), data
    return callbacks.parse_settings(data)


def test_every_kind_is_covered() -> None:
    kinds = {type(b) for b in WORST}
    defined = {
        obj
        for obj in vars(callbacks).values()
        if isinstance(obj, type) and hasattr(obj, "pack") and obj.__module__ == callbacks.__name__
    }
    assert defined == kinds


def test_out_of_range_values_are_refused_when_packing() -> None:
    for bad in (
        callbacks.Summary(callbacks.MAX_ID + 1),
        callbacks.Summary(-1),
        callbacks.More(False, callbacks.MAX_OFFSET + 1, 5),
        callbacks.More(False, 0, 0),
        callbacks.SourceToggle(-5),
        callbacks.RemoveKeyword(LONGEST_ARABIC_KEYWORD),  # the word itself: never
        callbacks.RemoveKeyword("عاجل"),
        callbacks.Quiet((1440, 0)),
        callbacks.Quiet((60, 60)),
        callbacks.Language("de"),  # type: ignore[arg-type]
        callbacks.AlertLevel("loud"),  # type: ignore[arg-type]
    ):
        with pytest.raises(CallbackDataError):
            bad.pack()


def test_the_byte_limit_is_counted_in_utf8_bytes() -> None:
    assert callbacks.checked("a" * 64) == "a" * 64
    with pytest.raises(CallbackDataError):
        callbacks.checked("ض" * 33)  # 33 characters, 66 bytes
    with pytest.raises(CallbackDataError):
        callbacks.checked("")


def test_what_this_bot_never_packed_is_not_parsed() -> None:
    for data in (
        "set:unfilter:earthquake",  # the old form, with the word
        "set:lang:de",
        "set:level:loud",
        "set:quiet:1500-20",
        "set:src:x",
        "set:home:extra",
        "sum:12a",
        "more:x:0:5",
    ):
        parsed = (
            callbacks.parse_settings(data)
            or callbacks.Summary.parse(data)
            or callbacks.More.parse(data)
        )
        assert parsed is None, data


def test_the_handlers_patterns_come_from_the_callbacks_module() -> None:
    from telegram.ext import ApplicationBuilder

    from handlers import register

    application = ApplicationBuilder().token("1:x").build()
    register(application, _FakeServices())  # type: ignore[arg-type]
    patterns = {
        h.pattern.pattern  # type: ignore[union-attr]
        for group in application.handlers.values()
        for h in group
        if isinstance(h, CallbackQueryHandler) and h.pattern is not None
    }
    # ...and one handler without a pattern, last, for data the bot never made.
    catch_all = [
        h
        for h in application.handlers[0]
        if isinstance(h, CallbackQueryHandler) and h.pattern is None
    ]
    assert len(catch_all) == 1
    expected = {
        callbacks.Summary.PATTERN,
        callbacks.More.PATTERN,
        callbacks.Subscribe.PATTERN,
        callbacks.SETTINGS_PATTERN,
    }
    assert patterns == expected
    for button in WORST:  # every packed button finds its handler
        data = button.pack()
        assert any(re.match(p, data) for p in patterns), data


class _FakeServices:
    """What register() reads at registration time: nothing but attributes."""

    db = config = fetcher = sender = metrics = None
