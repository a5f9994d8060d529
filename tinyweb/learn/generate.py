"""Generation: a trained run writes a page for a request, in the training format, and the page is rendered.

The prompt is exactly the training prompt, `prompt_text(label)` ("[TINY-WEB-DEV-TITLE]\\n\\n{label}\\n\\n
[TINY-WEB-DEV-CODE]\\n\\n"), tokenized as training does: no chat template and `add_special_tokens=False`.
SmolLM2's tokenizer adds no BOS token either way (its `bos_token` is <|im_start|>, a chat marker, and plain
calls leave it out), so the model sees the same ids it was trained on. A page ends at its first "</html>":
generation stops there (a stop string, checked across token boundaries) or at an end-of-text token.

The generated page links "../semantic-css-framework.css", as every training page does; `write_page` points
that link at a copy of the framework written beside the page, so the page renders on its own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinyweb.build.dataset import prompt_text
from tinyweb.errors import BrowserError, UsageError
from tinyweb.learn.runs import FRAMEWORK_CSS

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # called with the number of pages just generated (or rendered)

STOP_STRING = "</html>"
_CLOSE = re.compile(r"</html\s*>", re.IGNORECASE)
TRAINING_HREF = "../" + FRAMEWORK_CSS  # how every training page links the framework
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(["']?)([^"'\s>]*)\2""", re.IGNORECASE)
_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)
PAGE_TIMEOUT_S = 30  # to load and screenshot one generated page
MAX_SCREENSHOT_HEIGHT = 8000  # px: a runaway page (thousands of repeated rows) is cut here


@dataclass
class GenerateOptions:
    max_new_tokens: int = 1024  # the longest page generated, in tokens (it may stop earlier at </html>)
    temperature: float = 0.0  # 0: greedy decoding; above 0: sampling at this temperature
    top_p: float = 0.95  # nucleus sampling, used only when temperature > 0
    seed: int = 0  # torch.manual_seed before each sampled batch, so a run is repeatable
    repetition_penalty: float = 1.1  # on the generated tokens only (1.0: none); see generate_pages
    batch_size: int = 4  # prompts generated together (left-padded)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise UsageError("max_new_tokens and batch_size must be at least 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.repetition_penalty <= 0:
            raise UsageError("temperature must be ≥ 0, top_p in (0, 1] and repetition_penalty > 0")


@dataclass
class Generated:
    label: str
    raw: str  # the decoded new tokens, special tokens left out
    html: str  # raw cut after its first </html>; raw as is when the page was never closed
    complete: bool  # the page was closed with </html>
    new_tokens: int  # tokens generated, up to the end-of-text token or the end of </html>
    seconds: float  # this page's share of its batch's wall time (batch time / rows in the batch)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cut_html(text: str) -> tuple[str, bool]:
    """The page in generated text: up to and including its first </html>, and whether there was one."""
    match = _CLOSE.search(text)
    if match is None:
        return text, False
    return text[: match.end()], True


def generate_pages(
    model: Any,
    tokenizer: Any,
    labels: list[str],
    options: GenerateOptions | None = None,
    progress: Progress | None = None,
    prefix: str = "",
) -> list[Generated]:
    """One page per request, in the labels' order.

    Args:
        model, tokenizer: a causal LM (a merged or unmerged run, or a base model) and its tokenizer.
        labels: the requests ("A menu page for a bakery …"); each prompt is `prefix + prompt_text(label)`.
        options: decoding options. The repetition penalty applies to generated tokens only: penalising the
            prompt would push the model away from the request's words (and the class names in `prefix`).
        progress: called with the number of pages after each batch.
        prefix: text before the training prompt (evaluate gives the base model the framework's class names).
    """
    options = options or GenerateOptions()
    if not labels:
        return []
    prompts = [prefix + prompt_text(label) for label in labels]
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(labels)), key=lambda i: lengths[i])  # similar lengths pad less
    results: dict[int, Generated] = {}
    for start in range(0, len(order), options.batch_size):
        batch = order[start : start + options.batch_size]
        for i, page in zip(batch, _generate_batch(model, tokenizer, [prompts[i] for i in batch], options), strict=True):
            raw, new_tokens, seconds = page
            html, complete = cut_html(raw)
            results[i] = Generated(labels[i], raw, html, complete, new_tokens, seconds)
        if progress:
            progress(len(batch))
    return [results[i] for i in range(len(labels))]


def _end_ids(model: Any, tokenizer: Any) -> list[int]:
    """Token ids that end a page: the tokenizer's end-of-text token and the model's generation config's."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def _generate_batch(model: Any, tokenizer: Any, prompts: list[str], options: GenerateOptions) -> list[tuple]:
    """(decoded new text, new token count, seconds) per prompt of one left-padded batch."""
    import torch
    from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

    end_ids = _end_ids(model, tokenizer)
    if tokenizer.pad_token is None:  # a batch needs padding; the end-of-text token is the usual stand-in
        tokenizer.pad_token = tokenizer.eos_token
    pad_id = tokenizer.pad_token_id
    enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    width = enc["input_ids"].shape[1]
    processors = LogitsProcessorList()
    if options.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(options.repetition_penalty, prompt_ignore_length=width))
    sampling: dict[str, Any] = {"do_sample": False}
    if options.temperature > 0:
        torch.manual_seed(options.seed)
        sampling = {"do_sample": True, "temperature": options.temperature, "top_p": options.top_p, "top_k": 0}
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **enc,
            max_new_tokens=options.max_new_tokens,
            logits_processor=processors,
            eos_token_id=end_ids,
            pad_token_id=pad_id,
            stop_strings=[STOP_STRING],
            tokenizer=tokenizer,
            **sampling,
        )
    seconds = (time.perf_counter() - started) / len(prompts)
    rows = []
    for row in out[:, width:].tolist():
        # After a row stops, generate fills it with padding (SmolLM2's pad token is its end-of-text token).
        stops = [k for k, token in enumerate(row) if token in end_ids or token == pad_id]
        n = stops[0] if stops else len(row)
        rows.append((tokenizer.decode(row[:n], skip_special_tokens=True), n, seconds))
    return rows


# --- the page on disk -----------------------------------------------------------------------------------------


def link_framework(html: str, href: str = FRAMEWORK_CSS) -> str:
    """The page with its link to the framework pointed at `href`: the training link ("../semantic-css-framework.css")
    is rewritten, nothing else is touched; a page without a link to the framework gets one at the start of <head>
    (or, without a <head>, after <html> or the doctype: the parser puts it in the head it makes)."""
    found = False

    def retarget(tag: re.Match[str]) -> str:
        nonlocal found

        def swap(attr: re.Match[str]) -> str:
            nonlocal found
            if attr.group(3) == TRAINING_HREF:
                found = True
                quote = attr.group(2) or '"'
                return f"{attr.group(1)}{quote}{href}{quote}"
            if attr.group(3) == href:
                found = True
            return attr.group(0)

        return _HREF.sub(swap, tag.group(0), count=1)

    html = _LINK_TAG.sub(retarget, html)
    if found:
        return html
    link = f'<link rel="stylesheet" href="{href}">'
    opening = _HEAD_OPEN.search(html) or _HTML_OPEN.search(html) or _DOCTYPE.match(html)
    at = opening.end() if opening else 0
    return html[:at] + link + html[at:]


def write_page(html: str, out_html: Path, css_text: str) -> Path:
    """Write the page and a copy of the framework beside it (the page's link pointed at the copy); return the
    CSS path."""
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    css_path = out_html.parent / FRAMEWORK_CSS
    css_path.write_text(css_text, encoding="utf-8")
    out_html.write_text(link_framework(html), encoding="utf-8")
    return css_path


def page_classes(html: str) -> list[str]:
    """Every class name the page's elements carry, once each, in order of first use."""
    from lxml import etree
    from lxml import html as lxml_html

    if not html.strip():
        return []
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # a document with no element at all
        return []
    names: dict[str, None] = {}
    for element in root.iter():
        value = element.get("class") if isinstance(element.tag, str) else None
        for name in (value or "").split():
            names.setdefault(name, None)
    return list(names)


def unknown_classes(html: str, classes: set[str]) -> list[str]:
    """Class names used in the page that the framework does not define (sorted, unique)."""
    return sorted(name for name in page_classes(html) if name not in classes)


# --- rendering --------------------------------------------------------------------------------------------------


def screenshot_pages(
    pages: Sequence[tuple[Path, Path]], viewport: tuple[int, int] = (1280, 800), progress: Progress | None = None
) -> list[Path | None]:
    """Full-page PNGs of local HTML files in one headless Chromium: (html_path, png_path) each.

    Scripts are disabled and every request that is not a local file is blocked, so a generated page can
    neither hang the browser nor reach the network. Returns each PNG path, or None for a page that could not
    be rendered (logged). Pages taller than MAX_SCREENSHOT_HEIGHT are cut there.

    Raises:
        BrowserError: Chromium could not be found or started.
    """
    return asyncio.run(_screenshot_pages(list(pages), viewport, progress))


def screenshot_page(html_path: Path, png_path: Path, viewport: tuple[int, int] = (1280, 800)) -> Path:
    """A full-page PNG of one local HTML file (see screenshot_pages); raises BrowserError if it fails."""
    [done] = screenshot_pages([(html_path, png_path)], viewport)
    if done is None:
        raise BrowserError(f"Chromium could not render {html_path}")
    return done


async def _screenshot_pages(
    pages: list[tuple[Path, Path]], viewport: tuple[int, int], progress: Progress | None
) -> list[Path | None]:
    from playwright.async_api import Error as PlaywrightError

    from tinyweb.capture.browser import Browser, BrowserOptions
    from tinyweb.snapshot import Viewport

    width, height = viewport
    results: list[Path | None] = []
    async with Browser(BrowserOptions(viewport=Viewport(width=width, height=height))) as browser:
        assert browser.context is not None
        await browser.context.route("**/*", _local_files_only)
        for html_path, png_path in pages:
            try:
                results.append(await _shoot(browser, Path(html_path), Path(png_path), width))
            except PlaywrightError as exc:
                log.warning("could not render %s: %s", html_path, exc.message.splitlines()[0])
                results.append(None)
            if progress:
                progress(1)
    return results


async def _local_files_only(route: Any) -> None:
    if route.request.url.startswith(("file:", "data:", "about:", "blob:")):
        await route.continue_()
    else:
        await route.abort("blockedbyclient")


async def _shoot(browser: Any, html_path: Path, png_path: Path, width: int) -> Path:
    from tinyweb.fidelity import screenshot

    page = await browser.new_page()
    try:
        cdp = await browser.context.new_cdp_session(page)
        await cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        await page.goto(html_path.resolve().as_uri(), wait_until="load")
        full = await page.evaluate("() => document.documentElement.scrollHeight")
        if full > MAX_SCREENSHOT_HEIGHT:
            png = await page.screenshot(
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": MAX_SCREENSHOT_HEIGHT},
                animations="disabled",
                caret="hide",
            )
        else:
            png = await screenshot(page)
    finally:
        await page.close()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(png)
    return png_path


# --- one page from a run ----------------------------------------------------------------------------------------


def generate(
    run_folder: Path,
    prompt: str,
    out_html: Path,
    screenshot: Path | None = None,
    options: GenerateOptions | None = None,
) -> dict[str, Any]:
    """Write the page a trained run generates for `prompt` (and its screenshot, when asked); return a report.

    Raises:
        UsageError: `run_folder` is not a finished training run.
        ModelError: its base model or adapter cannot be loaded.
        BrowserError: a screenshot was asked for and Chromium could not start or render the page.
    """
    from tinyweb.learn.runs import load_run

    if not prompt.strip():
        raise UsageError("the prompt is empty: say what page to make")
    options = options or GenerateOptions()
    run = load_run(Path(run_folder), merge=True)
    [page] = generate_pages(run.model, run.tokenizer, [prompt], options)
    out_html = Path(out_html)
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
