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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinyweb.errors import UsageError
from tinyweb.learn.generate import Generated, GenerateOptions, Progress, generate_pages, page_classes, write_page

EVALUATION_FILE = "evaluation.json"
CONTACT_SHEET = "contact-sheet.png"
MODELS = ("base", "tuned")
BASE_INSTRUCTION = (
    "Write a complete HTML page for the request below. Link ../semantic-css-framework.css and style the page "
    "only with its classes: {names}.\n\n"
)
CLASS_NAME_TOKENS = 1000  # of class names in the base model's prompt: the prompt stays under ~1 500 tokens
TEXT_CHARS = 2000  # of a page's visible text compared with its request (MiniLM reads ~256 word pieces anyway)
BLANK_TOLERANCE = 8  # a channel range up to this is rendering noise on an empty page
BLANK_SAMPLE_WIDTH = 320  # px: screenshots are downscaled to about this width before the blank test
NGRAM = 4
VIEWPORT = (1280, 800)
THUMB_W, THUMB_H = 320, 200  # the top 1280×800 of a screenshot, scaled down 4×
CAPTION_LINES, LINE_H, PAD = 4, 13, 8
CAPTION_H = CAPTION_LINES * LINE_H + 4
CELL_H = THUMB_H + CAPTION_H


@dataclass
class PageMetrics:
    complete: bool
    parse_errors: int
    parse_errors_before_end: int
    class_validity: float | None
    renders_non_blank: bool
    prompt_similarity: float
    repetition_rate: float
    new_tokens: int
    seconds: float


# --- metrics of one page --------------------------------------------------------------------------------------


def html5_errors(html: str) -> list[str]:
    """The error codes html5lib's parser logs while it builds the page, in order."""
    import html5lib

    if not html.strip():
        return []
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    parser.parse(html)
    return [code for _, code, _ in parser.errors]


def parse_errors(html: str) -> int:
    """Parse errors of the WHATWG HTML parsing algorithm: stray or misnested end tags, elements still open at
    the end, bad attributes… A page can parse (every browser recovers) and still have many."""
    return len(html5_errors(html))


def is_end_of_input(code: str) -> bool:
    """An error that only says the input ended: `eof-in-…`, `…-but-got-eof`."""
    return code.startswith("eof-") or code.endswith("-but-got-eof")


def class_validity(html: str, classes: set[str]) -> float | None:
    """The share of the page's distinct class names that the framework defines; None when it uses none."""
    used = page_classes(html)
    if not used:
        return None
    return sum(name in classes for name in used) / len(used)


def repetition_rate(text: str, n: int = NGRAM) -> float:
    """1 - unique / total word n-grams (words split on whitespace); 0 with fewer than n words."""
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    return 1 - len(set(grams)) / len(grams)


def visible_text(html: str, limit: int = TEXT_CHARS) -> str:
    """The text a reader sees: the body's text without scripts and styles, whitespace collapsed."""
    from lxml import etree
    from lxml import html as lxml_html

    if not html.strip():
        return ""
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for element in root.xpath("//script | //style | //template | //noscript | //head"):
        element.drop_tree()
    return " ".join(root.text_content().split())[:limit]


def renders_non_blank(png: Path | None) -> bool:
    """The screenshot shows something: more than one colour once downscaled."""
    from PIL import Image

    if png is None or not Path(png).is_file():
        return False
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    factor = max(1, rgb.width // BLANK_SAMPLE_WIDTH)
    small = rgb.reduce(factor) if factor > 1 else rgb
    return any(high - low > BLANK_TOLERANCE for low, high in small.getextrema())


def prompt_similarities(pairs: list[tuple[str, str]]) -> list[float]:
    """MiniLM cosine similarity of each (request, page text); 0 for an empty page text."""
    from tinyweb.models import embed

    with_text = [(label, text) for label, text in pairs if text]
    if not with_text:
        return [0.0] * len(pairs)
    vectors = embed([label for label, _ in with_text] + [text for _, text in with_text])
    n = len(with_text)
    scores = iter(float((vectors[i] * vectors[n + i]).sum()) for i in range(n))
    return [next(scores) if text else 0.0 for _, text in pairs]


# --- prompts ----------------------------------------------------------------------------------------------------


def read_prompts(file: Path) -> list[str]:
    """Requests from a file: a JSON list of strings, or one request per line (blank lines skipped)."""
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"no prompts file at {path}")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} starts like a JSON list but is not valid JSON: {exc}") from exc
        if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
            raise UsageError(f"{path} must be a JSON list of strings")
        prompts = [" ".join(p.split()) for p in data]
    else:
        prompts = [" ".join(line.split()) for line in text.splitlines()]
    prompts = [p for p in prompts if p]
    if not prompts:
        raise UsageError(f"{path} holds no prompt")
    return prompts


def validation_prompts(dataset_dir: Path, n: int) -> list[str]:
    """The first `n` labels of the validation split of a saved dataset (OUT/dataset of `tinyweb prompts`)."""
    from datasets import load_from_disk

    from tinyweb.build.parallel import quiet_datasets

    folder = Path(dataset_dir)
    if not (folder / "dataset_dict.json").is_file():
        raise UsageError(f"{folder} is not a saved dataset: pass OUT/dataset from `tinyweb prompts`")
    with quiet_datasets():
        data = load_from_disk(str(folder))
    if "validation" not in data or len(data["validation"]) == 0:
        raise UsageError(f"{folder} has no validation pages: build it with --validation-share above 0")
    return list(data["validation"]["label"][:n])


def ordered_classes(css: str) -> list[str]:
    """The framework's class names in stylesheet order, each once."""
    import tinycss2

    from tinyweb.learn.runs import CLASS_SELECTOR

    names: dict[str, None] = {}
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            for name in CLASS_SELECTOR.findall(tinycss2.serialize(rule.prelude)):
                names.setdefault(name, None)
    return list(names)


def base_instruction(css: str, tokenizer: Any, budget: int = CLASS_NAME_TOKENS) -> tuple[str, int]:
    """The line before the base model's prompt and how many class names it holds (see the module docstring)."""
    names = ordered_classes(css)
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
    from tinyweb.learn.generate import screenshot_pages

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


def summarize(metrics: list[PageMetrics]) -> dict[str, Any]:
    """Means over a model's pages (booleans as shares; a page without classes as 0 class validity)."""
    n = len(metrics)

    def mean(values: list[float]) -> float:
        return round(sum(values) / n, 4) if n else 0.0

    seconds = sum(m.seconds for m in metrics)
    return {
        "pages": n,
        "complete": mean([float(m.complete) for m in metrics]),
        "parse_errors": mean([m.parse_errors for m in metrics]),
        "parse_errors_before_end": mean([m.parse_errors_before_end for m in metrics]),
        "class_validity": mean([m.class_validity or 0.0 for m in metrics]),
        "pages_without_classes": sum(m.class_validity is None for m in metrics),
        "renders_non_blank": mean([float(m.renders_non_blank) for m in metrics]),
        "prompt_similarity": mean([m.prompt_similarity for m in metrics]),
        "repetition_rate": mean([m.repetition_rate for m in metrics]),
        "new_tokens": mean([m.new_tokens for m in metrics]),
        "tokens_per_second": round(sum(m.new_tokens for m in metrics) / seconds, 2) if seconds > 0 else None,
    }


# --- the contact sheet ------------------------------------------------------------------------------------------


def sheet_size(rows: int) -> tuple[int, int]:
    """(width, height) of a contact sheet of `rows` requests."""
    return len(MODELS) * THUMB_W + (len(MODELS) + 1) * PAD, rows * (CELL_H + PAD) + PAD


def contact_sheet(prompts: list[str], cells: dict[str, list[tuple[Path | None, PageMetrics]]]) -> Any:
    """One row per request, one column per model: the top of the screenshot and a caption under it."""
    from PIL import Image, ImageDraw, ImageFont

    sheet = Image.new("RGB", sheet_size(len(prompts)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row, prompt in enumerate(prompts):
        top = PAD + row * (CELL_H + PAD)
        for col, name in enumerate(MODELS):
            left = PAD + col * (THUMB_W + PAD)
            png, m = cells[name][row]
            sheet.paste(_thumbnail(png), (left, top))
            draw.rectangle((left, top, left + THUMB_W - 1, top + THUMB_H - 1), outline=(160, 160, 160))
            validity = "-" if m.class_validity is None else f"{m.class_validity:.2f}"
            lines = [
                prompt,
                f"{name}: {'complete' if m.complete else 'unclosed'}, {m.new_tokens} tokens",
                f"parse errors {m.parse_errors}, classes valid {validity}",
                f"similarity {m.prompt_similarity:.2f}, repetition {m.repetition_rate:.2f}",
            ]
            for k, line in enumerate(lines):
                draw.text((left, top + THUMB_H + 3 + k * LINE_H), _fit(draw, line, font), fill="black", font=font)
    return sheet


def _thumbnail(png: Path | None) -> Any:
    """The top viewport of a screenshot scaled to the cell, or a grey cell saying it did not render."""
    from PIL import Image, ImageDraw

    scale = THUMB_W / VIEWPORT[0]
    if png is None or not Path(png).is_file():
        cell = Image.new("RGB", (THUMB_W, THUMB_H), (225, 225, 225))
        ImageDraw.Draw(cell).text((8, 8), "not rendered", fill="black")
        return cell
    with Image.open(png) as image:
        top = image.convert("RGB").crop((0, 0, min(image.width, VIEWPORT[0]), min(image.height, VIEWPORT[1])))
    cell = Image.new("RGB", (THUMB_W, THUMB_H), "white")
    size = (max(1, round(top.width * scale)), max(1, round(top.height * scale)))
    cell.paste(top.resize(size, Image.Resampling.LANCZOS), (0, 0))
    return cell


def _fit(draw: Any, text: str, font: Any) -> str:
    """The text cut with an ellipsis to fit one cell's width (ASCII: the default font may lack "…")."""
    if draw.textlength(text, font=font) <= THUMB_W:
        return text
    while text and draw.textlength(text + "...", font=font) > THUMB_W:
        text = text[:-1]
    return text + "..."
