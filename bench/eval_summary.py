"""The summarizer against the lead-3 baseline on the composed evaluation set.

Run: python -m bench.eval_summary
Score: the share of an editor's three chosen sentences that a method picks (tests/data/summaries.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.news.summary import candidate_sentences, lead, summarize

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "summaries.json"


def load_articles(path: Path = DATA) -> list[dict[str, Any]]:
    articles: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["articles"]
    return articles


def score(
    method: Callable[[Sequence[str], str], list[str]], articles: list[dict[str, Any]]
) -> float:
    hits = total = 0
    for article in articles:
        sentences = candidate_sentences(article["paragraphs"])
        gold = {sentences[i] for i in article["gold"]}
        picked = set(method(article["paragraphs"], article["title"]))
        hits += len(picked & gold)
        total += len(gold)
    return hits / total


def main() -> None:
    articles = load_articles()
    ours = score(lambda p, t: summarize(p, t, 3), articles)
    baseline = score(lambda p, t: lead(p, 3), articles)
    print(f"{len(articles)} articles, 3 sentences each")
    print(f"summarizer: {ours:.2f} of the editor's sentences")
    print(f"lead-3:     {baseline:.2f} of the editor's sentences")


if __name__ == "__main__":
    main()
