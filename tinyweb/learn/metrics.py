"""Metrics of one generated page (see tinyweb.learn.evaluate for what each means) and their means over a
model's pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyweb.learn.render import page_classes

TEXT_CHARS = 2000  # of a page's visible text compared with its request (MiniLM reads ~256 word pieces anyway)
BLANK_TOLERANCE = 8  # a channel range up to this is rendering noise on an empty page
BLANK_SAMPLE_WIDTH = 320  # px: screenshots are downscaled to about this width before the blank test
NGRAM = 4


@dataclass
class PageMetrics:
    complete: bool  # a whole document came out: closed with </html> (one-shot), every part written (composed)
    parse_errors: int  # html5lib's errors on the model's raw text, part by part (not the re-serialised page)
    parse_errors_before_end: int  # the same without those that only say the text ended
    parts_ended: float  # the share of parts (sections, or the page) the model ended itself
    class_uses_valid: float | None  # class uses the framework defines, per use; None: no class used
    classes_per_element: float
    request_similarity: float  # MiniLM, request against the visible text
    repetition_rate: float  # on the visible words
    new_tokens: int
    seconds: float
    design: dict[str, Any] | None  # tinyweb.learn.design.DesignStats, None when the page did not render
    renders_non_blank: bool = False  # the old, weak test: more than one colour


# --- metrics of one page --------------------------------------------------------------------------------------


def html5_errors(html: str) -> list[str]:
    """The error codes html5lib's parser logs while it builds the page, in order."""
    import html5lib

    if not html.strip():
        return []
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    parser.parse(html)
    return [code for _, code, _ in parser.errors]


def parse_errors(html: str) -> int:
    """Parse errors of the WHATWG HTML parsing algorithm: stray or misnested end tags, elements still open at
    the end, bad attributes… A page can parse (every browser recovers) and still have many."""
    return len(html5_errors(html))


def is_end_of_input(code: str) -> bool:
    """An error that only says the input ended: `eof-in-…`, `…-but-got-eof`."""
    return code.startswith("eof-") or code.endswith("-but-got-eof")


def class_uses(html: str, classes: set[str]) -> tuple[float | None, float]:
    """The share of the page's class uses (every name on every element) that the framework defines, None when
    it uses none; and the mean number of classes per element of the body."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(html) if html.strip() else None
    except (etree.ParserError, ValueError):
        root = None
    body = root.find("body") if root is not None else None
    if body is None:
        return None, 0.0
    elements = [el for el in body.iter() if isinstance(el.tag, str)]
    uses = [name for el in elements for name in (el.get("class") or "").split()]
    valid = sum(name in classes for name in uses) / len(uses) if uses else None
    return valid, len(uses) / len(elements) if elements else 0.0


def class_validity(html: str, classes: set[str]) -> float | None:
    """The share of the page's distinct class names that the framework defines; None when it uses none."""
    used = page_classes(html)
    if not used:
        return None
    return sum(name in classes for name in used) / len(used)


def repetition_rate(text: str, n: int = NGRAM) -> float:
    """1 - unique / total word n-grams (words split on whitespace); 0 with fewer than n words."""
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


def visible_text(html: str, limit: int = TEXT_CHARS) -> str:
    """The text a reader sees: the body's text without scripts and styles, whitespace collapsed."""
    from lxml import etree
    from lxml import html as lxml_html

    if not html.strip():
        return ""
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for element in root.xpath("//script | //style | //template | //noscript | //head"):
        element.drop_tree()
    return " ".join(root.text_content().split())[:limit]


def renders_non_blank(png: Path | None) -> bool:
    """The screenshot shows something: more than one colour once downscaled."""
    from PIL import Image

    if png is None or not Path(png).is_file():
        return False
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    factor = max(1, rgb.width // BLANK_SAMPLE_WIDTH)
    small = rgb.reduce(factor) if factor > 1 else rgb
    return any(high - low > BLANK_TOLERANCE for low, high in small.getextrema())


def prompt_similarities(pairs: list[tuple[str, str]]) -> list[float]:
    """MiniLM cosine similarity of each (request, page text); 0 for an empty page text."""
    from tinyweb.models import embed

    with_text = [(label, text) for label, text in pairs if text]
    if not with_text:
        return [0.0] * len(pairs)
    vectors = embed([label for label, _ in with_text] + [text for _, text in with_text])
    n = len(with_text)
    scores = iter(float((vectors[i] * vectors[n + i]).sum()) for i in range(n))
    return [next(scores) if text else 0.0 for _, text in pairs]


DESIGN_STATS = ("ink", "colours", "painted_blocks", "words", "height", "landmarks")


def _median(values: list[float]) -> float | None:
    import statistics

    return round(float(statistics.median(values)), 4) if values else None


def _quantile(values: list[float], q: float) -> float | None:
    import numpy as np

    return round(float(np.quantile(values, q)), 4) if values else None


def reference_figures(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference pages' distribution of each design statistic: 25th percentile and median."""
    return {
        "pages": len(stats),
        **{
            name: {"p25": _quantile([s[name] for s in stats], 0.25), "median": _median([s[name] for s in stats])}
            for name in DESIGN_STATS
        },
        "contrast_ok": _median([s["contrast_ok"] for s in stats if s["contrast_ok"] is not None]),
        "blank": round(sum(s["blank"] for s in stats) / len(stats), 4) if stats else None,
    }


def summarize(metrics: list[PageMetrics], reference: dict[str, Any] | None = None) -> dict[str, Any]:
    """A system's figures over its pages: shares, means and, for the design statistics, medians beside the
    reference pages' 25th percentile and median."""
    n = len(metrics)

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    designs = [m.design for m in metrics if m.design is not None]
    seconds = sum(m.seconds for m in metrics)
    uses = [m.class_uses_valid for m in metrics if m.class_uses_valid is not None]
    out: dict[str, Any] = {
        "pages": n,
        "complete": mean([float(m.complete) for m in metrics]),
        "parse_errors": mean([m.parse_errors for m in metrics]),
        "parse_errors_before_end": mean([m.parse_errors_before_end for m in metrics]),
        "parts_ended": mean([m.parts_ended for m in metrics]),
        "class_uses_valid": mean(uses) if uses else None,
        "pages_without_classes": sum(m.class_uses_valid is None for m in metrics),
        "classes_per_element": mean([m.classes_per_element for m in metrics]),
        "rendered": len(designs),
        "blank": round(sum(d["blank"] for d in designs) / n, 4) if n else None,
        "renders_non_blank": mean([float(m.renders_non_blank) for m in metrics]),
        "contrast_ok": mean([d["contrast_ok"] for d in designs if d["contrast_ok"] is not None]),
        "landmarks_3_and_footer": mean([float(d["landmarks"] >= 3 and d["footer"]) for d in designs]),
        "request_similarity": mean([m.request_similarity for m in metrics]),
        "repetition_rate": mean([m.repetition_rate for m in metrics]),
        "new_tokens": mean([m.new_tokens for m in metrics]),
        "seconds_median": _median([m.seconds for m in metrics]),
        "tokens_per_second": round(sum(m.new_tokens for m in metrics) / seconds, 2) if seconds > 0 else None,
    }
    for name in DESIGN_STATS:
        value = _median([d[name] for d in designs])
        out[name] = value
        if reference and reference.get(name) and value is not None:
            out[f"{name}_vs_reference"] = {
                "at_p25": value >= reference[name]["p25"],
                "at_median": value >= reference[name]["median"],
            }
    return out
