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
    complete: bool
    parse_errors: int
    parse_errors_before_end: int
    class_validity: float | None
    renders_non_blank: bool
    prompt_similarity: float
    repetition_rate: float
    new_tokens: int
    seconds: float


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


def summarize(metrics: list[PageMetrics]) -> dict[str, Any]:
    """Means over a model's pages (booleans as shares; a page without classes as 0 class validity)."""
    n = len(metrics)

    def mean(values: list[float]) -> float:
        return round(sum(values) / n, 4) if n else 0.0

    seconds = sum(m.seconds for m in metrics)
    return {
        "pages": n,
        "complete": mean([float(m.complete) for m in metrics]),
        "parse_errors": mean([m.parse_errors for m in metrics]),
        "parse_errors_before_end": mean([m.parse_errors_before_end for m in metrics]),
        "class_validity": mean([m.class_validity or 0.0 for m in metrics]),
        "pages_without_classes": sum(m.class_validity is None for m in metrics),
        "renders_non_blank": mean([float(m.renders_non_blank) for m in metrics]),
        "prompt_similarity": mean([m.prompt_similarity for m in metrics]),
        "repetition_rate": mean([m.repetition_rate for m in metrics]),
        "new_tokens": mean([m.new_tokens for m in metrics]),
        "tokens_per_second": round(sum(m.new_tokens for m in metrics) / seconds, 2) if seconds > 0 else None,
    }
