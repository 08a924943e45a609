"""The demo's web chat page, read without a browser: the words its script adds to what the
bot sent are Arabic, as the rest of the page (tests/test_webchat.py runs it in Chromium)."""

from __future__ import annotations

from pathlib import Path

PAGE = Path(__file__).parents[1] / "bot" / "sandbox" / "webchat.html"


def test_the_web_chat_shows_no_english_word_of_its_own() -> None:
    page = PAGE.read_text("utf-8")
    assert 'lang="ar"' in page
    assert "edited" not in page
    assert 'const EDITED = "مُعدَّلة";' in page and '" · " + EDITED' in page
