"""Evaluation: systems side by side on the same requests (tinyweb.learn.systems), measured the same way, and
compared with real pages.

For each request, each system writes a page (`composed` and `one-shot` from the trained run, `base` and
`base-example` from its base model, `retrieval` from the reference pages), and every page is rendered at
1280×800 in headless Chromium with scripts off and only local files (so images a page points elsewhere are
missing for every system alike). Reference pages, real semantic pages from a build, are rendered the same way:
their distribution of each design statistic is what the systems are compared with.

Every page is written with its images pointed at one placeholder (tinyweb.placeholder) before it is rendered,
generated and real alike, so no row gains or loses by the pictures it names.

Measures per page (tinyweb.learn.metrics, tinyweb.learn.design): complete; parse errors on the model's raw
text of each part; the share of parts that ended on their own; class uses the framework defines (per use)
and classes per element; blank; ink, colours, painted blocks, words, height, landmark sections, footer and
text contrast; request similarity (MiniLM, on the visible text); repetition (on the visible words). For each
request, its nearest training label (MiniLM) when the run's dataset is at hand: a request a training page
answers would measure memory, not design.

Resumable: a page already written (OUT/SYSTEM/NN.json beside NN.html) is not generated again; reference
stats are kept in OUT/reference/stats.json.

out_dir/
  evaluation.json     per request every system's page and measures; per system the summary; the references
  contact-sheet.png   one row per request (the first 12), one column per system: the first screen of each
  SYSTEM/NN.html      the pages (each with a copy of the framework beside it), NN.png, NN.json
  reference/          the reference pages rendered, and their statistics
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.errors import UsageError
from tinyweb.layout import CONTACT_SHEET, EVALUATION_FILE
from tinyweb.learn.decode import GenerateOptions
from tinyweb.learn.metrics import (
    PageMetrics,
    class_uses,
    html5_errors,
    is_end_of_input,
    prompt_similarities,
    reference_figures,
    renders_non_blank,
    repetition_rate,
    summarize,
    visible_text,
)
from tinyweb.learn.render import render_pages, write_page
from tinyweb.learn.sheet import SHEET_ROWS, contact_sheet
from tinyweb.learn.systems import SYSTEMS, Written, base_pages, retrieved_pages, tuned_pages
from tinyweb.placeholder import placeholder_images

Progress = Callable[[str], None]  # told what is being done: "composed 3/22", "render 40/110"
NEAREST_LABEL_LIMIT = 0.85  # a request this close to a training label is one a training page answers


@dataclass
class EvaluateOptions:
    systems: str = field(
        default=",".join(SYSTEMS),
        metadata={"help": f"Which rows, comma-separated: {', '.join(SYSTEMS)} (retrieval needs --references)."},
    )
    references: Path | None = field(
        default=None,
        metadata={"help": "A build folder whose labelled semantic pages are the reference pages.", "dir": True},
    )

    def system_list(self) -> list[str]:
        names = [s.strip() for s in self.systems.split(",") if s.strip()]
        unknown = [s for s in names if s not in SYSTEMS]
        if unknown or not names:
            raise UsageError(f"--systems takes some of {', '.join(SYSTEMS)} (got {self.systems!r})")
        return names


def reference_pages(build: Path, ids: set[str] | None = None) -> list[dict[str, str]]:
    """The labelled semantic pages of a build folder (`id`, `label`, `html`), or those of `ids`."""
    from tinyweb.dataset.labelfiles import read_labels
    from tinyweb.layout import PAGES_DIR

    pages = []
    for page_id, entry in sorted(read_labels(Path(build)).items()):
        path = Path(build) / PAGES_DIR / f"{page_id}.html"
        if (ids is None or page_id in ids) and path.is_file() and entry.get("label"):
            pages.append({"id": page_id, "label": entry["label"], "html": path.read_text(encoding="utf-8")})
    if not pages:
        raise UsageError(f"{build} holds no labelled semantic page to compare with")
    return pages


def evaluate_run(
    run_folder: Path,
    requests: list[str],
    out_dir: Path,
    options: GenerateOptions,
    settings: EvaluateOptions,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """`tinyweb evaluate`: `evaluate` with the systems and reference pages its options name."""
    references = reference_pages(settings.references) if settings.references else None
    return evaluate(run_folder, requests, out_dir, options, progress, settings.system_list(), references)


def evaluate(
    run_folder: Path,
    requests: list[str],
    out_dir: Path,
    options: GenerateOptions | None = None,
    progress: Progress | None = None,
    systems: list[str] | None = None,
    references: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Each system writes a page for each request; every page is rendered, measured and compared.

    Args:
        run_folder: a finished training run (runs/NAME).
        requests: what to ask; see tinyweb.learn.requests.
        out_dir: where the pages, screenshots, evaluation.json and contact-sheet.png go.
        options: decoding options, the same for every model (default: greedy, the run's budgets).
        systems: the rows (default: all of SYSTEMS that can run: retrieval needs `references`).
        references: real pages (`id`, `label`, `html`) to compare with, and for the retrieval row.

    Returns the content of evaluation.json. Raises UsageError, ModelError or BrowserError.
    """
    if not requests:
        raise UsageError("no requests to evaluate")
    started = time.perf_counter()
    options = options or GenerateOptions()
    run_folder, out_dir = Path(run_folder), Path(out_dir)
    systems = systems or [s for s in SYSTEMS if s != "retrieval" or references]
    if "retrieval" in systems and not references:
        raise UsageError("the retrieval row needs reference pages: pass --references BUILD")
    written, css, classes = _write_all(run_folder, requests, out_dir, options, systems, references or [], progress)
    files = {name: [out_dir / name / f"{i:02d}.html" for i in range(1, len(requests) + 1)] for name in systems}
    rendered = _render(files, progress)
    ref_stats = _reference_stats(references or [], out_dir / "reference", css, progress) if references else []
    reference = reference_figures(ref_stats) if ref_stats else None
    metrics = {name: _metrics(written[name], rendered[name], classes) for name in systems}
    report = {
        "run": str(run_folder),
        "options": asdict(options),
        "systems": systems,
        "framework_classes": len(classes),
        "nearest_training_labels": _nearest_labels(run_folder, requests),
        "reference": reference,
        "requests": [
            {
                "request": request,
                **{name: _entry(written[name][i], metrics[name][i], files[name][i], out_dir) for name in systems},
            }
            for i, request in enumerate(requests)
        ],
        "summary": {name: summarize(metrics[name], reference) for name in systems},
        "contact_sheet": CONTACT_SHEET,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out_dir / EVALUATION_FILE).write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    cells = {name: [(rendered[name][i][0], metrics[name][i]) for i in range(len(requests))] for name in systems}
    contact_sheet(requests[:SHEET_ROWS], systems, {n: c[:SHEET_ROWS] for n, c in cells.items()}).save(
        out_dir / CONTACT_SHEET
    )
    return report


def _entry(page: Written, m: PageMetrics, html: Path, out_dir: Path) -> dict[str, Any]:
    png = html.with_suffix(".png")
    extra = {k: v for k, v in asdict(page).items() if k in ("plan", "fallback", "source", "similarity") and v}
    return {
        **asdict(m),
        **extra,
        "html": html.relative_to(out_dir).as_posix(),
        "png": png.relative_to(out_dir).as_posix() if png.is_file() else None,
    }


def _saved(path: Path) -> Written | None:
    if not path.is_file():
        return None
    return Written(**json.loads(path.read_text(encoding="utf-8")))


def _write_all(
    run_folder: Path,
    requests: list[str],
    out_dir: Path,
    options: GenerateOptions,
    systems: list[str],
    references: list[dict[str, str]],
    progress: Progress | None,
) -> tuple[dict[str, list[Written]], str, set[str]]:
    """Every system's pages, generated unless already written; one model in memory at a time."""
    from tinyweb.learn.runs import load_base, load_run

    run = load_run(run_folder, merge=True)
    css, classes = run.css, run.classes
    done: dict[str, list[Written | None]] = {
        name: [_saved(out_dir / name / f"{i:02d}.json") for i in range(1, len(requests) + 1)] for name in systems
    }

    def fill(name: str, make: Callable[[list[str]], list[Written]]) -> None:
        todo = [i for i, page in enumerate(done[name]) if page is None]
        if not todo:
            return
        for k, i in enumerate(todo, 1):
            if progress:
                progress(f"{name} {k}/{len(todo)}")
            [page] = make([requests[i]])
            done[name][i] = page
            path = out_dir / name / f"{i + 1:02d}.json"
            write_page(placeholder_images(page.html), path.with_suffix(".html"), css)
            path.write_text(json.dumps(asdict(page), ensure_ascii=False), encoding="utf-8")

    for kind in ("composed", "one-shot"):
        if kind in systems:
            fill(kind, lambda batch, kind=kind, run=run: tuned_pages(run, batch, options, kind, None))
    del run
    gc.collect()
    if {"base", "base-example"} & set(systems):
        model, tokenizer = load_base(run_folder)
        for name in ("base", "base-example"):
            if name in systems:
                fill(name, lambda batch, name=name: base_pages(model, tokenizer, batch, options, name != "base"))
        del model
        gc.collect()
    if "retrieval" in systems:
        fill("retrieval", lambda batch: retrieved_pages(batch, references))
    return {name: [p for p in pages if p is not None] for name, pages in done.items()}, css, classes


def _render(files: dict[str, list[Path]], progress: Progress | None) -> dict[str, list[tuple[Path | None, Any]]]:
    """Each page's screenshot and design statistics (None, None where it did not render)."""
    flat = [(name, html) for name, paths in files.items() for html in paths]
    count = 0

    def rendered(n: int) -> None:
        nonlocal count
        count += n
        if progress:
            progress(f"render {count}/{len(flat)}")

    shots = render_pages([(html, html.with_suffix(".png")) for _, html in flat], rendered)
    out: dict[str, list[tuple[Path | None, Any]]] = {name: [] for name in files}
    for (name, _), shot in zip(flat, shots, strict=True):
        out[name].append(shot if shot is not None else (None, None))
    return out


def _reference_stats(
    references: list[dict[str, str]], folder: Path, css: str, progress: Progress | None
) -> list[dict[str, Any]]:
    """The reference pages' design statistics, rendered like the generated pages (kept in stats.json)."""
    cache = folder / "stats.json"
    stats = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    todo = [r for r in references if r["id"] not in stats]
    if todo:
        for ref in todo:
            write_page(placeholder_images(ref["html"]), folder / f"{ref['id']}.html", css)
        if progress:
            progress(f"reference pages: rendering {len(todo)}")
        shots = render_pages([(folder / f"{r['id']}.html", folder / f"{r['id']}.png") for r in todo])
        for ref, shot in zip(todo, shots, strict=True):
            if shot is not None and shot[1] is not None:
                stats[ref["id"]] = shot[1].to_json()
        cache.write_text(json.dumps(stats, indent=1), encoding="utf-8")
    return [stats[r["id"]] for r in references if r["id"] in stats]


def _metrics(pages: list[Written], shots: list[tuple[Path | None, Any]], classes: set[str]) -> list[PageMetrics]:
    texts = [visible_text(page.html) for page in pages]
    similarity = prompt_similarities([(page.request, text) for page, text in zip(pages, texts, strict=True)])
    out = []
    for page, text, score, (png, design) in zip(pages, texts, similarity, shots, strict=True):
        errors = [code for part in (page.parts or [page.html]) for code in html5_errors(part)]
        valid, per_element = class_uses(page.html, classes)
        ended = page.ended or [True]
        out.append(
            PageMetrics(
                complete=bool(page.parts) if page.plan else all(ended),  # composed: assembled whole
                parse_errors=len(errors),
                parse_errors_before_end=sum(not is_end_of_input(code) for code in errors),
                parts_ended=round(sum(ended) / len(ended), 4),
                class_uses_valid=round(valid, 4) if valid is not None else None,
                classes_per_element=round(per_element, 3),
                request_similarity=round(score, 4),
                repetition_rate=round(repetition_rate(text), 4),
                new_tokens=page.new_tokens,
                seconds=round(page.seconds, 3),
                design=design.to_json() if design is not None else None,
                renders_non_blank=renders_non_blank(png),
            )
        )
    return out


def _nearest_labels(run_folder: Path, requests: list[str]) -> list[dict[str, Any]] | None:
    """For each request, the nearest label the run trained on (MiniLM), when its dataset is at hand."""
    from tinyweb.learn.runs import read_run_config
    from tinyweb.models import embed

    dataset = Path(read_run_config(run_folder).get("config", {}).get("dataset", ""))
    if not (dataset / "dataset_dict.json").is_file():
        return None
    from datasets import load_from_disk

    from tinyweb.parallel import quiet_datasets

    with quiet_datasets():
        train = load_from_disk(str(dataset))["train"]
    labels = sorted({r["label"] for r in train if r.get("kind", "page") in ("page", "plan")})
    if not labels:
        return None
    vectors = embed(requests + labels)
    scores = vectors[: len(requests)] @ vectors[len(requests) :].T
    return [
        {
            "request": request,
            "nearest": labels[int(scores[i].argmax())],
            "similarity": round(float(scores[i].max()), 4),
            "over_limit": float(scores[i].max()) > NEAREST_LABEL_LIMIT,
        }
        for i, request in enumerate(requests)
    ]
