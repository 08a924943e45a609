"""Precision and recall of near-duplicate detection on the labelled headline pairs.

Run: python -m bench.eval_dedup [--threshold T] [--sweep]
The pairs (tests/data/dedup_pairs.tsv) were composed for Ajil; see docs/NEWS.md for the figures.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from bot.news.dedup import THRESHOLD, fingerprint, similarity

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dedup_pairs.tsv"


def load_pairs(path: Path = PAIRS) -> list[tuple[bool, str, str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = [line for line in handle if not line.startswith("#")]
    reader = csv.DictReader(rows, delimiter="\t")
    return [(r["label"] == "1", r["kind"], r["title_a"], r["title_b"]) for r in reader]


def evaluate(threshold: float, pairs: list[tuple[bool, str, str, str]]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for same, _, a, b in pairs:
        predicted = similarity(fingerprint(a), fingerprint(b)) >= threshold
        tp += same and predicted
        fp += (not same) and predicted
        fn += same and not predicted
        tn += (not same) and not predicted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="try thresholds 50 to 95")
    parser.add_argument("--errors", action="store_true", help="list the misclassified pairs")
    args = parser.parse_args()
    pairs = load_pairs()
    print(
        f"{len(pairs)} pairs: {sum(p[0] for p in pairs)} same story, "
        f"{sum(not p[0] for p in pairs)} different"
    )
    for threshold in range(50, 96, 5) if args.sweep else [args.threshold]:
        r = evaluate(threshold, pairs)
        print(
            f"threshold {threshold:>5}: precision {r['precision']:.2f} recall {r['recall']:.2f}"
            f" F1 {r['f1']:.2f} (tp {r['tp']} fp {r['fp']} fn {r['fn']} tn {r['tn']})"
        )
    if args.errors:
        for same, kind, a, b in pairs:
            score = similarity(fingerprint(a), fingerprint(b))
            if (score >= args.threshold) != same:
                print(f"{'missed' if same else 'false'} [{kind}] {score:.0f}: {a} | {b}")


if __name__ == "__main__":
    main()
