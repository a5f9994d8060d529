"""Benchmark the build (clean → topics → framework → convert) on ../shared/corpus, and verify it.

Run from the repository root: `python -m bench.build [--verify-sample N] [--out bench/results]`.

1. Captures every corpus page once (served on 127.0.0.1:8731, prototype-format text kept) into
   `OUT/corpus-data`, reused by later runs.
2. Builds an even spread of 25 pages, then every page, in one run: seconds per stage and per page (time
   should grow about linearly), framework classes (growth from 25 pages to all), tokens against the
   prototype format and against our own snapshots.
3. Verifies an even spread of the full build's pages in Chromium (pixels and computed styles).
4. Converts the prototype's own example (`seed-sample/pre-semantic-test.html`) alone and sets its
   ratio beside the prototype's 1.47x.
5. Counts the classes other ways of factoring the same styles would need (bench.schemes).
Writes OUT/build.json with every figure.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

from lxml import html

from bench import schemes
from bench.pages import CORPUS
from tinyweb.capture.crawler import CrawlOptions, crawl
from tinyweb.compress.verify import VerifyOptions
from tinyweb.pipeline import BuildOptions, build, run_verify
from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.staticserver import StaticServer
from tinyweb.store import Store

PORT = 8731
SMALL = 25
PROTOTYPE_RATIO = 274_192 / 186_472


def capture_corpus(data: Path) -> Store:
    store = Store(data)
    with (CORPUS / "pages.tsv").open(encoding="utf-8") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    if store.count() + len(store.failures()) >= len(rows):
        return store
    with StaticServer(CORPUS, port=PORT) as server:
        seeds = [server.url + row["path"] for row in rows]
        options = CrawlOptions(
            max_pages=len(rows) + 10, max_depth=0, delay_s=0, block_external=True, seed_format="text"
        )
        summary = crawl(store, seeds, options)
    print(f"captured {summary.captured} corpus pages ({dict(summary.failed)} failed)")
    return store


def timed_build(store: Store, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    options = BuildOptions.of(max_tokens=0)
    summary = build(store, out, options, progress=lambda s: marks.append((s, time.perf_counter())))
    end = time.perf_counter()
    stages = {name: round((marks[i + 1][1] if i + 1 < len(marks) else end) - t, 2) for i, (name, t) in enumerate(marks)}
    totals = summary["convert"]["totals"]
    return {
        "pages": totals["pages"],
        "seconds": round(end - start, 2),
        "seconds_per_page": round((end - start) / totals["pages"], 3),
        "stages": stages,
        "classes": summary["framework"]["classes"],
        "framework_tokens": summary["framework"]["tokens"],
        "topics": len(summary["topics"]["topics"]),
        "totals": totals,
    }


def subset_store(store: Store, data: Path, n: int) -> Store:
    shutil.rmtree(data, ignore_errors=True)
    small = Store(data)
    snaps = sorted(store.iter_snapshots(), key=lambda s: s.id)
    step = len(snaps) / n
    small.add_many([snaps[int(i * step)] for i in range(n)])
    return small


def prototype_example(out: Path) -> dict:
    pre = (CORPUS / "seed-sample" / "pre-semantic-test.html").read_text(encoding="utf-8")
    text = html.document_fromstring(pre).text_content()
    snap = Snapshot(
        url="http://seed-sample.invalid/pre-semantic-test.html",
        html=pre,
        text=text,
        source="import",
        stats=CaptureStats(element_count=0, raw_html_bytes=len(pre), capture_ms=0),
    )
    shutil.rmtree(out, ignore_errors=True)
    with Store(out / "data") as store:
        store.add(snap)
        summary = build(store, out / "build", BuildOptions.of(max_tokens=0, num_proc=1))
    page_bytes = summary["convert"]["pages"][0]["semantic_bytes"]
    framework_bytes = summary["framework"]["bytes"]
    pre_bytes = len(pre.encode("utf-8"))
    return {
        "pre_bytes": pre_bytes,
        "prototype_post_bytes": 186_472,
        "prototype_ratio": round(PROTOTYPE_RATIO, 2),
        "our_page_bytes": page_bytes,
        "our_framework_bytes": framework_bytes,
        "ratio_page_only": round(pre_bytes / page_bytes, 2),
        "ratio_with_framework": round(pre_bytes / (page_bytes + framework_bytes), 2),
        "lossless": summary["convert"]["totals"]["lossless_pages"] == 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--verify-sample", type=int, default=60)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = capture_corpus(args.out / "corpus-data")
    small = subset_store(store, args.out / "corpus-data-25", SMALL)
    result = {"small": timed_build(small, args.out / "build-25"), "full": timed_build(store, args.out / "build-all")}
    s, f = result["small"], result["full"]
    result["growth"] = {
        "pages": round(f["pages"] / s["pages"], 2),
        "seconds": round(f["seconds"] / s["seconds"], 2),
        "classes": round(f["classes"] / s["classes"], 2),
    }
    with StaticServer(CORPUS, port=PORT):  # the snapshots' images and fonts
        section = run_verify(args.out / "build-all", VerifyOptions(sample=args.verify_sample))
        result["verify"] = {k: v for k, v in section.items() if k != "checks"}
    result["prototype_example"] = prototype_example(args.out / "prototype-example")
    small_pages, full_pages = (schemes.load_pages(args.out / name) for name in ("build-25", "build-all"))
    result["schemes"] = schemes.compare(small_pages, full_pages)
    (args.out / "build.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    t = f["totals"]
    print(
        f"pages {s['pages']} -> {f['pages']}: seconds {s['seconds']} -> {f['seconds']} "
        f"(x{result['growth']['seconds']}), classes {s['classes']} -> {f['classes']} (x{result['growth']['classes']})"
    )
    print(
        f"prototype format / (semantic + framework share): total {t['seed_format_over_semantic']}x, "
        f"median page {1 / t['median_vs_seed_format']:.1f}x"
    )
    print(
        f"(semantic + framework share) / snapshot: total {t['semantic_over_snapshot']}, median page "
        f"{t['median_vs_snapshot']} (skeleton alone: median {t['median_skeleton_vs_snapshot']})"
    )
    print(
        f"lossless {t['lossless_pages']}/{t['pages']}; classes/element {t['classes_per_element']}; "
        f"residual elements {t['residual_element_share']}"
    )
    v = result["verify"]
    print(f"verify {v['pages']} pages: median pixels {v['median_pixel_share']}, at >= 99%: {v['share_of_pages_at_99']}")
    p = result["prototype_example"]
    print(
        f"prototype example: ours {p['ratio_page_only']}x (page), {p['ratio_with_framework']}x (page + framework) "
        f"vs the prototype's {p['prototype_ratio']}x"
    )
    print(schemes.format_table(result["schemes"], (s["pages"], f["pages"])))


if __name__ == "__main__":
    main()
