"""Generation by composition: the model plans a page, then writes each planned section, and the sections are
assembled into the plan's shell.

1. The plan: the training prompt for plans (tinyweb.dataset.format.plan_prompt) → the page's `<html>` and
   `<body>` tags and its sections' labels, one numbered line each. A plan with no label that parses is replaced
   by FALLBACK_PLAN, and the page says so (`fallback`); missing tags get plain ones.
2. The sections: one prompt per planned section (the request, the section's label and the labels around it),
   all of a page's sections decoded together in batches. Every training section is one element (the outermost
   wrapper of its chain), so a section ends on its own where that root element closes, or at the model's
   end-of-text token; otherwise at its budget, cut where it ran out, and the assembly re-parses it, closing
   what it left open. A training mark ("[TINY-WEB-DEV-…") in a plan or a section means the model went on to
   the next example: the text is cut there.
3. The page: the sections in order (tinyweb.dataset.sections.assemble: wrappers they open alike are shared, as
   they were in the page they came from), in the plan's `<body>`, with a head that links the framework as every
   training page does.

Budgets come from the run: run.json's `budgets` hold the most tokens a plan and a section took in training
(end-of-text included), so with the default flags the model is given what it needs to finish what it learnt.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from lxml import html as lxml_html

from tinyweb.dataset.format import MAX_PLAN_SECTIONS, TITLE_MARK, plan_prompt, section_prompt
from tinyweb.dataset.sections import assemble
from tinyweb.layout import FRAMEWORK_HREF
from tinyweb.learn.decode import GenerateOptions, Stop, decode_prompts

PLAN_TOKENS = 320  # a plan's budget when the run does not record one (8 labels and two tags fit)
SECTION_TOKENS = 640  # a section's, likewise (the dataset's default budget is 512, plus the chain's room)
FALLBACK_PLAN = [
    "a navigation bar with 4 links",
    "a hero with a headline, a paragraph and a button",
    "3 cards, each with a heading and a paragraph",
    "a section with a heading and a short text",
    "a footer with 4 links and a copyright line",
]
PLAN_LINE = re.compile(r"^\s*(\d+)[.)]\s+(.+?)\s*$")
OPEN_TAG = re.compile(r"^\s*(<(html|body)\b[^<>]*>)\s*$", re.IGNORECASE)
MARK = TITLE_MARK[: TITLE_MARK.index("-DEV-") + 5]  # "[TINY-WEB-DEV-": every training mark starts so
# A comment, or a tag: its slash, its name, its attributes (quoted values may hold ">"), and its ">" if written.
_TAG = re.compile(r"<!--.*?(?:-->|$)|<(/?)([a-zA-Z][\w:.-]*)((?:[^>\"']|\"[^\"]*(?:\"|$)|'[^']*(?:'|$))*)(>?)", re.S)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
RAW_TEXT = {"script", "style", "textarea", "title"}

Progress = Callable[[str], None]  # told what was just written: "plan", "section 3 of 7"
Cancelled = Callable[[], bool]  # asked after every token: True stops the sections being written


@dataclass
class Plan:
    html_tag: str
    body_tag: str
    labels: list[str]
    fallback: bool = False  # the model's plan had no section to write: FALLBACK_PLAN was used
    raw: str = ""
    new_tokens: int = 0  # what writing it took (0 for a plan given, not written)
    seconds: float = 0.0


@dataclass
class SectionText:
    label: str
    raw: str
    ended: bool  # the model ended it itself (its root element closed, or end-of-text), not the budget
    new_tokens: int
    seconds: float
    ending: str = ""  # how: "closed", "end-of-text"; else cut: "mark" (it began another example), "budget",
    # "cancelled"


@dataclass
class Composed:
    request: str
    plan: Plan
    sections: list[SectionText] = field(default_factory=list)
    html: str = ""
    seconds: float = 0.0
    plan_tokens: int = 0

    @property
    def new_tokens(self) -> int:
        return self.plan_tokens + sum(s.new_tokens for s in self.sections)


def root_end(text: str) -> int | None:
    """Where the first element of `text` closes (the index after its end tag), or None while it is open.

    An end tag closes the innermost open element of its name and every element opened inside it, as the HTML
    parser closes elements left open; an end tag of no open element is ignored, and so are void and
    self-closed elements and the text of script, style, textarea and title."""
    stack: list[str] = []
    pos = 0
    while match := _TAG.search(text, pos):
        pos = match.end()
        if match.group(0).startswith("<!--"):
            continue
        if not match.group(4):
            return None  # a tag still being written
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
                if not stack:
                    return pos
        elif name not in VOID and not attrs.rstrip().endswith("/"):
            stack.append(name)
            if name in RAW_TEXT:
                end = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(text, pos)
                if end is None:
                    return None
                stack.pop()
                pos = end.end()
                if not stack:
                    return pos
    return None


def cut_section(text: str) -> tuple[str, bool]:
    """A section as the model wrote it: up to a training mark, then up to where its root element closes; and
    whether it closed."""
    text = text.split(MARK, 1)[0]
    end = root_end(text)
    return (text, False) if end is None else (text[:end], True)


SECTION_END = Stop(lambda text: MARK in text or root_end(text) is not None)
PLAN_END = Stop(lambda text: MARK in text, tail=16)


def _tag(text: str, name: str) -> str | None:
    """`text` if it is one well-formed opening tag `<name …>` (its attributes re-written), else None."""
    match = OPEN_TAG.match(text)
    if match is None or match.group(2).lower() != name:
        return None
    try:
        parsed = lxml_html.fragment_fromstring(f"<div {match.group(1)[len(name) + 1 : -1]}></div>")
    except Exception:
        return None
    attrs = "".join(f' {k}="{html.escape(v, quote=True)}"' for k, v in parsed.attrib.items())
    return f"<{name}{attrs}>"


def parse_plan(text: str) -> Plan:
    """The plan the model wrote, or FALLBACK_PLAN (with `fallback`) when no numbered label parses."""
    html_tag, body_tag, labels = None, None, []
    for line in text.splitlines():
        if html_tag is None and (tag := _tag(line, "html")):
            html_tag = tag
        elif body_tag is None and (tag := _tag(line, "body")):
            body_tag = tag
        elif (match := PLAN_LINE.match(line)) and len(labels) < MAX_PLAN_SECTIONS:
            label = " ".join(match.group(2).split())
            if re.search(r"[^\W\d_]{2}", label):
                labels.append(label)
    return Plan(
        html_tag or '<html lang="en">',
        body_tag or "<body>",
        labels or list(FALLBACK_PLAN),
        fallback=not labels,
        raw=text,
    )


def head(request: str) -> str:
    """The head of a composed page: what every training page's head has that matters, and the framework."""
    title = html.escape(" ".join(request.split())[:120])
    return (
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="{FRAMEWORK_HREF}"></head>'
    )


def page_of(request: str, plan: Plan, sections: list[str]) -> str:
    """The document: the plan's shell around the assembled sections."""
    return f"<!DOCTYPE html>\n{plan.html_tag}{head(request)}{plan.body_tag}\n{assemble(sections)}\n</body></html>\n"


def write_plans(
    model: Any, tokenizer: Any, requests: list[str], options: GenerateOptions, budgets: dict[str, int] | None = None
) -> list[Plan]:
    """The plan of each request's page, decoded together (see the module docstring, step 1)."""
    budget = options.plan_tokens or (budgets or {}).get("plan", PLAN_TOKENS)
    decoded = decode_prompts(
        model, tokenizer, [plan_prompt(r) for r in requests], replace(options, max_new_tokens=budget), PLAN_END
    )
    plans = []
    for raw, tokens, seconds, _ in decoded:
        plan = parse_plan(raw.split(MARK, 1)[0])
        plan.new_tokens, plan.seconds = tokens, seconds
        plans.append(plan)
    return plans


def write_sections(
    model: Any,
    tokenizer: Any,
    request: str,
    plan: Plan,
    options: GenerateOptions,
    budgets: dict[str, int] | None = None,
    indices: list[int] | None = None,
    written: Callable[[int, SectionText], None] | None = None,
    cancelled: Cancelled | None = None,
) -> dict[int, SectionText]:
    """Sections `indices` (0-based; default every one) of `plan`, by index (step 2 of the module docstring).

    Args:
        written: told each section (its index and text) as soon as its batch is decoded.
        cancelled: asked after every token; once it says True the rows being decoded stop where they are (kept,
            not `ended`) and the batches after them are not kept.
    """
    indices = list(range(len(plan.labels))) if indices is None else indices
    budget = options.section_tokens or (budgets or {}).get("section", SECTION_TOKENS)
    stop = SECTION_END if cancelled is None else Stop(lambda text: cancelled() or SECTION_END.done(text))
    out: dict[int, SectionText] = {}
    stopped = False

    def finished(rows: dict[int, tuple[str, int, float, bool]]) -> None:
        nonlocal stopped
        if stopped:
            return  # decoded after the cancel, one token each
        stopped = cancelled is not None and cancelled()
        for k in sorted(rows):
            text, tokens, seconds, end_of_text = rows[k]
            section, closed = cut_section(text)
            index = indices[k]
            ending = "closed" if closed else "end-of-text" if end_of_text else "mark" if MARK in text else "budget"
            ending = "cancelled" if stopped and ending == "budget" else ending
            out[index] = SectionText(plan.labels[index], section, closed or end_of_text, tokens, seconds, ending)
            if written:
                written(index, out[index])

    prompts = [section_prompt(request, plan.labels, i) for i in indices]
    decode_prompts(model, tokenizer, prompts, replace(options, max_new_tokens=budget), stop, batch_done=finished)
    return dict(sorted(out.items()))


def compose_pages(
    model: Any,
    tokenizer: Any,
    requests: list[str],
    options: GenerateOptions,
    budgets: dict[str, int] | None = None,
    progress: Progress | None = None,
) -> list[Composed]:
    """One composed page per request (see the module docstring); `budgets` from run.json."""
    out = []
    for request, plan in zip(requests, write_plans(model, tokenizer, requests, options, budgets), strict=True):
        if progress:
            progress("plan" + (" (the model's did not parse: the fallback plan)" if plan.fallback else ""))
        count = 0

        def done(index: int, section: SectionText, total: int = len(plan.labels)) -> None:
            nonlocal count
            count += 1
            if progress:
                progress(f"section {count} of {total}")

        written = list(write_sections(model, tokenizer, request, plan, options, budgets, written=done).values())
        page = Composed(request, plan, written, plan_tokens=plan.new_tokens)
        page.html = page_of(request, plan, [s.raw for s in written])
        page.seconds = plan.seconds + sum(s.seconds for s in written)
        out.append(page)
    return out
