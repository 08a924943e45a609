"""How well Ajil reads real news pages: urgent and headline precision/recall, per page and overall.

Run: python -m bench.eval_sources [--corpus DIR] [--labels FILE]

Every real page of the shared corpus (/work/shared/corpus: homepages/*.html and the htmldate__,
newspaper__, trafilatura__, chardet__ pages) goes through `parse_homepage` with the page's own
URL as base. The truth is bench/data/corpus_labels.json, judged by hand from the HTML: for each
page the URLs a site labels urgent, and the URLs of real headlines (links to the site's own
articles with a visible title), each with a one-line reason. A page absent from the corpus is
skipped with the reason; so is the whole run when the corpus is absent.

Each measure is a *section*: a function taking the corpus and the labels and returning a
`Section` (per-page cells and an overall line). `main()` prints the sections side by side, one
row per page; a new section (dates against gold, for one) is one more function in SECTIONS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.eval_dates import date_figures
from bot.news.encoding import decode
from bot.news.homepage import parse_homepage
from bot.news.identity import canonical_url

ROOT = Path(__file__).resolve().parents[1]
# The shared corpus sits beside the checkout (/work/shared/corpus for /work/main and for the
# worktrees under /work/wt): the nearest ancestor holding shared/corpus.
CORPUS = next(
    (p / "shared" / "corpus" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()),
    ROOT.parent / "shared" / "corpus",
)
LABELS = ROOT / "bench" / "data" / "corpus_labels.json"


@dataclass
class Section:
    """One measure: column names, the cells of each page (by file name), the overall cells."""

    columns: list[str]
    rows: dict[str, list[str]] = field(default_factory=dict)
    overall: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # page -> why


@dataclass
class Counts:
    found: int = 0
    right: int = 0
    expected: int = 0

    def add(self, found: set[str], expected: set[str]) -> None:
        self.found += len(found)
        self.right += len(found & expected)
        self.expected += len(expected)

    @property
    def precision(self) -> float | None:
        return self.right / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.right / self.expected if self.expected else None


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _cells(counts: Counts) -> list[str]:
    return [
        _ratio(counts.precision),
        _ratio(counts.recall),
        f"{counts.right}/{counts.found}/{counts.expected}",
    ]


def find_page(corpus: Path, name: str) -> Path | None:
    for candidate in (corpus / name, corpus / "homepages" / name):
        if candidate.is_file():
            return candidate
    return None


def homepage_reading(corpus: Path, labels: dict[str, Any]) -> list[Section]:
    """Urgent and headline precision/recall of `parse_homepage` against the labels.

    Urgent: the items Ajil marks urgent against the URLs labelled urgent. Headlines: every item
    Ajil returns (urgent ones included) against the URLs labelled as headlines or urgent.
    Cells: precision, recall, right/found/expected; "-" where a ratio has no denominator.
    """
    urgent = Section(["urgent P", "urgent R", "urgent n"])
    headlines = Section(["headline P", "headline R", "headline n"])
    urgent_total, headline_total = Counts(), Counts()
    for name, truth in sorted(labels["pages"].items()):
        path = find_page(corpus, name)
        if path is None:
            urgent.skipped[name] = headlines.skipped[name] = f"absent from {corpus}"
            continue
        reading = parse_homepage(decode(path.read_bytes()), "eval", truth["base_url"])
        found_urgent = {canonical_url(i.url) for i in reading.items if i.urgent and i.url}
        found_all = {canonical_url(i.url) for i in reading.items if i.url}
        expected_urgent = {canonical_url(u) for u in truth["urgent"]}
        expected_all = expected_urgent | {canonical_url(u) for u in truth["headlines"]}
        page_urgent, page_headlines = Counts(), Counts()
        page_urgent.add(found_urgent, expected_urgent)
        page_headlines.add(found_all, expected_all)
        urgent_total.add(found_urgent, expected_urgent)
        headline_total.add(found_all, expected_all)
        urgent.rows[name] = _cells(page_urgent)
        headlines.rows[name] = _cells(page_headlines)
    urgent.overall = _cells(urgent_total)
    headlines.overall = _cells(headline_total)
    return [urgent, headlines]


SECTIONS: list[Callable[[Path, dict[str, Any]], list[Section]]] = [homepage_reading]


def render(sections: list[Section]) -> str:
    """The sections side by side: one row per page, then the overall row."""
    columns = ["page"] + [c for s in sections for c in s.columns]
    pages = sorted({p for s in sections for p in list(s.rows) + list(s.skipped)})
    table = [columns]
    for page in pages:
        row = [page]
        for section in sections:
            if page in section.rows:
                row += section.rows[page]
            else:
                row += ["skipped"] + [""] * (len(section.columns) - 1)
        table.append(row)
    table.append(["OVERALL"] + [c for s in sections for c in s.overall])
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in table]
    notes = sorted({f"skipped {p}: {why}" for s in sections for p, why in s.skipped.items()})
    return "\n".join(lines + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--no-dates", action="store_true", help="skip the 200-page date run")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"skipped: the shared corpus is absent ({args.corpus})")
        return 0
    labels = json.loads(args.labels.read_text("utf-8"))
    sections = [section for measure in SECTIONS for section in measure(args.corpus, labels)]
    print(render(sections))
    if not args.no_dates:
        # Dates are judged on htmldate's own 200-page set (gold inside), not on these pages:
        # Ajil and htmldate side by side, in the same run.
        print("\nDates against gold (htmldate's 200-page test set):")
        print("\n".join(date_figures()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
