"""When a homepage card says its story was published: the time or date shown beside a headline.

Homepages show a time on many cards: a dateline («الجمعة 16 مارس 2018», kifache's
`span.separate-date`), a relative time («منذ 5 دقائق», alyaoum24's `<time>مند 19 ساعة</time>`),
a clock alone in a latest-news list (alyaoum24's `span.time` «17:29») or a `<time datetime>`.
The card is what holds the headline's link and no link to another article: the anchor itself,
then up to three of its ancestors. Inside it, an element counts when it is a `<time>`, when
its class, id or itemprop names a date or time (not an update, a prayer time or a countdown),
or when its whole text is a relative time. Every reading goes through bot.news.dates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, tzinfo

from bot.news.dates import parse_clock, parse_date, parse_relative
from bot.news.outline import Outline

_TIME_NAME = re.compile(r"date|time|publish|posted|ago", re.I)
_NOT_TIME_NAME = re.compile(
    r"update|modif|prayer|salat|weather|meteo|countdown|timer|timeline|runtime|duration", re.I
)
_LEVELS = 3  # ancestors of the anchor that may be its card
_CARD_SIZE = 80  # elements: a container holding more is a section, not a card
_TIME_SIZE = 4  # elements: a time element holds its text and an icon or two
_TIME_TEXT = 80  # characters: longer is a sentence, not a dateline
_RELATIVE_TEXT = 40  # characters: «منذ 12 دقيقة», «il y a 3 heures»
# What a relative time holds, looked for before the text is normalized and parsed.
_RELATIVE_HINT = re.compile(r"منذ|مند|قبل|لحظات|الآن|الان|il y a|instant|ago|just now", re.I)


def card_time(
    page: Outline,
    card: int,
    tz: tzinfo,
    now: datetime | None,
    day_first: bool | None = True,
) -> datetime | None:
    """The publication time shown inside `card` (an outline index, from `find_card`),
    timezone-aware, or None.

    `tz` is the source's zone; `now` anchors relative times and clocks alone (without it only
    absolute dates are read); `day_first` orders numeric dates (bot.news.dates.parse_date).
    """
    for index in range(card, page.ends[card]):
        if page.size(index) > _TIME_SIZE:
            continue
        tag, attributes = page.tags[index], page.attributes[index]
        names = page.names[index]
        if attributes.get("itemprop"):
            names += " " + str(attributes.get("itemprop"))
        if len(names) > 1 and _NOT_TIME_NAME.search(names):
            continue  # an update, a prayer time, a countdown: not when the story came out
        named = tag == "time" or bool(_TIME_NAME.search(names))
        if named:
            moment = _named_time(page, index, tz, now, day_first)
        elif page.size(index) == 1 and now is not None:
            # An unnamed leaf counts only as a relative time: «منذ 5 دقائق».
            text = page.text(index)
            hinted = len(text) <= _RELATIVE_TEXT and _RELATIVE_HINT.search(text)
            moment = parse_relative(text, now) if hinted else None
        else:
            continue
        if moment is not None:
            return moment
    return None


def _named_time(
    page: Outline, index: int, tz: tzinfo, now: datetime | None, day_first: bool | None
) -> datetime | None:
    """The time a `<time>` or a date- or time-named element gives: its machine value
    (`datetime`, itemprop `content`), else its text as a date, a relative time or a clock."""
    attributes = page.attributes[index]
    for machine in (attributes.get("datetime"), attributes.get("content")):
        moment = parse_date(machine, tz, now, day_first) if machine else None
        if moment is not None:
            return moment
    text = page.text(index)
    if not text or len(text) > _TIME_TEXT:
        return None
    moment = parse_date(text, tz, now, day_first)
    if moment is None and now is not None:
        moment = parse_clock(text, tz, now)
    return moment


def find_card(page: Outline, anchor: int, links_elsewhere: Callable[[int], bool]) -> int:
    """The largest element around `anchor` (an outline index) that is one article's card: the
    anchor, or an ancestor up to three levels up that holds at most 80 elements and no link to
    another article (`links_elsewhere(index)` says whether an element holds one)."""
    card = anchor
    parent = page.parents[anchor]
    for _ in range(_LEVELS):
        if parent < 0 or page.tags[parent] in ("body", "html"):
            break
        if page.size(parent) > _CARD_SIZE or links_elsewhere(parent):
            break
        card = parent
        parent = page.parents[parent]
    return card
