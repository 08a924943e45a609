"""Turning fetched bytes into text: BOM, HTTP charset, in-document declaration, then detection.

Arabic sites still serve windows-1256 and ISO-8859-6, sometimes without declaring it; those
must come out as correct Arabic, never as mojibake.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
# The XML declaration of decoded text, to restate it once the text is UTF-8 again.
_TEXT_DECL = re.compile(r"""^\s*<\?xml[^>]*?\?>""")
_TEXT_DECL_ENCODING = re.compile(r"""\sencoding\s*=\s*(["'])[^"']*\1""")
# Legacy single-byte Arabic encodings first: detection on short pages is otherwise drawn to
# Cyrillic or Greek code pages that decode the same bytes without error.
_ARABIC_CANDIDATES = ("utf_8", "cp1256", "iso8859_6")


def _known(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def declared_encoding(body: bytes, header_charset: str | None) -> str | None:
    """The encoding the bytes say they are in, by BOM, HTTP header, XML declaration or meta."""
    found = _declaration(body, header_charset)
    return found[0] if found else None


def _declaration(body: bytes, header_charset: str | None) -> tuple[str, str] | None:
    """(encoding, where it is declared: "byte order mark", "HTTP header", "document")."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, "byte order mark"
    found = [(header_charset, "HTTP header")]
    found += [(name, "document") for name in _in_document(body[:4096])]
    for candidate, place in found:
        known = _known(candidate)
        if known:
            # A page labelled ISO-8859-1 is in practice windows-1252 (as browsers read it).
            return ("cp1252" if known in ("latin-1", "iso8859-1") else known), place
    return None


def _in_document(head: bytes) -> list[str]:
    found = []
    for pattern in (_XML_DECL, _META):
        match = pattern.search(head)
        if match:
            found.append(match.group(1).decode("ascii", "replace"))
    return found


def decode(body: bytes, header_charset: str | None = None) -> str:
    """The text of a page or feed, decoded by what it declares or, failing that, what it is."""
    return decode_explained(body, header_charset)[0]


def decode_explained(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """`decode`'s text, and how it was read, for an operator: "utf-8 (HTTP header)",
    "cp1256 (document)", "utf-8 (not declared)", "cp1256 (not declared: detected)",
    "iso8859-6 (document declares utf-8, which the bytes are not: detected)"."""
    declared = _declaration(body, header_charset)
    wrong = ""
    if declared:
        name, place = declared
        try:
            text = body.decode(name)
        except UnicodeDecodeError:
            # A false declaration: fall through to detection.
            wrong = f"{place} declares {name}, which the bytes are not"
        else:
            return text.removeprefix("\ufeff"), f"{name} ({place})"
    try:
        return body.decode("utf-8"), f"utf-8 ({wrong or 'not declared'})"
    except UnicodeDecodeError:
        pass
    text, name = _detect(body)
    return text, f"{name} ({wrong or 'not declared'}: detected)"


def _detect(body: bytes) -> tuple[str, str]:
    results = from_bytes(body, cp_isolation=list(_ARABIC_CANDIDATES))
    best = results.best()
    if best is not None and _arabic_share(str(best)) > 0.2:
        return str(best), best.encoding
    general = from_bytes(body).best()
    if general is not None:
        return str(general), general.encoding
    return body.decode("utf-8", errors="replace"), "utf-8, undecodable bytes replaced"


def _arabic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if "\u0600" <= c <= "\u06ff") / len(letters)


def utf8_document(text: str) -> bytes:
    """Decoded XML as UTF-8 bytes whose declaration says UTF-8: what a parser gets next.

    `text` comes from `decode`, which already chose the encoding; a parser handed these bytes
    finds a declaration that matches them and has nothing left to guess. (feedparser, handed a
    str, re-encodes it as UTF-8 and then trusts the declaration, which still names the
    original encoding: windows-1256 Arabic came out as mojibake.) Returns bytes; never raises.
    """
    text = text.removeprefix("\ufeff")
    match = _TEXT_DECL.match(text)
    if match:
        declaration = match.group(0)
        if _TEXT_DECL_ENCODING.search(declaration):
            fixed = _TEXT_DECL_ENCODING.sub(' encoding="utf-8"', declaration, count=1)
        else:
            fixed = declaration[:-2].rstrip() + ' encoding="utf-8"?>'
        text = fixed + text[match.end() :]
    return text.encode("utf-8", errors="replace")
