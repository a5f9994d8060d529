"""What every labeller shares: the page as a labeller sees it (LabelInput), a failure (LabelFailure), the
Labeler protocol, and the checks and prompt text of the model-backed labellers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

MAX_LABEL_WORDS = 40


@dataclass
class LabelInput:
    """What a labeller sees of one page (built by tinyweb.dataset.label from OUT/clean and topics.json)."""

    id: str
    url: str
    title: str
    description: str  # meta description, else og:description; may be empty
    headings: list[str]  # h1–h3 text in document order
    text: str  # visible text
    topic: str  # topic slug from topics.json (e.g. "bakery"), "general" for outliers
    keywords: list[str]  # the topic's c-TF-IDF keywords
    outline: list[str] = field(default_factory=list)  # structure: "navigation bar", "contact form", "pricing table", …
    h1: str = ""  # the first h1's text (headings may start with sidebar or navigation headings)


@dataclass
class LabelFailure:
    """Why a labeller could not label one page."""

    reason: str  # short code: http_500, timeout, empty, invalid, …
    detail: str = ""


Progress = Callable[[int], None]  # called with how many more pages are done


class Labeler(Protocol):
    name: str
    version: str

    def label(self, pages: list[LabelInput], progress: Progress | None = None) -> list[str | LabelFailure]: ...


# Title and template boilerplate: none of it is something a person asking for a page would type.
BOILERPLATE = re.compile(
    r"""
    ^\s*(home|homepage|index|untitled|document|welcome)\b   # a page name, not a request
    | \bwelcome\ to\b
    | \s[|·•»–—]\s | \s-\s                                 # "Page | Site" title separators
    | \blorem\ ipsum\b | \bdolor\ sit\b
    | \b(start\ ?bootstrap|bootstrap\ v?\d|colorlib|themewagon|templatemag|creative\ tim|free\ (html5?\ )?template)\b
    | \b(template|theme)\s*$                                   # "… Template" as the last word
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LEAD = re.compile(r"^\s*(?:(?:the\s+)?(?:request|label|answer|output|description|prompt)\s*[:\-]\s*)+", re.I)


def is_boilerplate(label: str) -> bool:
    """Title or template boilerplate, or too short to say what page is wanted (fewer than 3 words)."""
    return len(label.split()) < 3 or bool(BOILERPLATE.search(label))


def tidy_label(raw: str) -> str | LabelFailure:
    """A model's answer cut to one clean request: first non-empty line, no lead-in or quotes, ≤ 40 words."""
    lines = [line.strip() for line in raw.strip().splitlines() if line.strip()]
    if not lines:
        return LabelFailure("empty", "the model answered nothing")
    text = _LEAD.sub("", lines[0]).strip().strip("\"'`*“”‘’ ").strip()
    words = text.split()
    if len(words) > MAX_LABEL_WORDS:
        text = " ".join(words[:MAX_LABEL_WORDS]).rstrip(",;:")
    if not text:
        return LabelFailure("empty", f"nothing left of {raw[:80]!r}")
    text = text[0].upper() + text[1:]
    if is_boilerplate(text):
        return LabelFailure("invalid", f"boilerplate or too short: {text[:80]!r}")
    return text


SYSTEM_PROMPT = (
    "You write the request a person would type to ask a web designer for a given web page. "
    "Answer with one sentence of at most 30 words that starts with the kind of page "
    '(for example "A landing page for a family bakery with a menu, opening hours and a contact form"). '
    "Describe what the page is for and its main sections. Never copy the page title; no site names, "
    "no quotes, no lead-in."
)


def page_brief(page: LabelInput, max_text_chars: int = 600) -> str:
    """The page as a model sees it when asked for a label: title, description, headings, outline, some text."""
    lines = [f"Title: {page.title.strip() or '(none)'}"]
    if page.description.strip():
        lines.append(f"Description: {page.description.strip()[:300]}")
    if page.headings:
        lines.append("Headings: " + "; ".join(h[:80] for h in page.headings[:12]))
    if page.outline:
        lines.append("Layout: " + ", ".join(page.outline))
    if page.keywords:
        lines.append("Topic words: " + ", ".join(page.keywords[:5]))
    text = " ".join(page.text.split())[:max_text_chars]
    if text:
        lines.append(f"Text: {text}")
    return "\n".join(lines)
