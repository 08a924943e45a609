"""What the commands show: /latest, /urgent, /summary, /search, /sources, /settings and its
keyboards, /stats, /help and the welcome of /start, composed as `Outgoing` messages."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bot.compose import callbacks
from bot.compose.limits import clean_line, shorten
from bot.compose.lines import clock, escaped, lines, link, one_line, shown_at
from bot.compose.links import safe_url
from bot.compose.outgoing import Button, Outgoing, fit
from bot.compose.reasons import reasons_text
from bot.config import Config
from bot.i18n import Language, translator
from bot.preferences import format_time
from storage.models import DeliveryState, FanOutProgress, SourceState, StoredItem, Subscriber
from storage.subscribers import Keyword

LANGUAGE_NAMES: dict[Language, str] = {"ar": "العربية", "fr": "Français", "en": "English"}
# Quiet hours offered as buttons (minutes after local midnight); others by /quiet.
QUIET_PRESETS = ((1380, 420), (0, 420))


def _quiet_of(subscriber: Subscriber | None) -> tuple[int, int] | None:
    if subscriber is None or subscriber.quiet_start is None or subscriber.quiet_end is None:
        return None
    return subscriber.quiet_start, subscriber.quiet_end


def filters_view(keywords: Sequence[Keyword], language: Language) -> Outgoing:
    """The chat's keywords, each with a remove button carrying the keyword's id."""
    t = translator(language)
    rows = [
        [Button(f"❌ {k.label}", callback=callbacks.RemoveKeyword(k.id).pack())] for k in keywords
    ]
    rows.append([Button(t("button-back"), callback=callbacks.SettingsHome().pack())])
    words = "، ".join(k.label for k in keywords)
    text = t("filters-title") + "\n" + (escaped(words) or t("filter-none"))
    return Outgoing(lines(language, text), rows, silent=True)


def help_message(language: Language, admin: bool) -> Outgoing:
    t = translator(language)
    parts = [t("help")] + ([t("help-admin")] if admin else [])
    return Outgoing(lines(language, *parts), silent=True)


def welcome(language: Language) -> Outgoing:
    t = translator(language)
    return Outgoing(
        lines(language, t("welcome")),
        [
            [Button(t("button-subscribe"), callback=callbacks.Subscribe().pack())],
            [Button(t("button-latest"), callback=callbacks.More(False, 0, 5).pack())],
        ],
    )


def settings(
    subscriber: Subscriber | None,
    language: Language,
    filters: Sequence[str],
) -> Outgoing:
    t = translator(language)
    level = subscriber.alert_level if subscriber and subscriber.active else None
    quiet = (
        f"{format_time(subscriber.quiet_start)}–{format_time(subscriber.quiet_end)}"
        if subscriber and subscriber.quiet_start is not None and subscriber.quiet_end is not None
        else t("off")
    )
    digest = (
        format_time(subscriber.digest_at)
        if subscriber and subscriber.digest_at is not None
        else t("off")
    )
    text = t(
        "settings-title",
        language=LANGUAGE_NAMES[language],
        level=t(f"level-{level}") if level else t("off"),
        quiet=quiet,
        digest=digest,
        filters=escaped("، ".join(filters) if language == "ar" else ", ".join(filters))
        or t("none"),
    )
    current_quiet = _quiet_of(subscriber)
    keyboard = [
        [
            Button(
                ("• " if language == code else "") + name,
                callback=callbacks.Language(code).pack(),
            )
            for code, name in LANGUAGE_NAMES.items()
        ],
        [
            Button(
                ("• " if level == lvl else "") + t(f"level-{lvl}"),
                callback=callbacks.AlertLevel(lvl).pack(),
            )
            for lvl in callbacks.LEVELS
        ],
        [
            Button(t("button-sources"), callback=callbacks.Sources().pack()),
            Button(t("button-filters"), callback=callbacks.Keywords().pack()),
        ],
        [
            Button(
                ("• " if current_quiet == preset else "")
                + f"🌙 {format_time(preset[0])}–{format_time(preset[1])}",
                callback=callbacks.Quiet(preset).pack(),
            )
            for preset in QUIET_PRESETS
        ],
    ]
    if subscriber and subscriber.quiet_start is not None:
        keyboard[-1].append(Button(t("button-quiet-off"), callback=callbacks.Quiet(None).pack()))
    return Outgoing(lines(language, text, t("settings-quiet-help")), keyboard, silent=True)


def source_toggles(
    config: Config, states: Sequence[SourceState], off: set[int], language: Language
) -> Outgoing:
    t = translator(language)
    rows = [
        [
            Button(
                ("🔕 " if state.id in off else "✅ ") + config.source_title(state.name),
                callback=callbacks.SourceToggle(state.id).pack(),
            )
        ]
        for state in states
    ]
    rows.append([Button(t("button-back"), callback=callbacks.SettingsHome().pack())])
    return Outgoing(lines(language, f"<b>{html.escape(t('sources-title'))}</b>"), rows, silent=True)


def sources_status(
    config: Config,
    states: Sequence[SourceState],
    off: set[int],
    language: Language,
    zone: tzinfo,
    now: datetime | None = None,
) -> Outgoing:
    t = translator(language)
    now = now or datetime.now(UTC)
    rows = [f"<b>{html.escape(t('sources-title'))}</b>"]
    for state in states:
        name = one_line(config.source_title(state.name), 100)
        if state.disabled:
            rows.append(t("source-off", name=name))
        elif state.id in off:
            rows.append(t("source-off-for-you", name=name))
        elif state.consecutive_failures and state.failing_since:
            rows.append(
                t(
                    "source-failing",
                    name=name,
                    since=_when(state.failing_since, zone, now),
                    error=one_line(reasons_text(state.last_error or "?", t), 200),
                )
            )
        elif state.warning and state.warning_since:
            # Read without failing, yet without what it should give: not healthy either.
            rows.append(
                t(
                    "source-warning",
                    name=name,
                    since=_when(state.warning_since, zone, now),
                    why=one_line(reasons_text(state.warning, t), 600),
                )
            )
        elif state.last_success_at:
            rows.append(t("source-ok", name=name, when=_when(state.last_success_at, zone, now)))
        else:
            rows.append(t("source-waiting", name=name))
    return Outgoing(fit(lines(language, *rows)), silent=True)


def _when(moment: datetime, zone: tzinfo, now: datetime) -> str:
    local = moment.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def search_results(
    found: Sequence[StoredItem], query: str, config: Config, language: Language
) -> Outgoing:
    t = translator(language)
    shown = one_line(query, 60)
    if not found:
        return Outgoing(lines(language, t("search-none", query=shown)), silent=True)
    zone = config.schedule.zone
    rows = [f"<b>{t('search-title', query=shown)}</b>"]
    for number, item in enumerate(found, start=1):
        title = link(one_line(item.title, 300), item.url)
        when = shown_at(item).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        source = one_line(config.source_title(item.source_name), 100)
        rows.append(f"{number}. {title}\n   {source} · {when}")
    buttons = [
        Button(t("button-summary-n", n=n), callback=callbacks.Summary(i.id).pack())
        for n, i in enumerate(found, start=1)
    ]
    return Outgoing(
        fit(lines(language, *rows)),
        [buttons[i : i + 5] for i in range(0, len(buttons), 5)],
        silent=True,
    )


def stats(
    total: int,
    active: int,
    outcomes: dict[DeliveryState, int],
    pending: tuple[int, datetime | None],
    states: Sequence[SourceState],
    config: Config,
    language: Language,
    walking: FanOutProgress | None = None,
    now: datetime | None = None,
) -> Outgoing:
    """/stats; `pending`: deliveries not yet sent and when the oldest was queued; `walking`:
    the alerts whose fan-out is not finished (a line only when there are some)."""
    t = translator(language)
    count, oldest = pending
    waited = ((now or datetime.now(UTC)) - oldest).total_seconds() if oldest else 0
    age = (
        f"{int(waited) // 3600}:{int(waited) % 3600 // 60:02d}:{int(waited) % 60:02d}"
        if oldest
        else "—"
    )
    summary = (
        ", ".join(f"{state.value} {count}" for state, count in outcomes.items() if count) or "0"
    )
    text = t("stats", total=total, active=active, outcomes=summary, pending=count, oldest=age)
    if walking is not None and (walking.alerts or walking.broadcasts):
        what = [t.n("n-alerts", walking.alerts)] if walking.alerts else []
        if walking.broadcasts:
            what.append(t.n("n-broadcasts", walking.broadcasts))
        both = what[0] if len(what) == 1 else t("fanouts-both", alerts=what[0], broadcasts=what[1])
        text += "\n" + t("stats-fanouts", alerts=both, chats=t.n("n-chats", walking.chats_left))
    health = sources_status(config, states, set(), language, config.schedule.zone)
    return Outgoing(fit(lines(language, text) + "\n" + health.text), silent=True)


@dataclass(frozen=True)
class InlineArticle:
    """A stored item as an inline-mode result (https://core.telegram.org/bots/api#inlinequeryresultarticle):
    `title` and `description` in plain text (the list the user picks from), `text` in Telegram
    HTML (what is posted), `url` valid http(s) or None."""

    title: str
    description: str
    text: str
    url: str | None


def inline_article(item: StoredItem, config: Config) -> InlineArticle:
    """The item's headline linked to its article, «🔴» when urgent, its source and local time."""
    source = config.source_title(item.source_name)
    when = clock(shown_at(item), config.schedule.zone)
    title = link(one_line(item.title, 300), item.url)
    text = f"{'🔴 ' if item.urgent else ''}<b>{title}</b>\n{one_line(source, 100)} · {when}"
    return InlineArticle(
        title=shorten(clean_line(item.title), 200) or "…",
        description=f"{source} · {when}",
        text=text,
        url=safe_url(item.url),
    )


def headlines(
    shown: Sequence[StoredItem],
    more: bool,
    offset: int,
    urgent_only: bool,
    config: Config,
    language: Language,
) -> Outgoing:
    """/latest and /urgent: the page of stored headlines `shown` (starting at `offset`),
    numbered, a summary button each, and a «more» button when `more` follow."""
    t = translator(language)
    if not shown:
        return Outgoing(lines(language, t("list-end" if offset else "list-empty")))
    count = len(shown)
    zone = config.schedule.zone
    rows = [f"<b>{html.escape(t('urgent-title' if urgent_only else 'latest-title'))}</b>"]
    for number, item in enumerate(shown, start=1):
        rows.append(_entry(number, item, config.source_title(item.source_name), zone))
    buttons = [
        Button(t("button-summary-n", n=n), callback=callbacks.Summary(item.id).pack())
        for n, item in enumerate(shown, start=1)
    ]
    keyboard = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    if more and offset + count <= callbacks.MAX_OFFSET:
        page = callbacks.More(urgent_only, offset + count, count)
        keyboard.append([Button(t("button-more"), callback=page.pack())])
    return Outgoing(lines(language, *rows), keyboard, silent=True)


def _entry(number: int, item: StoredItem, source: str, zone: tzinfo) -> str:
    title = link(one_line(item.title, 300), item.url)
    mark = "🔴 " if item.urgent else ""
    when = clock(shown_at(item), zone)
    return f"{number}. {mark}{title}\n   {one_line(source, 100)} · {when}"


def summary(
    language: Language, title: str | None, target: str, sentences: Sequence[str]
) -> Outgoing:
    """An article's summary: its title linked to `target`, one bullet a sentence, and a read
    button when `target` can be a valid http(s) URI."""
    t = translator(language)
    head = f"<b>{html.escape(t('summary-title'))}</b>"
    if title:
        head += " — " + link(one_line(title, 300), target)
    body = [f"• {escaped(s)}" for s in sentences]
    read = safe_url(target)
    buttons = [[Button(t("button-read"), url=read)]] if read else []
    return Outgoing(lines(language, head, *body), buttons, silent=True, preview=True)
