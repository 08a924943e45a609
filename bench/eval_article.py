"""How close Ajil's article body is to a page's expected text.

Run: python -m bench.eval_article
The pair is CNN Arabic's page and its expected text in ../shared/corpus (from newspaper's test
data): newspaper__cnn_arabic_2013_article.html and newspaper__cnn_arabic_2013_expected_text.txt.
Scores: token precision, recall and F1 over normalized words (each word counted as often as it
occurs), and difflib's ratio over the normalized texts. Without the corpus the run says why.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.news.article import extract_article
from bot.news.encoding import decode
from bot.news.text import normalize, words
from tests.conftest import CORPUS

PAGE = "newspaper__cnn_arabic_2013_article.html"
EXPECTED = "newspaper__cnn_arabic_2013_expected_text.txt"


@dataclass(frozen=True)
class BodyScore:
    precision: float
    recall: float
    f1: float
    ratio: float


def score(got: str, expected: str) -> BodyScore:
    """Token precision/recall/F1 (multisets of normalized words) and difflib's ratio."""
    ours, theirs = Counter(words(got)), Counter(words(expected))
    common = sum((ours & theirs).values())
    precision = common / max(1, sum(ours.values()))
    recall = common / max(1, sum(theirs.values()))
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    ratio = difflib.SequenceMatcher(None, normalize(got), normalize(expected), autojunk=False)
    return BodyScore(precision, recall, f1, ratio.ratio())


def cnn_arabic(corpus: Path = CORPUS) -> BodyScore | None:
    """Ajil's body of the CNN Arabic page against its expected text; None without the corpus."""
    if not (corpus / PAGE).is_file() or not (corpus / EXPECTED).is_file():
        return None
    article = extract_article(
        decode((corpus / PAGE).read_bytes()), None, ZoneInfo("Africa/Casablanca")
    )
    return score(article.text, (corpus / EXPECTED).read_text("utf-8"))


def body_figures() -> list[str]:
    found = cnn_arabic()
    if found is None:
        return [f"article body: skipped ({CORPUS / PAGE} is absent)"]
    return [
        "article body, CNN Arabic against its expected text:",
        f"  token precision {found.precision:.3f}  recall {found.recall:.3f}  F1 {found.f1:.3f}"
        f"  difflib ratio {found.ratio:.3f}",
    ]


def main() -> None:
    print("\n".join(body_figures()))


if __name__ == "__main__":
    main()
