"""The design studio's jobs on a loaded run (`tinyweb serve`'s worker process runs them, one at a time): a page's
plan; a page, its sections told one by one as they are written (or the whole page at once, one-shot); one section
of a page written again. Each tells what it wrote as it goes (`emit`, with an estimate of the time left), and a
cancelled job stops within a token and keeps what it wrote.

Pages are told as one file (tinyweb.learn.render.standalone_page: the framework rules they use inline), so the
studio can show and keep them without the run folder.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from tinyweb.dataset.format import plan_text, prompt_text
from tinyweb.errors import BrowserError
from tinyweb.learn.compose import (
    SECTION_TOKENS,
    Cancelled,
    Plan,
    SectionText,
    page_of,
    parse_plan,
    write_plans,
    write_sections,
)
from tinyweb.learn.decode import PAGE_END, GenerateOptions, Stop, cut_html, decode_prompts
from tinyweb.learn.render import screenshot_page, standalone_page
from tinyweb.learn.runs import Run, composes

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
# One section a batch: each is told as soon as it is written (in batches of 4 they would come in fours), and the
# server's other core is left alone.
STUDIO_BATCH = 1


def options_for(run: Run, settings: dict[str, Any]) -> GenerateOptions:
    """Decoding options from the studio's settings: mode (one-shot for a run that never learnt plans), max_tokens
    (composed: per section, one-shot: the page; 0: the run's own budget), temperature and seed."""
    mode = settings.get("mode", "composed") if composes(run.config) else "one-shot"
    max_tokens = int(settings.get("max_tokens", 0))
    options = GenerateOptions(
        mode=mode,
        temperature=float(settings.get("temperature", 0.0)),
        seed=int(settings.get("seed", 0)),
        batch_size=STUDIO_BATCH,
    )
    if mode == "one-shot":
        return replace(options, max_new_tokens=max_tokens or run.config.get("budgets", {}).get("page", 1024))
    return replace(options, section_tokens=max_tokens)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "html_tag": plan.html_tag,
        "body_tag": plan.body_tag,
        "labels": plan.labels,
        "fallback": plan.fallback,
        "new_tokens": plan.new_tokens,
        "seconds": round(plan.seconds, 3),
    }


def plan_of(given: dict[str, Any]) -> Plan:
    """A plan as a person left it: read as the model's would be (tags re-written, lines that are no label left
    out, the fallback plan when none is left)."""
    plan = parse_plan(plan_text(given.get("html_tag", ""), given.get("body_tag", ""), given["labels"]))
    plan.seconds = float(given.get("seconds", 0.0))
    plan.new_tokens = int(given.get("new_tokens", 0))
    return plan


def section_of(given: dict[str, Any]) -> SectionText:
    return SectionText(
        given["label"], given["raw"], given["ended"], given["new_tokens"], given["seconds"], given.get("ending", "")
    )


def time_left(seconds: list[float], remaining: int, rate: float | None, budget: int) -> float | None:
    """Seconds until the last section: the mean of those written so far for each one left, or before any is
    written, each one's budget at `rate` tokens a second (an upper bound); None when nothing is known yet."""
    if seconds:
        return round(sum(seconds) / len(seconds) * remaining, 1)
    if rate:
        return round(remaining * budget / rate, 1)
    return None


def page_shot(html: str) -> bytes | None:
    """A PNG of the page at 1280 px, or None where Chromium cannot render it (the page is kept without one)."""
    with tempfile.TemporaryDirectory(prefix="tinyweb-studio-") as folder:
        path = Path(folder) / "page.html"
        path.write_text(html, encoding="utf-8")
        try:
            return screenshot_page(path, Path(folder) / "page.png").read_bytes()
        except BrowserError as exc:
            log.warning("no screenshot of the studio's page: %s", exc)
            return None


def plan_job(run: Run, request: str, settings: dict[str, Any], emit: Emit) -> None:
    """Write the plan of the page `request` asks for; tells {"event": "plan", "plan": …}, then "done"."""
    [plan] = write_plans(run.model, run.tokenizer, [request], options_for(run, settings), run.config.get("budgets"))
    emit({"event": "plan", "plan": plan_json(plan)})
    emit({"event": "done", "cancelled": False, "plan": plan_json(plan)})


def page_job(
    run: Run, request: str, settings: dict[str, Any], plan: dict[str, Any] | None, emit: Emit, cancelled: Cancelled
) -> None:
    """Write the page: composed, the sections of `plan` (the model's own plan, written first, when None), each
    told as {"event": "section", …} with the page so far; one-shot, the whole page. Ends with "done"."""
    options = options_for(run, settings)
    if options.mode == "one-shot":
        return _one_shot(run, request, options, emit, cancelled)
    if plan is None:
        [written] = write_plans(run.model, run.tokenizer, [request], options, run.config.get("budgets"))
        emit({"event": "plan", "plan": plan_json(written)})
    else:
        written = plan_of(plan)
    _sections(run, request, options, written, {}, list(range(len(written.labels))), emit, cancelled)


def section_job(
    run: Run,
    request: str,
    settings: dict[str, Any],
    plan: dict[str, Any],
    sections: list[dict[str, Any]],
    index: int,
    emit: Emit,
    cancelled: Cancelled,
) -> None:
    """Write section `index` of a page again, the others kept; a cancelled one keeps the section it had."""
    kept = {i: section_of(s) for i, s in enumerate(sections)}
    _sections(run, request, options_for(run, settings), plan_of(plan), kept, [index], emit, cancelled)


def _sections(
    run: Run,
    request: str,
    options: GenerateOptions,
    plan: Plan,
    kept: dict[int, SectionText],
    indices: list[int],
    emit: Emit,
    cancelled: Cancelled,
) -> None:
    budgets = run.config.get("budgets") or {}
    budget = options.section_tokens or budgets.get("section", SECTION_TOKENS)
    rate = plan.new_tokens / plan.seconds if plan.seconds > 0 else None
    sections, taken = dict(kept), []
    emit({"event": "sections", "total": len(indices), "eta_s": time_left([], len(indices), rate, budget)})

    def page() -> str:
        return standalone_page(page_of(request, plan, [sections[i].raw for i in sorted(sections)]), run.css)

    def written(index: int, section: SectionText) -> None:
        if index in kept and cancelled():
            return  # a section written again but cut short: the page keeps the one it had
        sections[index] = section
        taken.append(section.seconds)
        eta = time_left(taken, len(indices) - len(taken), rate, budget)
        emit({"event": "section", "index": index, "section": asdict(section), "html": page(), "eta_s": eta})

    write_sections(run.model, run.tokenizer, request, plan, options, budgets, indices, written, cancelled)
    ordered = [sections[i] for i in sorted(sections)]
    html = page()
    emit(
        {
            "event": "done",
            "cancelled": cancelled(),
            "mode": "composed",
            "plan": plan_json(plan),
            "sections": [asdict(s) for s in ordered],
            "html": html,
            "seconds": round(plan.seconds + sum(s.seconds for s in ordered), 3),
            "screenshot": page_shot(html),
        }
    )


def _one_shot(run: Run, request: str, options: GenerateOptions, emit: Emit, cancelled: Cancelled) -> None:
    stop = Stop(lambda text: cancelled() or PAGE_END.done(text), PAGE_END.tail)
    [(raw, _, seconds, _)] = decode_prompts(run.model, run.tokenizer, [prompt_text(request)], options, stop)
    html = standalone_page(cut_html(raw)[0], run.css)
    emit(
        {
            "event": "done",
            "cancelled": cancelled(),
            "mode": "one-shot",
            "plan": None,
            "sections": [],
            "html": html,
            "seconds": round(seconds, 3),
            "screenshot": page_shot(html),
        }
    )
