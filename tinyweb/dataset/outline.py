"""What a labeller sees of a page: the LabelInput of each cleaned page, with its outline — its structure in
words (navigation bar, hero section, sign-in form, pricing table, …: tinyweb.compress.pagekind.outline)."""

from __future__ import annotations

from typing import Any

from tinyweb.compress.pagekind import outline
from tinyweb.dataset.labelers.base import LabelInput


def label_inputs(pages: list[dict[str, Any]], page_topic: dict[str, str], keywords: dict[str, list[str]]):
    """A LabelInput per cleaned page (rows of OUT/clean), with its topic and outline."""
    inputs = []
    for page in pages:
        topic = page_topic.get(page["id"], "general")
        structure, h1 = outline(page["html"])
        inputs.append(
            LabelInput(
                id=page["id"],
                url=page["url"],
                title=page["title"] or "",
                description=page["description"] or "",
                headings=list(page["headings"]),
                text=page["text"],
                topic=topic,
                keywords=list(keywords.get(topic, [])),
                outline=structure,
                h1=h1,
            )
        )
    return inputs
