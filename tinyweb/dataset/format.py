"""The prototype's training format: `[TINY-WEB-DEV-TITLE]`, the request, `[TINY-WEB-DEV-CODE]`, the page. The
prompts stage writes it; training and generation read and write the same prompt."""

from __future__ import annotations

TITLE_MARK = "[TINY-WEB-DEV-TITLE]"
CODE_MARK = "[TINY-WEB-DEV-CODE]"
MAX_REQUEST_CHARS = 1000  # training requests are a sentence or two; a pasted document is a mistake


def prompt_text(label: str) -> str:
    """The request part of a training text: everything the model is given before it writes the page."""
    label = " ".join(label.split())
    return f"{TITLE_MARK}\n\n{label}\n\n{CODE_MARK}\n\n"


def seed_format(label: str, html: str) -> str:
    """One string of final-dataset.json: the prototype's format."""
    return prompt_text(label) + html


# --- composition: a plan, then each section ---------------------------------------------------------------------
# A plan row: the request, then PLAN_MARK; the model writes the page's <html> and <body> opening tags, one line
# each, then its sections' labels, one numbered line each. A section row: the request, SECTION_MARK, which
# section of how many with its label and the labels before and after it, then CODE_MARK; the model writes the
# section (its chain of wrappers around its blocks: tinyweb.dataset.sections).
PLAN_MARK = "[TINY-WEB-DEV-PLAN]"
SECTION_MARK = "[TINY-WEB-DEV-SECTION]"
MAX_PLAN_SECTIONS = 8  # labels a plan is read for (a longer one is cut here)


def plan_prompt(request: str) -> str:
    """What the model is given to write a page's plan."""
    return f"{TITLE_MARK}\n\n{' '.join(request.split())}\n\n{PLAN_MARK}\n\n"


def plan_text(html_tag: str, body_tag: str, labels: list[str]) -> str:
    """A plan as the model writes it."""
    lines = [html_tag, body_tag, *(f"{i}. {' '.join(label.split())}" for i, label in enumerate(labels, 1))]
    return "\n".join(lines)


def section_prompt(request: str, labels: list[str], index: int) -> str:
    """What the model is given to write section `index` (0-based) of a page planned as `labels`."""
    lines = [f"section {index + 1} of {len(labels)}: {' '.join(labels[index].split())}"]
    if index > 0:
        lines.append(f"before: {' '.join(labels[index - 1].split())}")
    if index + 1 < len(labels):
        lines.append(f"after: {' '.join(labels[index + 1].split())}")
    context = "\n".join(lines)
    return f"{TITLE_MARK}\n\n{' '.join(request.split())}\n\n{SECTION_MARK}\n\n{context}\n\n{CODE_MARK}\n\n"
