"""The pages a benchmark opens: a deterministic spread of the shared corpus, plus generated ones."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SYNTHETIC_ELEMENTS = 2000
BLANK_PATH = "blank.html"
CLASS_PALETTE = ["card", "muted", "accent", "wide", "tight", "pill", "shadow", "strong", "soft", "boxed"]
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "tempor"]

STYLESHEET = """
body { font: 15px/1.5 "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1100px; color: #222; }
section { padding: 8px 12px; margin: 6px 0; border-left: 3px solid #ccd; }
section section { margin-left: 14px; border-color: #9ab; }
h2 { font-size: 20px; margin: 4px 0; } h3 { font-size: 16px; color: #345; }
.card { background: #f6f7fb; border-radius: 6px; } .muted { color: #778; }
.accent { color: #b03060; font-weight: 600; } .wide { letter-spacing: 0.06em; }
.tight { line-height: 1.1; } .pill { padding: 0 6px; border-radius: 9px; background: #e4ecff; }
.shadow { box-shadow: 0 1px 3px rgba(0, 0, 0, 0.2); } .strong { font-weight: 700; }
.soft { opacity: 0.85; } .boxed { outline: 1px dashed #aab; }
ul.boxed li:nth-child(odd) { background: #fafae8; } li > a { text-decoration: none; color: #2255aa; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #dde; padding: 2px 6px; }
tr:nth-child(even) td { background: #f3f3f3; } th.accent { text-align: left; }
"""


@dataclass(frozen=True)
class BenchPage:
    """One page to benchmark: `path` is relative to the root its server serves."""

    id: str
    source: str
    path: str


def read_corpus(corpus: Path = CORPUS) -> list[BenchPage]:
    """All rows of the corpus's pages.tsv, in file order."""
    with (corpus / "pages.tsv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [BenchPage(id=row["id"], source=row["source"], path=row["path"]) for row in rows]


def select_pages(pages: list[BenchPage], count: int) -> list[BenchPage]:
    """`count` pages spread over the sources, evenly spaced within each; larger sources get the extra pages."""
    by_source: dict[str, list[BenchPage]] = defaultdict(list)
    for page in pages:
        by_source[page.source].append(page)
    sources = sorted(by_source, key=lambda source: (-len(by_source[source]), source))
    quota = {source: count // len(sources) + (i < count % len(sources)) for i, source in enumerate(sources)}
    chosen: list[BenchPage] = []
    for source in sources:
        members, wanted = by_source[source], min(quota[source], len(by_source[source]))
        chosen += [members[int((j + 0.5) * len(members) / wanted)] for j in range(wanted)]
    return sorted(chosen, key=lambda page: (sources.index(page.source), page.id))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _classes(rng: random.Random) -> str:
    return " ".join(rng.sample(CLASS_PALETTE, rng.randint(0, 3)))


def _block(rng: random.Random, depth: int) -> tuple[str, int]:
    """One section (with nested sections down to depth 2) as HTML, and its number of elements."""
    rows = "".join(
        f'<tr><td class="{_classes(rng)}">{_text(rng, 2)}</td><td>{rng.randint(1, 999)}</td></tr>' for _ in range(3)
    )
    items = "".join(f'<li class="{_classes(rng)}"><a href="#s">{_text(rng, 3)}</a></li>' for _ in range(4))
    html = (
        f'<h{2 + depth} class="{_classes(rng)}">{_text(rng, 4)}</h{2 + depth}>'
        f'<p class="{_classes(rng)}">{_text(rng, 12)} <span class="{_classes(rng)}">{_text(rng, 3)}</span> '
        f"<em>{_text(rng, 2)}</em></p>"
        f'<ul class="{_classes(rng)}">{items}</ul>'
        f'<table class="{_classes(rng)}"><tbody><tr><th class="accent">{_text(rng, 1)}</th><th>n</th></tr>'
        f"{rows}</tbody></table>"
    )
    count = 1 + 1 + 3 + 1 + 8 + 2 + 3 + 9  # section, heading, p+span+em, ul, li+a, table+tbody, header row, rows
    if depth < 2:
        inner, inner_count = _block(rng, depth + 1)
        html, count = html + inner, count + inner_count
    return f'<section class="{_classes(rng)}">{html}</section>', count


def synthetic_html(elements: int = SYNTHETIC_ELEMENTS, seed: int = 0) -> str:
    """A generated page with about `elements` elements in its body (sections, lists, tables, classes)."""
    rng = random.Random(seed)
    blocks, count = [], 0
    while count < elements:
        html, block_count = _block(rng, 0)
        blocks.append(html)
        count += block_count
    head = f"<meta charset='utf-8'><title>Generated page, {count} elements</title><style>{STYLESHEET}</style>"
    return f"<!doctype html><html lang='en'><head>{head}</head><body>{''.join(blocks)}</body></html>"


def write_synthetic_site(root: Path) -> list[BenchPage]:
    """Write a blank page (the tools' fixed cost) and the generated page into `root`; return both."""
    (root / BLANK_PATH).write_text("<!doctype html><title>blank</title><p>blank</p>", encoding="utf-8")
    (root / "generated.html").write_text(synthetic_html(), encoding="utf-8")
    return [
        BenchPage(id="synthetic-blank", source="synthetic", path=BLANK_PATH),
        BenchPage(id=f"synthetic-{SYNTHETIC_ELEMENTS}-elements", source="synthetic", path="generated.html"),
    ]
