"""The prototype's training format: `[TINY-WEB-DEV-TITLE]`, the request, `[TINY-WEB-DEV-CODE]`, the page. The
prompts stage writes it; training and generation read and write the same prompt."""

from __future__ import annotations

TITLE_MARK = "[TINY-WEB-DEV-TITLE]"
CODE_MARK = "[TINY-WEB-DEV-CODE]"


def prompt_text(label: str) -> str:
    """The request part of a training text: everything the model is given before it writes the page."""
    label = " ".join(label.split())
    return f"{TITLE_MARK}\n\n{label}\n\n{CODE_MARK}\n\n"


def seed_format(label: str, html: str) -> str:
    """One string of final-dataset.json: the prototype's format."""
    return prompt_text(label) + html
