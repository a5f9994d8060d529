"""Labellers: each turns a page into the request a person would type to get it ("A landing page for …").

A labeller is an object with a `name`, a `version` (a stored label is reused only while the labeller that wrote
it has the same version, so changing a prompt or a model relabels) and `label(pages, progress)`, which returns
one result per page: the label, or a `LabelFailure` that the label stage answers with the extractive label.

- `extractive` (default): rules over the page's description, headings, title, outline and topic keywords.
- `local`: SmolLM2-135M-Instruct, offline, prompted with the page's text and outline.
- `openai`: any OpenAI-compatible `/v1/chat/completions` endpoint.
"""

from __future__ import annotations

from tinyweb.dataset.labelers.base import (
    MAX_LABEL_WORDS,
    SYSTEM_PROMPT,
    Labeler,
    LabelFailure,
    LabelInput,
    Progress,
    is_boilerplate,
    page_brief,
    tidy_label,
)
from tinyweb.errors import UsageError

LABELERS = ("extractive", "local", "openai")
__all__ = [
    "LABELERS",
    "MAX_LABEL_WORDS",
    "SYSTEM_PROMPT",
    "LabelFailure",
    "LabelInput",
    "Labeler",
    "Progress",
    "is_boilerplate",
    "make_labeler",
    "page_brief",
    "tidy_label",
]


def make_labeler(name: str, **options: object) -> Labeler:
    """The labeller called `name`, configured with its options (only those it takes)."""
    if name == "extractive":
        from tinyweb.dataset.labelers.extractive import ExtractiveLabeler

        return ExtractiveLabeler()
    if name == "local":
        from tinyweb.dataset.labelers.local import LocalLabeler

        return LocalLabeler(**options)  # type: ignore[arg-type]
    if name == "openai":
        from tinyweb.dataset.labelers.openai import OpenAILabeler

        return OpenAILabeler(**options)  # type: ignore[arg-type]
    raise UsageError(f"unknown labeller {name!r}: choose one of {', '.join(LABELERS)}")
