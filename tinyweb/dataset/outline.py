"""What a labeller sees of a page: the LabelInput of each cleaned page, with its outline — its structure in
words (navigation bar, hero section, sign-in form, pricing table, …: tinyweb.compress.pagekind.outline)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tinyweb.compress.pagekind import facts
from tinyweb.dataset.labelers.base import LabelInput


def label_inputs(pages: list[dict[str, Any]], page_topic: dict[str, str], keywords: dict[str, list[str]]):
    """A LabelInput per cleaned page (rows of OUT/clean), with its topic and outline."""
    inputs = []
    for page in pages:
        topic = page_topic.get(page["id"], "general")
        described = asdict(facts(page)) | {"keywords": list(keywords.get(topic, []))}
        inputs.append(LabelInput(id=page["id"], topic=topic, **described))
    return inputs
