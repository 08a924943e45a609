"""Extractive summaries: N sentences of the body, verbatim, in their original order.

Sentences are ranked by TextRank (PageRank over TF-IDF cosine similarity between sentences),
blended with how close each is to the headline and a mild preference for the top of the
article, where news puts what matters. docs/NEWS.md compares it with the lead-3 baseline.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from bot.news.published import is_dateline
from bot.news.text import STOPWORDS, split_sentences, stem, words

MAX_CHARS = 1000
DEFAULT_SENTENCES = 3
_MIN_WORDS = 5
_DAMPING = 0.85
_ITERATIONS = 40
# Weights of the three signals; chosen on the evaluation set in tests/data/summaries.json.
_W_RANK, _W_TITLE, _W_POSITION = 0.45, 0.35, 0.20


def _terms(sentence: str) -> list[str]:
    return [stem(w) for w in words(sentence) if w not in STOPWORDS and not w.isdigit()]


def _vectors(bags: Sequence[Counter[str]]) -> list[dict[str, float]]:
    documents = len(bags)
    frequency: Counter[str] = Counter()
    for bag in bags:
        frequency.update(bag.keys())
    vectors = []
    for bag in bags:
        vector = {
            term: (1 + math.log(count)) * math.log(1 + documents / frequency[term])
            for term, count in bag.items()
        }
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        vectors.append({t: v / norm for t, v in vector.items()})
    return vectors


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _pagerank(similarity: list[list[float]]) -> list[float]:
    n = len(similarity)
    out_weight = [sum(row) or 1.0 for row in similarity]
    rank = [1.0 / n] * n
    for _ in range(_ITERATIONS):
        rank = [
            (1 - _DAMPING) / n
            + _DAMPING * sum(similarity[j][i] * rank[j] / out_weight[j] for j in range(n))
            for i in range(n)
        ]
    return rank


def candidate_sentences(paragraphs: Sequence[str]) -> list[str]:
    sentences = []
    for paragraph in paragraphs:
        sentences.extend(split_sentences(paragraph))
    return sentences


def summarize(
    paragraphs: Sequence[str],
    title: str | None = None,
    count: int = DEFAULT_SENTENCES,
    max_chars: int = MAX_CHARS,
) -> list[str]:
    """The `count` most central sentences, in article order, under `max_chars` in all."""
    sentences = candidate_sentences(paragraphs)
    if count <= 0 or not sentences:
        return []
    bags = [Counter(_terms(s)) for s in sentences]
    # A dateline standing as a sentence («تم نشره الجمعة 24 نيسان / أبريل 2020 09:22 مساءً»)
    # says when, not what: never a summary's sentence.
    eligible = [
        i
        for i, bag in enumerate(bags)
        if sum(bag.values()) >= _MIN_WORDS and not is_dateline(sentences[i])
    ]
    if not eligible:
        eligible = list(range(len(sentences)))
    # One IDF for the headline and the sentences, so their similarities are comparable.
    title_vector, *vectors = _vectors([Counter(_terms(title or "")), *[bags[i] for i in eligible]])
    similarity = [
        [0.0 if a == b else _cosine(vectors[a], vectors[b]) for b in range(len(eligible))]
        for a in range(len(eligible))
    ]
    ranks = _pagerank(similarity)
    top_rank = max(ranks) or 1.0
    scores = {}
    for position, index in enumerate(eligible):
        scores[index] = (
            _W_RANK * ranks[position] / top_rank
            + _W_TITLE * _cosine(title_vector, vectors[position])
            + _W_POSITION / (1 + position)
        )
    chosen: list[int] = []
    used = 0
    for index in sorted(scores, key=lambda i: (-scores[i], i)):
        length = len(sentences[index]) + (1 if chosen else 0)
        if used + length > max_chars:
            continue
        chosen.append(index)
        used += length
        if len(chosen) == count:
            break
    return [sentences[i] for i in sorted(chosen)]


def lead(paragraphs: Sequence[str], count: int = DEFAULT_SENTENCES) -> list[str]:
    """The baseline: the first `count` sentences."""
    return candidate_sentences(paragraphs)[:count]
