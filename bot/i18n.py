"""Message catalogs: every user-facing text in Arabic (the default), French and English.

Catalogs are gettext .po files in bot/locale/LANG.po, read with Babel at start (no compile
step), with each language's plural rule: Arabic has six forms (0, 1, 2, 3-10, 11-99, 100+).
Message ids are symbolic keys ("alert-header"), so a missing translation is easy to find.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Literal

from babel.messages.pofile import read_po

Language = Literal["ar", "fr", "en"]
LANGUAGES: tuple[Language, ...] = ("ar", "fr", "en")
DEFAULT: Language = "ar"


@dataclass(frozen=True)
class Catalog:
    language: Language
    singular: Mapping[str, str]
    plural: Mapping[str, tuple[str, ...]]
    plural_index: Callable[[int], int]

    @property
    def rtl(self) -> bool:
        return self.language == "ar"


@cache
def catalog(language: Language) -> Catalog:
    raw = resources.files("bot").joinpath(f"locale/{language}.po").read_bytes()
    po = read_po(BytesIO(raw), locale=language)
    singular: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    for message in po:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            plural[str(message.id[0])] = tuple(str(form) for form in message.string or ())
        else:
            singular[str(message.id)] = str(message.string)
    return Catalog(language, singular, plural, gettext.c2py(po.plural_expr))


def pick_language(code: str | None) -> Language:
    """The catalog for a Telegram language_code ("fr-FR", "ar", "en-US"...), Arabic otherwise."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    for language in LANGUAGES:
        if base == language:
            return language
    return DEFAULT


class Translator:
    """Texts of one language: `t("key", name=value)` and `n("key", count, ...)`."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.catalog = catalog(language)

    @property
    def rtl(self) -> bool:
        return self.catalog.rtl

    def __call__(self, key: str, **values: object) -> str:
        text = self.catalog.singular.get(key) or catalog(DEFAULT).singular.get(key) or key
        return text.format(**values) if values else text

    def n(self, key: str, count: int, **values: object) -> str:
        forms = self.catalog.plural.get(key)
        if not forms:
            forms = catalog(DEFAULT).plural.get(key, (key,))
            index = catalog(DEFAULT).plural_index(count)
        else:
            index = self.catalog.plural_index(count)
        text = forms[min(index, len(forms) - 1)]
        return text.format(count=count, **values)


@cache
def translator(language: Language) -> Translator:
    return Translator(language)
