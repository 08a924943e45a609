"""Right-to-left text drawn by a real browser: in every Arabic message Ajil sends with a command
or a time, Debian's chromium puts "/" immediately left of each command word and draws each
time and time range left to right, as written. The same messages without the isolation (each
line starting with a right-to-left mark only, as before) are shown to fail the same check.

Positions come from the glyphs themselves (Range.getClientRects per character), in a block with
dir="auto" as a chat app shows a message.
"""

from __future__ import annotations

import re
import shutil
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.compose import views
from bot.compose.alerts import alert_message
from bot.compose.bidi import RLM, isolate_runs, without_marks
from bot.compose.limits import utf16_units, visible_text
from bot.compose.lines import lines
from bot.config import from_mapping
from bot.i18n import catalog, translator
from bot.reading import listing
from storage import Database, items
from storage import sources as source_store
from storage.models import NewItem, StoredItem, Subscriber
from storage.sources import SourceSpec
from tests.conftest import TOKEN

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
ZONE = ZoneInfo("Africa/Casablanca")
NOW = datetime(2026, 11, 29, 9, 5, tzinfo=UTC)
COMMAND = re.compile(r"(?<![\w/])/[a-z][a-z_]*")
TIME = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?:\s*[-–—]\s*\d{1,2}:\d{2})?(?![\d:])")
SAMPLE_VALUES: dict[str, object] = {
    "time": "20:00", "start": "23:00", "end": "07:00", "since": "08:15", "when": "09:05",
    "count": 12, "n": 3, "minutes": 25, "total": 1200, "active": 1100, "pending": 40,
    "rate": 30, "reason": "Bad Request: message is too long", "title": "Le Monde",
    "query": "Mawazine 2026", "name": "site", "sources": "site, hespress", "word": "Rabat",
    "words": "Rabat، Casablanca", "error": "HTTP 503", "headlines": "3", "language": "English",
    "level": "urgent", "quiet": "23:00–07:00", "digest": "20:00", "filters": "Rabat",
    "outcomes": "sent 1200", "user": "@ajil_bot",
}  # fmt: skip


def _fill(text: str) -> str:
    fields = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return text.format(**{name: SAMPLE_VALUES.get(name, "site") for name in fields})


def catalog_texts() -> dict[str, str]:
    """Every Arabic catalog entry with a command or a time, composed as Ajil sends it."""
    ar = catalog("ar")
    found: dict[str, str] = {}
    entries = list(ar.singular.items()) + [
        (f"{key}[{n}]", form) for key, forms in ar.plural.items() for n, form in enumerate(forms)
    ]
    for key, raw in entries:
        text = visible_text(lines("ar", _fill(raw)))
        if COMMAND.search(text) or TIME.search(text):
            found[key] = text
    return found


def composed_texts() -> dict[str, str]:
    """Whole messages: settings with quiet hours and a digest time, /help, and an alert with a
    Latin headline."""
    subscriber = Subscriber(
        1, "private", "ar", True, "urgent", quiet_start=1380, quiet_end=420, digest_at=1200
    )
    latin = StoredItem(
        7, "u", 1, "site", "https://site.ma/a", "Le Maroc bat l'Espagne 2-0 à Rabat",
        NOW, NOW, True, None, None, None,
    )  # fmt: skip
    return {
        "settings": visible_text(views.settings(subscriber, "ar", ["Rabat", "زلزال"]).text),
        "help": visible_text(views.help_message("ar", admin=True).text),
        "alert with a Latin headline": visible_text(
            alert_message(latin, "ar", ZONE, "Le360", True).text
        ),
    }


async def latest_text(db: Database) -> str:
    """/latest with a mixed list: Arabic, French and mixed headlines with their times."""
    data = {"telegram": {"token": TOKEN}, "sources": [{"name": "site", "url": "https://site.ma/"}]}
    config = from_mapping(data, Path("config.toml"), env={})
    await source_store.sync(db, [SourceSpec("site", "https://site.ma/", "auto")])
    titles = [
        "Le Maroc bat l'Espagne 2-0 à Rabat",
        "زلزال بقوة 5.2 درجات يضرب الحسيمة",
        "انطلاق مهرجان Mawazine في الرباط يوم 20 يونيو",
        "Hespress : أمطار رعدية بين 14:00 و18:00",
    ]
    await items.insert_new(
        db,
        [
            NewItem(f"u{n}", 1, f"https://site.ma/{n}", t, t, NOW - timedelta(minutes=n), NOW)
            for n, t in enumerate(titles)
        ],
    )
    return visible_text((await listing(db, config, "ar", 10)).message.text)


def before_the_fix(text: str) -> str:
    """The same text as Ajil composed it before: each line starting with an RLM, no marks
    around left-to-right runs."""
    return "\n".join(RLM + line for line in without_marks(text).split("\n"))


def layout_errors(text: str, rects: list[dict[str, float] | None]) -> list[str]:
    """What is drawn wrong: a command whose "/" is not immediately left of its word, a time or
    a range whose characters do not go left to right."""
    errors: list[str] = []
    for match in COMMAND.finditer(text):
        slash, letter = rects[match.start()], rects[match.start() + 1]
        assert slash and letter
        same_line = abs(slash["top"] - letter["top"]) < 4
        touching = -1.5 <= letter["left"] - slash["right"] <= 1.5
        if not (same_line and touching and slash["left"] < letter["left"]):
            errors.append(
                f"{match.group(0)!r}: slash at {slash['left']:.0f}, word at {letter['left']:.0f}"
            )
    for match in TIME.finditer(text):
        xs = [rects[i] for i in range(match.start(), match.end()) if not text[i].isspace()]
        lefts = [r["left"] for r in xs if r]
        if lefts != sorted(lefts) or len(set(lefts)) != len(lefts):
            errors.append(f"{match.group(0)!r} drawn as {lefts}")
    return errors


async def render(texts: list[str]) -> list[list[dict[str, float] | None]]:
    """Each text in its own dir="auto" block in chromium; the rectangle of each character."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        await page.set_content(
            '<html><body style="margin:0"><div id="m" dir="auto" '
            'style="white-space:pre;font:20px sans-serif;width:8000px"></div></body></html>'
        )
        result = []
        for text in texts:
            offsets = [utf16_units(text[:i]) for i in range(len(text) + 1)]
            rects = await page.evaluate(_RECTS, {"text": text, "offsets": offsets})
            result.append(rects)
        await browser.close()
    return result


_RECTS = """({text, offsets}) => {
  const box = document.getElementById('m');
  box.textContent = text;
  const node = box.firstChild;
  const out = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const range = document.createRange();
    range.setStart(node, offsets[i]);
    range.setEnd(node, offsets[i + 1]);
    const r = range.getClientRects()[0];
    out.push(r ? {left: r.left, right: r.right, top: r.top} : null);
  }
  return out;
}"""


async def test_commands_and_times_render_as_written_in_arabic(db: Database) -> None:
    messages = {**catalog_texts(), **composed_texts(), "/latest": await latest_text(db)}
    assert len(messages) >= 15, sorted(messages)  # the catalog has many such entries
    assert any(re.search(r"\d:\d\d\s*[-–]\s*\d", t) for t in messages.values())  # ranges too
    names = list(messages)
    fixed = [messages[n] for n in names]
    before = [before_the_fix(t) for t in fixed]
    drawn = await render(fixed + before)
    wrong = {
        name: errors
        for name, text, rects in zip(names, fixed, drawn[: len(names)], strict=True)
        if (errors := layout_errors(text, rects))
    }
    assert not wrong, wrong

    # The test of the test: before the fix, every message with a command is drawn wrong,
    # and so is each time range that follows Arabic words (the settings' quiet hours).
    for name, text, rects in zip(names, before, drawn[len(names) :], strict=True):
        errors = layout_errors(text, rects)
        if COMMAND.search(text):
            assert any(e.startswith("'/") for e in errors), (name, text)
    settings_before = layout_errors(
        before[names.index("settings")], drawn[len(names) + names.index("settings")]
    )
    assert any("23:00–07:00" in e for e in settings_before), settings_before


def test_isolation_leaves_french_and_english_alone() -> None:
    for language in ("fr", "en"):
        t = translator(language)
        text = t("settings-quiet-help")
        assert lines(language, text) == text
    assert isolate_runs("أرسل /settings") == "أرسل \u200e/settings\u200e"
    assert isolate_runs("«/digest 20:00».") == "«\u200e/digest 20:00\u200e»."
    assert isolate_runs("https://x.ma/a?b=1، ثم") == "\u200ehttps://x.ma/a?b=1\u200e، ثم"
    once = isolate_runs("@ajil_bot 1,234.5 (Bad Request: TOO_LONG).")
    assert once == "\u200e@ajil_bot 1,234.5\u200e (\u200eBad Request: TOO_LONG\u200e)."
    assert isolate_runs(once) == once  # idempotent
