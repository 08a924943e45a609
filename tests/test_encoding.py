"""Bytes to text: BOM, HTTP charset, declarations, false declarations, detection."""

from __future__ import annotations

import codecs

import pytest

from bot.news.encoding import declared_encoding, decode, decode_explained

ARABIC = "<p>انقطاع الكهرباء عن أحياء وسط المدينة بسبب عطب في محطة التحويل الرئيسية</p>"


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        (codecs.BOM_UTF8 + ARABIC.encode("utf-8"), None, "utf-8"),
        (codecs.BOM_UTF16_LE + ARABIC.encode("utf-16-le"), None, "utf-16-le"),
        (ARABIC.encode("cp1256"), "windows-1256", "cp1256"),
        (b'<?xml version="1.0" encoding="windows-1256"?><rss/>', None, "cp1256"),
        (b'<html><head><meta charset="iso-8859-6"></head>', None, "iso8859-6"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">', None, "utf-8"),
        (b"<p>x</p>", "ISO-8859-1", "cp1252"),
        (b"<p>x</p>", "no-such-charset", None),
    ],
)
def test_declarations(body: bytes, header: str | None, expected: str | None) -> None:
    assert declared_encoding(body, header) == expected


@pytest.mark.parametrize("codec", ["utf-8", "cp1256", "iso8859_6", "utf-16"])
def test_arabic_comes_out_right_whatever_the_encoding(codec: str) -> None:
    body = ARABIC.encode(codec)
    assert ARABIC in decode(body, "utf-16" if codec == "utf-16" else None)


def test_a_false_declaration_falls_back_to_detection() -> None:
    body = ('<meta charset="utf-8">' + ARABIC).encode("cp1256")
    assert ARABIC in decode(body)


def test_bom_is_not_part_of_the_text() -> None:
    assert decode(codecs.BOM_UTF8 + b"<rss/>") == "<rss/>"


@pytest.mark.parametrize(
    ("body", "header", "how"),
    [
        (codecs.BOM_UTF8 + ARABIC.encode("utf-8"), None, "utf-8 (byte order mark)"),
        (ARABIC.encode("cp1256"), "windows-1256", "cp1256 (HTTP header)"),
        (b'<meta charset="iso-8859-6">' + ARABIC.encode("iso8859_6"), None, "iso8859-6 (document)"),
        (ARABIC.encode("utf-8"), None, "utf-8 (not declared)"),
        (ARABIC.encode("cp1256"), None, "cp1256 (not declared: detected)"),
        (
            ('<meta charset="utf-8">' + ARABIC).encode("cp1256"),
            None,
            "cp1256 (document declares utf-8, which the bytes are not: detected)",
        ),
    ],
)
def test_how_the_bytes_were_read_is_told(body: bytes, header: str | None, how: str) -> None:
    # What `ajil probe` prints as the site's encoding; the text is decode's, always.
    text, told = decode_explained(body, header)
    assert (told, text) == (how, decode(body, header))
    assert ARABIC in text
