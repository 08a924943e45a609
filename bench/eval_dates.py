"""Publication dates on htmldate's own 200-page test set: Ajil against htmldate.

Run: python -m bench.eval_dates            (--all lists every page, not only Ajil's misses;
     --timing measures published_time's cost a page instead)
The set is ../shared/corpus/htmldate_test_set.tar.xz (pages/NAME.html and gold.json with
{"rows": [{file, url, lang, date}]}); it is unpacked into a temporary folder at run time and
never kept. Without it the run prints why and does nothing else.

Both read the page alone, as htmldate's own evaluation does (tests/evaluation.py in
adbar/htmldate): no URL. Ajil goes through `published_time`, the function that dates an article
page in the product (`extract_article` calls it); htmldate through
`find_date(extensive_search=True)`, both with `original_date=True` (its evaluation's setting) and
with its default `original_date=False`. A page is right when the day (YYYY-MM-DD, in the page's
own offset) equals the gold day; no date counts as wrong, except on the 5 pages whose gold is
"nan" (no date on the page), where no date is the right answer, as htmldate's scoring has it.
Ajil is given UTC as the source's zone: the sites' zones are unknown here, and UTC moves no
local time to another day (the product gives each source its own zone).

A page counts as Arabic when gold or its <html lang> says "ar", or, with no such claim or a
wrong one (beirutobserver says en-US), when its <title> is mostly Arabic letters without the
Persian letters پ چ ژ گ ک ی.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from bot.news.article import published_time
from bot.news.encoding import decode
from tests.conftest import CORPUS  # one rule for finding ../shared/corpus

TARBALL = CORPUS / "htmldate_test_set.tar.xz"
# The sites' own zones are not known to the set: UTC shifts no day. A page's own offset is kept.
ZONE = UTC
NO_DATE = ("nan", "", None)
_PERSIAN = re.compile(r"[پچژگکی]")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Page:
    name: str
    lang: str
    gold: str
    arabic: bool
    ajil: str | None
    htmldate: str | None
    htmldate_original: str | None


@dataclass
class DateFigures:
    """One run over the set: every page's answers and the time each reader took."""

    pages: list[Page] = field(default_factory=list)
    ajil_seconds: float = 0.0
    htmldate_seconds: float = 0.0
    skipped: str | None = None

    def right(self, reader: str, arabic_only: bool = False) -> tuple[int, int]:
        pages = [p for p in self.pages if p.arabic or not arabic_only]
        return sum(1 for p in pages if _is_right(getattr(p, reader), p.gold)), len(pages)

    def misses(self) -> list[Page]:
        return [p for p in self.pages if not _is_right(p.ajil, p.gold)]

    def lines(self, every_page: bool = False) -> list[str]:
        if self.skipped:
            return [f"dates: skipped ({self.skipped})"]
        out = [f"dates on htmldate's test set: {len(self.pages)} pages, right to the day"]
        for label, reader in (
            ("Ajil (published_time)", "ajil"),
            ("htmldate extensive, original_date=True", "htmldate_original"),
            ("htmldate extensive, default", "htmldate"),
        ):
            right, total = self.right(reader)
            ar_right, ar_total = self.right(reader, arabic_only=True)
            out.append(
                f"  {label:<40} {right:>3}/{total} = {right / total:.3f}"
                f"   Arabic {ar_right}/{ar_total}"
            )
        per_page = 1000 / max(1, len(self.pages))
        out.append(
            f"  time: Ajil {self.ajil_seconds * per_page:.1f} ms a page,"
            f" htmldate (both settings) {self.htmldate_seconds * per_page:.1f} ms a page"
        )
        shown = self.pages if every_page else self.misses()
        out.append(f"  {'pages' if every_page else 'pages Ajil gets wrong'}: {len(shown)}")
        for page in shown:
            mark = "ok " if _is_right(page.ajil, page.gold) else "BAD"
            out.append(
                f"    {mark} {page.name:<16} {page.lang or '-':<6}{' ar' if page.arabic else '   '}"
                f" gold {page.gold}  ajil {page.ajil or '-':<10}"
                f"  htmldate {page.htmldate_original or '-'} / {page.htmldate or '-'}"
            )
        return out


def _is_right(answer: str | None, gold: str) -> bool:
    """Right to the day; on a page whose gold is "nan" (it names no date), right is no answer,
    as in htmldate's own scoring (a true negative)."""
    if gold in NO_DATE:
        return answer is None
    return answer == gold


def is_arabic(lang: str, html: str) -> bool:
    tree = LexborHTMLParser(html)
    root = tree.css_first("html")
    declared = [lang.lower(), ((root.attributes.get("lang") or "") if root else "").lower()]
    if any(code.startswith("ar") for code in declared):
        return True
    if any(code.startswith("fa") for code in declared):
        return False
    title_node = tree.css_first("title")
    title = title_node.text() if title_node is not None else ""
    arabic = len(_ARABIC_LETTER.findall(title))
    return arabic > len(_LATIN_LETTER.findall(title)) and not _PERSIAN.search(title)


def run(tarball: Path = TARBALL, progress: Callable[[str], None] | None = None) -> DateFigures:
    """Date every page of the set with Ajil and htmldate; a DateFigures with `skipped` set when
    the tarball is absent."""
    if not tarball.is_file():
        return DateFigures(skipped=f"{tarball} is absent")
    from htmldate import find_date

    figures = DateFigures()
    with tempfile.TemporaryDirectory(prefix="ajil-dates-") as folder:
        with tarfile.open(tarball, "r:xz") as archive:
            archive.extractall(folder, filter="data")
        root = Path(folder)
        rows = json.loads((root / "gold.json").read_text("utf-8"))["rows"]
        find_date("<html><body><p>warm-up 2020-01-01</p></body></html>")  # first-load cost
        for row in rows:
            html = decode((root / "pages" / row["file"]).read_bytes())
            started = time.perf_counter()
            moment = published_time(LexborHTMLParser(html), ZONE)
            middle = time.perf_counter()
            by_default = find_date(html, extensive_search=True)
            by_original = find_date(html, extensive_search=True, original_date=True)
            figures.ajil_seconds += middle - started
            figures.htmldate_seconds += time.perf_counter() - middle
            figures.pages.append(
                Page(
                    name=row["file"],
                    lang=row["lang"],
                    gold=row["date"] if isinstance(row["date"], str) else "nan",  # NaN: none
                    arabic=is_arabic(row["lang"], html),
                    ajil=moment.date().isoformat() if moment is not None else None,
                    htmldate=by_default,
                    htmldate_original=by_original,
                )
            )
            if progress is not None:
                progress(row["file"])
    return figures


def date_figures() -> list[str]:
    """Printable lines for bench/eval_sources.py: accuracy of Ajil and htmldate, overall and on
    Arabic pages, and the pages Ajil gets wrong; one "skipped" line when the set is absent."""
    return run().lines()


def timing(tarball: Path = TARBALL, rounds: int = 3) -> list[str]:
    """published_time's cost a page on the set: each page's best of `rounds`, then the median,
    mean and 90th percentile over pages (the machine is shared: the best of a few is the cost)."""
    if not tarball.is_file():
        return [f"timing: skipped ({tarball} is absent)"]
    with tempfile.TemporaryDirectory(prefix="ajil-dates-") as folder:
        with tarfile.open(tarball, "r:xz") as archive:
            archive.extractall(folder, filter="data")
        pages = sorted((Path(folder) / "pages").glob("*.html"))
        trees = [LexborHTMLParser(decode(page.read_bytes())) for page in pages]
    best = [float("inf")] * len(trees)
    for _ in range(rounds):
        for index, tree in enumerate(trees):
            started = time.perf_counter()
            published_time(tree, ZONE)
            best[index] = min(best[index], time.perf_counter() - started)
    best.sort()
    ms = [1000 * value for value in best]
    return [
        f"published_time on {len(ms)} pages (best of {rounds}): median {ms[len(ms) // 2]:.2f} ms,"
        f" mean {sum(ms) / len(ms):.2f} ms, p90 {ms[int(len(ms) * 0.9)]:.2f} ms,"
        f" max {ms[-1]:.1f} ms"
    ]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if "--timing" in args:
        print("\n".join(timing()))
        return
    print("\n".join(run().lines(every_page="--all" in args)))


if __name__ == "__main__":
    main()
