"""Right-to-left lines that show left-to-right runs as written.

Telegram's apps lay text out with the Unicode bidirectional algorithm (UAX #9). In an Arabic
line, a neutral character at the edge of a Latin run takes the line's right-to-left direction:
«أرسل /settings» shows the slash on the wrong side ("settings/"), and in «/quiet 23:00-07:00»
the digits after Arabic letters become Arabic numbers, so the range reads "07:00-23:00".

Each left-to-right run inside an Arabic line (a command, a time or a range, a number with
separators, a URL, a Latin name, an @username) is wrapped in LEFT-TO-RIGHT MARKs (U+200E): the
marks are strong left-to-right characters, so the neutrals between them resolve left to right
and digits after them stay European numbers (UAX #9 rules W2, W7 and N1).

Why marks and not a first strong isolate (FSI U+2068 ... PDI U+2069): isolates are newer
(Unicode 6.3) and Telegram Desktop's own bidi implementation does not always apply them as
UAX #9 says (https://github.com/telegramdesktop/tdesktop/issues/27099, 2023: an RLI ... PDI
sequence laid out wrongly in Telegram Desktop while Telegram Web in Firefox got it right),
while the marks are honoured by every implementation, old Android and iOS releases included.
In Chromium both work (/work/shared/notes/research.md); tests/test_bidi_render.py checks the
marks there from the glyphs' positions.

Every line of an Arabic message also starts with a RIGHT-TO-LEFT MARK, so that a line opening
with a Latin word or a number is still laid out right to left.
"""

from __future__ import annotations

import html
import re

import regex

LRM = "\u200e"
RLM = "\u200f"

_STRONG = r"\p{Bidi_Class=L}\p{Bidi_Class=EN}"
# A run starts with a command slash, @, # or + (or directly with a Latin letter or a digit),
# goes on through Latin letters, digits, separators and the punctuation of URLs, times and
# handles, and ends on a letter, a digit or a percent sign: trailing punctuation ("." "،" ")")
# stays outside and follows the Arabic sentence.
_WORD = (
    rf"[/@#+]?[{_STRONG}]"
    rf"(?:[{_STRONG}\p{{Bidi_Class=ES}}\p{{Bidi_Class=ET}}\p{{Bidi_Class=CS}}"
    rf"\p{{Bidi_Class=NSM}}/\\|_~=?&%#@()'’\-–—]*[{_STRONG}%])?"
)
# Words of a run separated by single spaces are one run ("Bad Request: BUTTON_URL_INVALID",
# "/quiet 23:00-07:00"): two marks for the phrase rather than two for each word.
_RUN = regex.compile(rf"{_WORD}(?:[:,;.]?[ \u00a0]{_WORD})*")


def isolate_runs(text: str) -> str:
    """Plain `text` with each left-to-right run between two LRMs. Pure; idempotent."""
    return str(_RUN.sub(lambda match: f"{LRM}{match.group(0)}{LRM}", text.replace(LRM, "")))


_TAG = re.compile(r"(<[^<>]*>)")


def isolate_html(source: str) -> str:
    """`isolate_runs` on the text of a Telegram-HTML line, leaving tags (and so every href) as
    they are; character references count as the characters they stand for ("Q&amp;A" is one
    run) and come back escaped."""
    parts = _TAG.split(source)
    for index in range(0, len(parts), 2):  # even indexes are text, odd ones tags
        if parts[index]:
            parts[index] = html.escape(isolate_runs(html.unescape(parts[index])), quote=False)
    return "".join(parts)


def rtl_lines(source: str) -> str:
    """Every line of an Arabic Telegram-HTML text starting with an RLM, with its
    left-to-right runs isolated."""
    return "\n".join(RLM + isolate_html(line.lstrip(RLM)) for line in source.split("\n"))


_MARKS = re.compile(f"[{LRM}{RLM}]")


def without_marks(text: str) -> str:
    """`text` without the marks added here (what the text was before; for tests and logs)."""
    return _MARKS.sub("", text)
