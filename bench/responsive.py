"""Benchmark responsive capture on ../shared/corpus: fidelity at each width, the build, and what it costs.

Run from the repository root: `python -m bench.responsive [--pages 60] [--out bench/results]`.

1. Captures an even spread of corpus pages at 1280x800 and 390x844 (served on 127.0.0.1:8732, every
   non-loopback request blocked) and compares each snapshot with the live page at each width it kept.
2. Builds them (clean → … → convert) and verifies the semantic pages at both widths.
3. Reports the token cost of responsiveness: semantic pages plus framework with and without @media classes.
Writes OUT/responsive.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import shutil
import statistics
from pathlib import Path

from bench.pages import CORPUS
from tinyweb.capture.browser import Browser, BrowserOptions
from tinyweb.capture.responsive import DEFAULT_VIEWPORTS
from tinyweb.fidelity import measure_widths
from tinyweb.pipeline import BuildOptions, build, run_verify
from tinyweb.staticserver import StaticServer
from tinyweb.store import Store

PORT = 8732


def spread(n: int) -> list[str]:
    with (CORPUS / "pages.tsv").open(encoding="utf-8") as tsv:
        rows = sorted(csv.DictReader(tsv, delimiter="\t"), key=lambda r: r["id"])
    step = max(1, len(rows) // n)
    return [row["path"] for row in rows[::step][:n]]


async def capture(base_url: str, paths: list[str]) -> dict[str, list]:
    out = {}
    async with Browser(BrowserOptions(viewport=DEFAULT_VIEWPORTS[0], block_external=True)) as browser:
        for i, path in enumerate(paths, 1):
            try:
                out[path] = await measure_widths(browser, base_url + path, list(DEFAULT_VIEWPORTS))
            except Exception as exc:  # a page that cannot be captured is reported, not fatal
                print(f"[{i}/{len(paths)}] {path}: {exc}")
                continue
            print(f"[{i}/{len(paths)}] " + " | ".join(f.summary() for f in out[path]))
    return out


def figures(shares: list[float]) -> dict:
    ordered = sorted(shares)
    return {
        "pages": len(ordered),
        "median_pixel_share": round(statistics.median(ordered), 5) if ordered else None,
        "p5_pixel_share": round(ordered[int(0.05 * (len(ordered) - 1))], 5) if ordered else None,
        "share_at_99": round(sum(s >= 0.99 for s in ordered) / len(ordered), 4) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    # The corpus stays served until verify is done: snapshots and semantic pages load their images from it.
    with StaticServer(CORPUS, port=PORT) as server:
        result = run(server.url, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "responsive.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "single_width"}, indent=1))
    print(f"single width: {len(result['single_width'])} pages: {sorted(set(result['single_width'].values()))[:5]}")


def run(base_url: str, args: argparse.Namespace) -> dict:
    measured = asyncio.run(capture(base_url, spread(args.pages)))
    both = {p: fids for p, fids in measured.items() if len(fids) == 2}
    single = {p: fids[0].snapshot.single_width for p, fids in measured.items() if len(fids) == 1}
    capture_figures = {
        str(vp): figures([fids[i].pixel_share for fids in both.values() if fids[i].live_still])
        for i, vp in enumerate(DEFAULT_VIEWPORTS)
    }
    work = args.out / "responsive-build"
    shutil.rmtree(work, ignore_errors=True)
    with Store(work / "data") as store:
        store.add_many([fids[0].snapshot for fids in measured.values()])
        summary = build(store, work / "out", BuildOptions.of(max_tokens=0))
    checked = run_verify(work / "out")
    result = {
        "viewports": [str(v) for v in DEFAULT_VIEWPORTS],
        "pages": len(measured),
        "both_widths": len(both),
        "single_width": single,
        "capture_fidelity": capture_figures,
        "build_verify": checked["widths"],
        "lossless_pages": f"{summary['convert']['totals']['lossless_pages']} / {summary['convert']['totals']['pages']}",
        "responsive_cost": summary["convert"]["responsive"],
        "framework": {
            "classes": summary["framework"]["classes"],
            "by_kind": summary["framework"]["by_kind"],
            "tokens": summary["framework"]["tokens"],
            "tokens_without_media": summary["framework"]["tokens_without_media"],
        },
    }
    return result


if __name__ == "__main__":
    main()
