"""`Outgoing`, the one shape every text Ajil sends takes, and its inline `Button`.

`Outgoing` guarantees what Telegram requires, whatever the composer put in it: the text is cut
to Telegram's limit (bot.compose.limits), every URL button holds a valid http(s) URI or is left
out (bot.compose.links), every callback is 1-64 bytes (bot.compose.callbacks). The composers
(bot.compose.alerts for what the sender delivers, bot.compose.views for commands' answers) make
the text Telegram HTML with every interpolated value cleaned and escaped (bot.compose.lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.compose import callbacks
from bot.compose.limits import ELLIPSIS, MAX_TEXT, clean_line, fit_html, shorten, visible_text
from bot.compose.links import safe_url

__all__ = ["MAX_TEXT", "Button", "Outgoing", "fit"]


@dataclass(frozen=True)
class Button:
    """An inline button: a link (`url`) or a callback (`callback`, from bot.compose.callbacks)."""

    label: str
    url: str | None = None
    callback: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: HTML text, inline buttons, and how it should arrive.

    Made to fit on construction: the text is cut to 4,096 UTF-16 units of visible text (with
    «…», tags balanced), a URL button whose URL cannot be made a valid http(s) URI is left
    out, and a callback over 64 bytes raises CallbackDataError (a bug in a composer: callback
    data comes from bot.compose.callbacks). A text with nothing visible becomes «…».
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    silent: bool = False
    preview: bool = False  # a link preview (for a single article)

    def __post_init__(self) -> None:
        text = fit_html(self.text, MAX_TEXT)
        if not visible_text(text).strip(" \n\u200e\u200f"):  # Telegram refuses an empty text
            text = ELLIPSIS
        object.__setattr__(self, "text", text)
        rows = [[b for b in (_checked_button(b) for b in row) if b] for row in self.buttons]
        object.__setattr__(self, "buttons", [row for row in rows if row])


def _checked_button(button: Button) -> Button | None:
    label = shorten(clean_line(button.label), 64) or "…"
    if button.url is not None:
        url = safe_url(button.url)
        return Button(label, url=url) if url else None
    if button.callback is not None:
        return Button(label, callback=callbacks.checked(button.callback))
    return None


def fit(text: str, limit: int = MAX_TEXT) -> str:
    """Telegram-HTML `text` cut to `limit` UTF-16 units of visible text (see fit_html)."""
    return fit_html(text, limit)
