"""What /settings, /sources, /search, /stats and /help show, composed as `Outgoing` messages."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from bot.alerts.message import (
    Button,
    Outgoing,
    clock,
    escaped,
    fit,
    lines,
    link,
    one_line,
    shown_at,
)
from bot.compose import callbacks
from bot.config import Config
from bot.i18n import Language, translator
from bot.preferences import format_time
from storage.models import DeliveryState, SourceState, StoredItem, Subscriber
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
                    error=one_line(state.last_error or "?", 200),
                )
            )
        elif state.warning and state.warning_since:
            # Read without failing, yet without what it should give: not healthy either.
            rows.append(
                t(
                    "source-warning",
                    name=name,
                    since=_when(state.warning_since, zone, now),
                    why=html.escape(state.warning),
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
    now: datetime | None = None,
) -> Outgoing:
    """/stats; `pending`: deliveries not yet sent and when the oldest was queued."""
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
    health = sources_status(config, states, set(), language, config.schedule.zone)
    return Outgoing(fit(lines(language, text) + "\n" + health.text), silent=True)


def clock_of(item: StoredItem, zone: tzinfo) -> str:
    return clock(shown_at(item), zone)
