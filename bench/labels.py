"""Benchmark the labellers against the hand-written gold set (tests/data/label-gold.tsv) on ../shared/corpus.

Run from the repository root: `python -m bench.labels [--out bench/results] [--no-local] [--openai-url URL
--openai-model NAME]`.

1. Captures the corpus once into OUT/corpus-data (shared with `python -m bench.build`), cleans it and finds its
   topics in OUT/labels-build.
2. Labels every page with the bare <title> (the prototype's label) and the extractive labeller, and the gold
   pages with the local SmolLM2 labeller (and an OpenAI-compatible server when given), timing each.
3. Per labeller, on the gold pages: mean MiniLM similarity to the gold request, boilerplate rate, duplicate
   rate; on the whole corpus: boilerplate and duplicate rates and pages per second.
Writes OUT/labels.json with every figure and a few examples.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.build import capture_corpus
from tinyweb.dataset.labelers import LabelFailure, make_labeler
from tinyweb.dataset.outline import label_inputs
from tinyweb.dataset.quality import boilerplate_rate, duplicate_rate, match_gold, quality, read_gold
from tinyweb.pipeline import BuildOptions, load_pages, read_topics, run_clean, run_topics

GOLD = Path(__file__).parent.parent / "tests" / "data" / "label-gold.tsv"


def timed_labels(name: str, pages: list, **options) -> tuple[dict[str, str], dict]:
    labeler = make_labeler(name, **options)
    start = time.perf_counter()
    results = labeler.label(pages)
    seconds = time.perf_counter() - start
    labels = {p.id: r for p, r in zip(pages, results, strict=True) if isinstance(r, str)}
    failures = sum(isinstance(r, LabelFailure) for r in results)
    return labels, {
        "pages": len(pages),
        "failures": failures,
        "seconds": round(seconds, 2),
        "pages_per_second": round(len(pages) / seconds, 2) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--no-local", action="store_true", help="Skip the SmolLM2 labeller.")
    parser.add_argument("--openai-url", help="Also measure an OpenAI-compatible server.")
    parser.add_argument("--openai-model", default="default")
    args = parser.parse_args()

    store = capture_corpus(args.out / "corpus-data")
    out = args.out / "labels-build"
    if not (out / "topics.json").is_file():
        run_clean(store, out, BuildOptions.of(max_tokens=0).clean)
        run_topics(out)
    pages = load_pages(out)
    page_topic, keywords = read_topics(out, pages)
    inputs = label_inputs(pages, page_topic, keywords)
    gold = match_gold(read_gold(GOLD), inputs)
    gold_inputs = [p for p in inputs if p.id in gold]
    print(f"{len(inputs)} pages, {len(gold)} in the gold set")

    candidates: dict[str, dict[str, str]] = {"title": {p.id: p.title for p in inputs}}
    timing: dict[str, dict] = {}
    candidates["extractive"], timing["extractive"] = timed_labels("extractive", inputs)
    if not args.no_local:
        candidates["local"], timing["local"] = timed_labels("local", gold_inputs)
    if args.openai_url:
        candidates["openai"], timing["openai"] = timed_labels(
            "openai", gold_inputs, url=args.openai_url, model=args.openai_model
        )
    scores = quality({name: labels for name, labels in candidates.items()}, gold)
    for name in ("title", "extractive"):
        texts = [candidates[name][p.id] for p in inputs if p.id in candidates[name]]
        scores[name]["corpus_boilerplate_rate"] = boilerplate_rate(texts)
        scores[name]["corpus_duplicate_rate"] = duplicate_rate(texts)
    for name, figures in timing.items():
        scores[name]["timing"] = figures
    examples = [
        {"url": p.url, "gold": gold[p.id]} | {name: labels.get(p.id) for name, labels in candidates.items()}
        for p in gold_inputs[::8]
    ]
    result = {"pages": len(inputs), "gold_pages": len(gold), "labellers": scores, "examples": examples}
    (args.out / "labels.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")

    print(f"{'labeller':<12}{'similarity':>12}{'boilerplate':>13}{'duplicates':>12}{'pages/s':>10}")
    for name, s in scores.items():
        speed = s.get("timing", {}).get("pages_per_second")
        print(
            f"{name:<12}{s['similarity']:>12.3f}{s['boilerplate_rate']:>13.1%}{s['duplicate_rate']:>12.1%}"
            f"{speed if speed is not None else '':>10}"
        )
    print(f"figures in {args.out / 'labels.json'}")


if __name__ == "__main__":
    main()
