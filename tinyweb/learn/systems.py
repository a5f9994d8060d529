"""The rows an evaluation sets side by side: what each system writes for a request.

- `composed`: the trained run, plan then sections (tinyweb.learn.compose).
- `one-shot`: the trained run, the whole page at once (the training prompt of page rows).
- `base`: the run's base model as it ships, through its chat template, asked for a complete page with its own
  CSS (it has never seen the framework, so it is not asked to use it: this is the base model at its best).
- `base-example`: the same, with one fixed example page in the instruction (data/example-page.html, written by
  hand for this and committed before any evaluation).
- `retrieval`: no model: the reference page whose label is nearest the request (MiniLM). A real page, so it
  marks the design ceiling, while being about another subject.

Each writes a `Written` record: the page, the model's raw text part by part (sections, or the whole page) for
the parse-error count, whether each part ended on its own, tokens and seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.learn.compose import compose_pages
from tinyweb.learn.decode import GenerateOptions, cut_html, decode_prompts, generate_pages

SYSTEMS = ("composed", "one-shot", "base", "base-example", "retrieval")
EXAMPLE_PAGE = Path(__file__).parent / "data" / "example-page.html"
BASE_INSTRUCTION = (
    "Write a complete, well-designed HTML page for the request below: one file, its CSS in a <style> element in "
    "the head, with a header, the sections the page needs and a footer. Answer with the HTML only, from "
    "<!DOCTYPE html> to </html>."
)
EXAMPLE_INTRO = "Here is an example of the kind of page wanted, for another request:"
FENCE = re.compile(r"```[a-zA-Z]*\n?")

Progress = Callable[[str], None]


@dataclass
class Written:
    request: str
    html: str
    parts: list[str] = field(default_factory=list)  # the model's raw text, part by part
    ended: list[bool] = field(default_factory=list)  # each part ended on its own (end-of-text or </html>)
    new_tokens: int = 0
    seconds: float = 0.0
    plan: list[str] = field(default_factory=list)
    fallback: bool | None = None  # composed: the plan did not parse
    source: str = ""  # retrieval: the reference page's id
    similarity: float | None = None  # retrieval: its label's similarity to the request


def base_prompt(tokenizer: Any, request: str, example: bool) -> str:
    """The base model's prompt through its chat template (a plain prompt when it has none)."""
    text = BASE_INSTRUCTION
    if example:
        text += f"\n\n{EXAMPLE_INTRO}\n\n{EXAMPLE_PAGE.read_text(encoding='utf-8').strip()}"
    text += f"\n\nRequest: {' '.join(request.split())}"
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": text}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text + "\n\n"


def page_in_answer(text: str) -> tuple[str, bool]:
    """The HTML document in a chat answer: from its doctype (or <html>) to its </html>, code fences removed;
    whether it was closed."""
    text = FENCE.sub("", text)
    start = re.search(r"<!doctype html|<html\b", text, re.IGNORECASE)
    return cut_html(text[start.start() :] if start else text)


def tuned_pages(run: Any, requests: list[str], options: GenerateOptions, kind: str, progress: Progress | None):
    """The trained run's pages for `requests`: composed or one-shot."""
    if kind == "composed":
        budgets = run.config.get("budgets")
        pages = compose_pages(run.model, run.tokenizer, requests, options, budgets, progress)
        return [
            Written(
                p.request,
                p.html,
                [s.raw for s in p.sections],
                [s.ended for s in p.sections],
                p.new_tokens,
                p.seconds,
                p.plan.labels,
                p.plan.fallback,
            )
            for p in pages
        ]
    done = generate_pages(run.model, run.tokenizer, requests, options)
    return [
        Written(r, p.html, [p.raw], [p.complete], p.new_tokens, p.seconds) for r, p in zip(requests, done, strict=True)
    ]


def base_pages(model: Any, tokenizer: Any, requests: list[str], options: GenerateOptions, example: bool):
    """The base model's answers, each cut to the page in it."""
    prompts = [base_prompt(tokenizer, r, example) for r in requests]
    out = []
    for request, (raw, tokens, seconds, _) in zip(
        requests, decode_prompts(model, tokenizer, prompts, options), strict=True
    ):
        html, closed = page_in_answer(raw)
        out.append(Written(request, html, [html], [closed], tokens, seconds))
    return out


def retrieved_pages(requests: list[str], references: list[dict[str, str]]) -> list[Written]:
    """For each request, the reference page (`id`, `label`, `html`) whose label is nearest it."""
    from tinyweb.models import embed

    if not references:
        return []
    vectors = embed(requests + [r["label"] for r in references])
    asked, labels = vectors[: len(requests)], vectors[len(requests) :]
    scores = asked @ labels.T
    out = []
    for i, request in enumerate(requests):
        best = int(scores[i].argmax())
        ref = references[best]
        out.append(Written(request, ref["html"], source=ref["id"], similarity=round(float(scores[i, best]), 4)))
    return out
