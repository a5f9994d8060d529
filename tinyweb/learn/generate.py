"""`tinyweb generate`: a trained run writes a page for a request (tinyweb.learn.decode), the page is written
beside its own copy of the framework (tinyweb.learn.render) and, when asked, screenshotted.

The file is named after the request: "A landing page for a coffee shop" → `landing-page-coffee-shop.html`
in the output folder, `-2`, `-3`… when that name is taken (or overwritten with `force`), unless a file name
is given. The framework copy, `semantic-css-framework.css`, sits beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.errors import UsageError
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
    run_folder: Path,
    prompt: str,
    out_html: Path | None = None,
    screenshot: Path | None = None,
    options: GenerateOptions | None = None,
    folder: Path = Path("."),
    force: bool = False,
) -> dict[str, Any]:
    """Write the page a trained run generates for `prompt` (and its screenshot, when asked); return a report.

    Args:
        out_html: the page's file; None names it after the request in `folder` (see output_path).
        force: overwrite an existing file instead of choosing a free name (or refusing a given one).

    Raises:
        UsageError: `run_folder` is not a finished training run, or `out_html` exists without `force`.
        ModelError: its base model or adapter cannot be loaded.
        BrowserError: a screenshot was asked for and Chromium could not start or render the page.
    """
    from tinyweb.learn.runs import load_run

    if not prompt.strip():
        raise UsageError("the prompt is empty: say what page to make")
    if out_html is not None and Path(out_html).exists() and not force:
        raise UsageError(f"{out_html} exists: pass --force to overwrite it, or leave out -o to get a free name")
    options = options or GenerateOptions()
    run = load_run(Path(run_folder), merge=True)
    [page] = generate_pages(run.model, run.tokenizer, [prompt], options)
    out_html = Path(out_html) if out_html is not None else output_path(prompt, Path(folder), force)
    css = write_page(page.html, out_html, run.css)
    shot = screenshot_page(out_html, Path(screenshot)) if screenshot is not None else None
    return {
        "label": page.label,
        "output": str(out_html),
        "css": str(css),
        "complete": page.complete,
        "new_tokens": page.new_tokens,
        "seconds": round(page.seconds, 3),
        "tokens_per_second": round(page.new_tokens / page.seconds, 2) if page.seconds > 0 else None,
        "unknown_classes": unknown_classes(page.html, run.classes),
        "screenshot": str(shot) if shot is not None else None,
    }
