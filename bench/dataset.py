"""Benchmark the prompt dataset on ../shared/corpus: how many pages reach it, as what, and whether its sections
render alone as in their pages.

Run from the repository root: `python -m bench.dataset [--check-pages 40] [--out bench/results]`.

1. Builds the corpus (bench.build's capture and full build, reused when OUT/build-all exists) and writes its
   dataset again with the default flags and the corpus's sites (`--site-pattern`: each template site, each
   Design2Code page on its own): pages reached (of those not dropped as failed, duplicate or empty), rows per
   kind, tokens per kind, sections per page, what trimming and condensing did, the split by site.
2. Renders the sections of an even spread of pages alone beside their region of the full page at 1280×800,
   with the corpus served so images and fonts load (tinyweb.dataset.sectioncheck): the median share of equal
   pixels, and how many reach 95 %.
Writes OUT/dataset.json, and the worst sections side by side in OUT/build-all/verify/sections/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.build import PORT, capture_corpus, timed_build
from bench.pages import CORPUS
from tinyweb.compress.verify import select
from tinyweb.dataset.prompts import PromptOptions
from tinyweb.layout import FRAMEWORK_CSS
from tinyweb.pipeline import load_pages, need, run_prompts, run_section_check
from tinyweb.staticserver import StaticServer

# Each template site is its folder under sites/; Design2Code pages are single pages that link nowhere, so the
# pattern leaves them to the link rule, which makes each one a site.
CORPUS_SITES = r"^/sites/(?!design2code/)[^/]+/"


FIGURE_PAGE = "sites/learning-zone-eat-restaurant-bootstrap-html5-template/index.html"
FIGURE_WIDTH = 640  # px: the page scaled to half, its sections' labels beside it


def sections_figure(build: Path, css: str, path: Path) -> None:
    """One corpus page with the box of each of its sections and the section's label: docs/sections.png."""
    from PIL import Image, ImageDraw, ImageFont

    from tinyweb.dataset.fit import framework_keeps, framework_style
    from tinyweb.dataset.sectioncheck import page_with_boxes
    from tinyweb.dataset.sections import split_page
    from tinyweb.models import count_tokens

    page = next(p for p in load_pages(build) if p["url"].endswith(FIGURE_PAGE))
    html = (build / "pages" / f"{page['id']}.html").read_text(encoding="utf-8")
    cut = split_page(html, framework_style(css), count_tokens, framework_keeps(css))
    png, boxes = page_with_boxes(page, cut, css)
    import io

    shot = Image.open(io.BytesIO(png)).convert("RGB")
    scale = FIGURE_WIDTH / shot.width
    shot = shot.resize((FIGURE_WIDTH, round(shot.height * scale)))
    figure = Image.new("RGB", (FIGURE_WIDTH + 560, shot.height), "white")
    figure.paste(shot, (0, 0))
    draw, font = ImageDraw.Draw(figure), ImageFont.load_default(size=15)
    colours = ["#d1495b", "#edae49", "#00798c", "#30638e", "#66a182", "#8e6c8a", "#e07a5f", "#3d405b"]
    for section in cut.sections:
        box = boxes.get(str(section.index))
        if not box:
            continue
        colour = colours[section.index % len(colours)]
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        draw.rectangle((x0 + 1, y0 + 1, x1 - 2, y1 - 2), outline=colour, width=3)
        words, lines, line = section.label.split(), [], ""
        for word in words:
            if len(line) + len(word) > 60:
                lines.append(line)
                line = ""
            line = f"{line} {word}".strip()
        lines.append(line)
        label = f"{section.index + 1}. " + "\n   ".join(lines) + f"\n   ({section.tokens} tokens)"
        draw.multiline_text((FIGURE_WIDTH + 16, max(4, y0 + 4)), label, fill=colour, font=font, spacing=3)
    figure.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--check-pages", type=int, default=40)
    args = parser.parse_args()
    build = args.out / "build-all"
    store = capture_corpus(args.out / "corpus-data")
    if not (build / "pages").is_dir():
        timed_build(store, build)
    started = time.perf_counter()
    section = run_prompts(build, PromptOptions(site_pattern=CORPUS_SITES))
    seconds = time.perf_counter() - started
    clean = json.loads((build / "report.json").read_text(encoding="utf-8"))["clean"]
    css = need(build / FRAMEWORK_CSS, "framework").read_text(encoding="utf-8")
    with StaticServer(CORPUS, port=PORT):  # the snapshots' images and fonts
        check = run_section_check(build, select(load_pages(build), args.check_pages), css, None)
        sections_figure(build, css, args.out / "sections.png")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "snapshots": clean["snapshots"],
        "dropped_by_clean": clean["dropped"],
        "prompts_seconds": round(seconds, 1),
        "prompts": {k: v for k, v in section.items() if not k.endswith("_pages")},
        "no_rows_pages": section["no_rows_pages"],
        "section_check": {k: v for k, v in check.items() if k != "checks"},
        "section_checks": check["checks"],
    }
    (args.out / "dataset.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    rows, cut = section["rows"], section["sections"]
    print(
        f"pages reached: {section['reached']} of {section['pages']} labelled ({clean['snapshots']} snapshots, "
        f"dropped by clean: {clean['dropped']}); rows: {rows}; {section['sites']} sites, split {section['splits']}"
    )
    tokens = section["n_tokens"]
    print(
        f"sections per page median {cut['per_page']['median']}, section tokens median "
        f"{cut['section_tokens']['median']} p95 {cut['section_tokens']['p95']} (over budget {cut['over_budget']}, "
        f"trimmed {cut['trimmed']}, condensed {cut['condensed']}); row tokens: "
        + ", ".join(f"{k} median {v['median']} p95 {v['p95']}" for k, v in tokens.items() if v)
    )
    print(
        f"sections alone vs their region, {check['pages']} pages: {check['scored']} of {check['sections']} drawn, "
        f"median {check['median_pixel_share']:.4f}, at >= 95%: {check['at_95']} ({check['share_at_95']:.0%})"
    )
    print(f"written in {seconds:.0f} s; {args.out / 'dataset.json'}; worst: {check['worst']}")


if __name__ == "__main__":
    main()
