"""`tinyweb generate`: a trained run writes a page for a request, the page is written beside its own copy of
the framework (tinyweb.learn.render) and, when asked, screenshotted.

By default the page is composed (tinyweb.learn.compose: a plan, then each section); `mode="one-shot"` asks for
the whole page at once (tinyweb.learn.decode), as a run trained on whole pages only always does.

The file is named after the request: "A landing page for a coffee shop" → `landing-page-coffee-shop.html`
in the output folder, `-2`, `-3`… when that name is taken (or overwritten with `force`), unless a file name
is given. The framework copy, `semantic-css-framework.css`, sits beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.dataset.format import MAX_REQUEST_CHARS
from tinyweb.errors import UsageError
from tinyweb.layout import FRAMEWORK_CSS
from tinyweb.learn.compose import Progress, compose_pages
from tinyweb.learn.decode import GenerateOptions, generate_pages
from tinyweb.learn.render import screenshot_page, unknown_classes, write_page

NAME_WORDS = 6  # words of the request in the file name
FILLER = {"a", "an", "the", "for", "of", "with", "and", "to", "in", "on", "my", "our", "some", "page"}
MAX_TAKEN = 999


@dataclass
class PageFile:
    """Where `tinyweb generate` writes."""

    output: Path | None = field(
        default=None,
        metadata={"help": "The page's file (default: named after the request, here).", "flags": ("-o", "--output")},
    )
    force: bool = field(default=False, metadata={"help": "Overwrite the page's file if it exists."})
    screenshot: Path | None = field(default=None, metadata={"help": "Also render it to this PNG."})


def page_name(request: str) -> str:
    """A file stem from a request: its first informative words, lowercase, joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", request.lower())
    kept = [w for w in words if w not in FILLER][:NAME_WORDS] or words[:NAME_WORDS]
    return "-".join(kept)[:80].strip("-") or "page"


def output_path(request: str, folder: Path, force: bool = False) -> Path:
    """FOLDER/<name>.html for the request: the first free of name, name-2, name-3…, or name itself with force."""
    stem = page_name(request)
    for n in range(1, MAX_TAKEN + 1):
        path = folder / (f"{stem}.html" if n == 1 else f"{stem}-{n}.html")
        if force or not path.exists():
            return path
    raise UsageError(f"{folder} already holds {MAX_TAKEN} pages named {stem}: pass --force or another -o")


def generate(
    run_folder: Path | None,
    prompt: str,
    out_html: Path | None = None,
    screenshot: Path | None = None,
    options: GenerateOptions | None = None,
    folder: Path = Path("."),
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the page a trained run generates for `prompt` (and its screenshot, when asked); return a report.

    Args:
        run_folder: a finished run; None: the run shipped with tinyweb (tinyweb.learn.runs.default_run).
        out_html: the page's file; None names it after the request in `folder` (see output_path).
        force: overwrite an existing file instead of choosing a free name (or refusing a given one).
        progress: in composed mode, told after the plan and each batch of sections ("section 3 of 7").

    Raises:
        UsageError: `run_folder` is not a finished training run, or `out_html` exists without `force`.
        ModelError: its base model or adapter cannot be loaded.
        BrowserError: a screenshot was asked for and Chromium could not start or render the page.
    """
    from tinyweb.learn.runs import composes, default_run, load_run

    if not prompt.strip():
        raise UsageError("the prompt is empty: say what page to make")
    if len(prompt) > MAX_REQUEST_CHARS:
        raise UsageError(
            f"the prompt is {len(prompt):,} characters: say what page to make in at most {MAX_REQUEST_CHARS} "
            "(training requests are a sentence or two)"
        )
    if out_html is not None and Path(out_html).exists() and not force:
        raise UsageError(f"{out_html} exists: pass --force to overwrite it, or leave out -o to get a free name")
    options = options or GenerateOptions()
    run_folder = Path(run_folder) if run_folder is not None else default_run()
    run = load_run(run_folder, merge=True)
    if not run.css:
        raise UsageError(f"{run_folder} has no {FRAMEWORK_CSS}: its pages would have no styles (copy the build's in)")
    mode = options.mode if composes(run.config) else "one-shot"
    out_html = Path(out_html) if out_html is not None else output_path(prompt, Path(folder), force)
    if mode == "composed":
        [composed] = compose_pages(run.model, run.tokenizer, [prompt], options, run.config.get("budgets"), progress)
        html, complete = composed.html, True
        new_tokens, seconds = composed.new_tokens, composed.seconds
        detail: dict[str, Any] = {
            "plan": composed.plan.labels,
            "fallback_plan": composed.plan.fallback,
            "sections": [
                {"label": s.label, "ended": s.ended, "ending": s.ending, "new_tokens": s.new_tokens}
                for s in composed.sections
            ],
        }
    else:
        [page] = generate_pages(run.model, run.tokenizer, [prompt], options)
        html, complete, new_tokens, seconds, detail = page.html, page.complete, page.new_tokens, page.seconds, {}
    css = write_page(html, out_html, run.css)
    shot = screenshot_page(out_html, Path(screenshot)) if screenshot is not None else None
    return {
        "label": prompt,
        "mode": mode,
        "output": str(out_html),
        "css": str(css),
        "complete": complete,
        "new_tokens": new_tokens,
        "seconds": round(seconds, 3),
        "tokens_per_second": round(new_tokens / seconds, 2) if seconds > 0 else None,
        "unknown_classes": unknown_classes(html, run.classes),
        "screenshot": str(shot) if shot is not None else None,
        **detail,
    }
