"""Evaluation: the base model and the trained run write a page for the same requests, side by side.

Both models get the same decoding options (greedy by default) and the same max_new_tokens. The tuned model
gets the training prompt; the base model has never seen the framework, so its prompt is the same training
prompt preceded by one instruction line that names the framework's classes (BASE_INSTRUCTION). The names are
taken in stylesheet order — the framework writes the classes shared by several topics first — until they
fill CLASS_NAME_TOKENS tokens, which keeps the base prompt under ~1 500 tokens.

Metrics of one page (see `page_metrics`):
- complete: the page was closed with </html>.
- parse_errors: parse errors of the WHATWG HTML parsing algorithm (html5lib's error log): stray or misnested
  end tags, a missing doctype, bad attributes, elements left open at the end…
- parse_errors_before_end: the same without the errors that only say the input ended (open elements, a tag cut
  mid-way): what the model wrote wrong, apart from stopping early, which `complete` already counts.
- class_validity: the share of the distinct class names the page uses that the framework defines; None when
  the page uses no class at all. Such a page counts as 0 in the model's mean: it did not use the framework.
- renders_non_blank: the screenshot, downscaled, has more than one colour (a channel spans more than
  BLANK_TOLERANCE); False when the page could not be rendered.
- prompt_similarity: MiniLM cosine similarity between the request and the page's visible text (body text
  without script/style, whitespace collapsed, first TEXT_CHARS characters); 0 when the page shows no text.
- repetition_rate: 1 - unique / total word 4-grams of the generated page (words split on whitespace);
  0 with fewer than 4 words. Loops of a small model push it towards 1.

out_dir/
  evaluation.json     per request both models' metrics and files; the summary per model; the options
  contact-sheet.png   one row per request: base | tuned, the top of each screenshot with its metrics
  base/NN.html        the pages (each with a copy of the framework beside it) and their screenshots
  tuned/NN.html
"""

from __future__ import annotations

import gc
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tinyweb.compress.stylesheet import class_names
from tinyweb.errors import UsageError
from tinyweb.layout import CONTACT_SHEET, EVALUATION_FILE, FRAMEWORK_HREF
from tinyweb.learn.decode import Generated, GenerateOptions, Progress, generate_pages
from tinyweb.learn.metrics import (
    PageMetrics,
    class_validity,
    html5_errors,
    is_end_of_input,
    prompt_similarities,
    renders_non_blank,
    repetition_rate,
    summarize,
    visible_text,
)
from tinyweb.learn.render import page_classes, screenshot_pages, write_page
from tinyweb.learn.sheet import MODELS, VIEWPORT, contact_sheet

BASE_INSTRUCTION = (
    f"Write a complete HTML page for the request below. Link {FRAMEWORK_HREF} and style the page "
    "only with its classes: {names}.\n\n"
)
CLASS_NAME_TOKENS = 1000  # of class names in the base model's prompt: the prompt stays under ~1 500 tokens


def base_instruction(css: str, tokenizer: Any, budget: int = CLASS_NAME_TOKENS) -> tuple[str, int]:
    """The line before the base model's prompt and how many class names it holds (see the module docstring)."""
    names = class_names(css)
    counts = [len(ids) for ids in tokenizer([", " + n for n in names], add_special_tokens=False)["input_ids"]]
    kept, used = [], 0
    for name, count in zip(names, counts, strict=True):
        if used + count > budget:
            break
        kept.append(name)
        used += count
    return BASE_INSTRUCTION.format(names=", ".join(kept) or "(none)"), len(kept)


# --- the evaluation -------------------------------------------------------------------------------------------


def evaluate(
    run_folder: Path,
    prompts: list[str],
    out_dir: Path,
    options: GenerateOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Generate each request with the base model and the trained run, render, measure and compare them.

    Args:
        run_folder: a finished training run (runs/NAME).
        prompts: the requests; see read_prompts and validation_prompts.
        out_dir: where the pages, screenshots, evaluation.json and contact-sheet.png go.
        options: decoding options, the same for both models (default: greedy).
        progress: called with the number of pages just generated or rendered (4 × len(prompts) in all).

    Returns the content of evaluation.json. Raises UsageError, ModelError or BrowserError.
    """
    if not prompts:
        raise UsageError("no prompts to evaluate")
    options = options or GenerateOptions()
    run_folder, out_dir = Path(run_folder), Path(out_dir)
    pages, css, classes, instruction = _generate_both(run_folder, prompts, options, progress)
    files = _write_and_render(pages, out_dir, css, progress)
    metrics = {name: _metrics(pages[name], [png for _, png in files[name]], classes) for name in MODELS}

    def entry(name: str, i: int) -> dict[str, Any]:
        html_path, png = files[name][i]
        return {
            **asdict(metrics[name][i]),
            "unknown_classes": sorted(set(page_classes(pages[name][i].html)) - classes),
            "html": html_path.relative_to(out_dir).as_posix(),
            "png": png.relative_to(out_dir).as_posix() if png else None,
        }

    report = {
        "run": str(run_folder),
        "options": asdict(options),
        "base_instruction": instruction,
        "framework_classes": len(classes),
        "prompts": [{"prompt": p, **{name: entry(name, i) for name in MODELS}} for i, p in enumerate(prompts)],
        "summary": {name: summarize(metrics[name]) for name in MODELS},
        "contact_sheet": CONTACT_SHEET,
    }
    (out_dir / EVALUATION_FILE).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    cells = {name: [(png, m) for (_, png), m in zip(files[name], metrics[name], strict=True)] for name in MODELS}
    contact_sheet(prompts, cells).save(out_dir / CONTACT_SHEET)
    return report


def _generate_both(
    run_folder: Path, prompts: list[str], options: GenerateOptions, progress: Progress | None
) -> tuple[dict[str, list[Generated]], str, set[str], str]:
    """Both models' pages (one model in memory at a time), the framework, its classes and the base instruction."""
    from tinyweb.learn.runs import load_base, load_run

    run = load_run(run_folder, merge=True)
    tuned = generate_pages(run.model, run.tokenizer, prompts, options, progress)
    css, classes = run.css, run.classes
    del run
    gc.collect()
    model, tokenizer = load_base(run_folder)
    instruction, _ = base_instruction(css, tokenizer)
    base = generate_pages(model, tokenizer, prompts, options, progress, prefix=instruction)
    del model
    gc.collect()
    return {"base": base, "tuned": tuned}, css, classes, instruction


def _write_and_render(
    pages: dict[str, list[Generated]], out_dir: Path, css: str, progress: Progress | None
) -> dict[str, list[tuple[Path, Path | None]]]:
    """Write every page as out_dir/MODEL/NN.html and screenshot it beside; (html, png or None) per page."""

    todo: list[tuple[str, Path, Path]] = []
    for name in MODELS:
        for i, page in enumerate(pages[name], 1):
            html_path = out_dir / name / f"{i:02d}.html"
            write_page(page.html, html_path, css)
            todo.append((name, html_path, html_path.with_suffix(".png")))
    shots = screenshot_pages([(html, png) for _, html, png in todo], VIEWPORT, progress)
    files: dict[str, list[tuple[Path, Path | None]]] = {name: [] for name in MODELS}
    for (name, html_path, _), png in zip(todo, shots, strict=True):
        files[name].append((html_path, png))
    return files


def _metrics(pages: list[Generated], pngs: list[Path | None], classes: set[str]) -> list[PageMetrics]:
    texts = [visible_text(page.html) for page in pages]
    errors = [html5_errors(page.html) for page in pages]
    similarity = prompt_similarities([(page.label, text) for page, text in zip(pages, texts, strict=True)])
    return [
        PageMetrics(
            complete=page.complete,
            parse_errors=len(errors[i]),
            parse_errors_before_end=sum(not is_end_of_input(code) for code in errors[i]),
            class_validity=class_validity(page.html, classes),
            renders_non_blank=renders_non_blank(png),
            prompt_similarity=round(score, 4),
            repetition_rate=round(repetition_rate(page.html), 4),
            new_tokens=page.new_tokens,
            seconds=round(page.seconds, 3),
        )
        for i, (page, png, score) in enumerate(zip(pages, pngs, similarity, strict=True))
    ]
