"""The orchestrator: `tinyweb build` runs clean → topics → framework → convert → label → prompts, and
`tinyweb verify` after them, each stage reading what the one before wrote in OUT/ (tinyweb.layout).

Stages never import one another: each takes plain records and returns its result, and this module alone
reads their inputs from OUT/, hands them over, writes their outputs and the stage's section of
report.json. report.json is written, never read back: what a later stage needs travels in files of its
own (topics.json, framework.json, …). Files that record what they were made from (topics.json and
framework.json keep the fingerprint of the cleaned pages) are checked, so a stale one is an error that
says what to run again, never a wrong build.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyweb import report
from tinyweb.compress.clean import CleanOptions, clean
from tinyweb.compress.convert import ConvertedPage, convert
from tinyweb.compress.framework import framework
from tinyweb.compress.proof import Proof, prove
from tinyweb.compress.stylesheet import Framework
from tinyweb.compress.topics import topics
from tinyweb.compress.verify import VerifyOptions, verify
from tinyweb.dataset.label import LabelOptions, label
from tinyweb.dataset.labelfiles import LabelFiles, export_labels, import_labels, read_labels, write_labels
from tinyweb.dataset.outline import label_inputs
from tinyweb.dataset.prompts import PromptOptions, prompts
from tinyweb.dataset.quality import gold_report
from tinyweb.errors import TinywebError, UsageError
from tinyweb.layout import (
    CLEAN_DIR,
    FRAMEWORK_CSS,
    FRAMEWORK_FILE,
    PAGE_FACES_FILE,
    PAGES_DIR,
    TOPICS_FILE,
    VERIFY_DIR,
)
from tinyweb.parallel import quiet_datasets
from tinyweb.private import private_dir
from tinyweb.store import Store

MAX_LISTED_FAILURES = 10
WORST_SECTION_PNGS = 5


@dataclass
class BuildOptions:
    """What `tinyweb build` takes: each stage's own options."""

    clean: CleanOptions = field(default_factory=CleanOptions)
    label: LabelOptions = field(default_factory=LabelOptions)
    prompts: PromptOptions = field(default_factory=PromptOptions)

    @classmethod
    def of(
        cls,
        max_tokens: int = 0,
        num_proc: int | None = None,
        validation_share: float = 0.1,
        fit: bool = False,
        label: LabelOptions | None = None,
    ) -> BuildOptions:
        """The options from the figures people set most (the rest at their defaults)."""
        return cls(
            clean=CleanOptions(max_tokens=max_tokens, num_proc=num_proc),
            label=label or LabelOptions(),
            prompts=PromptOptions(max_tokens=max_tokens, validation_share=validation_share, fit=fit),
        )

    def __post_init__(self) -> None:
        # A long page is never dropped by clean in a build: its sections carry it into the dataset whole, and
        # --max-tokens only says which whole pages also become page rows (or, with --fit, are condensed).
        self.clean.max_tokens = 0


class LosslessError(TinywebError):
    """Some semantic pages do not reproduce their cleaned pages' styles exactly."""


def need(path: Path, stage: str) -> Path:
    """`path`, or a UsageError naming the stage that writes it."""
    if not path.exists():
        raise UsageError(f"{path} is missing: run `tinyweb {stage}` (or `tinyweb build`) first")
    return path


def load_pages(out: Path) -> list[dict[str, Any]]:
    """The cleaned pages (rows of OUT/clean)."""
    from datasets import load_from_disk

    with quiet_datasets():
        dataset = load_from_disk(str(need(out / CLEAN_DIR, "clean")))
    return [dict(row) for row in dataset]


def fingerprint(pages: list[dict[str, Any]]) -> str:
    """What a set of cleaned pages is: the SHA-256 of their ids and HTML digests."""
    digest = hashlib.sha256()
    for page in sorted(pages, key=lambda p: p["id"]):
        digest.update(f"{page['id']}:{page['html_hash']}\n".encode())
    return digest.hexdigest()[:32]


def _read_json(path: Path, stage: str, pages: list[dict[str, Any]]) -> dict[str, Any]:
    """A stage's JSON output, checked against the cleaned pages it must have been made from."""
    try:
        data = json.loads(need(path, stage).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc}): run `tinyweb {stage}` again") from exc
    if data.get("clean_fingerprint") != fingerprint(pages):
        raise UsageError(f"{path} was made from other cleaned pages than OUT/{CLEAN_DIR}: run `tinyweb {stage}` again")
    return data


def read_topics(out: Path, pages: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each page's topic and each topic's keywords, from OUT/topics.json."""
    data = _read_json(out / TOPICS_FILE, "topics", pages)
    return data["pages"], {t["name"]: t["keywords"] for t in data["topics"]}


def read_framework(out: Path, pages: list[dict[str, Any]]) -> tuple[Framework, dict[str, list[str]]]:
    """The framework and each page's own @font-face rules."""
    fw = Framework.from_json(_read_json(out / FRAMEWORK_FILE, "framework", pages))
    faces = json.loads(need(out / PAGE_FACES_FILE, "framework").read_text(encoding="utf-8"))
    return fw, faces


def read_semantic(out: Path, pages: list[dict[str, Any]]) -> dict[str, str]:
    """Every page's semantic HTML, from OUT/pages/."""
    return {p["id"]: need(out / PAGES_DIR / f"{p['id']}.html", "convert").read_text(encoding="utf-8") for p in pages}


# --- the stages -----------------------------------------------------------------------------------------------


def run_clean(store: Store, out: Path, options: CleanOptions) -> dict[str, Any]:
    from datasets import Dataset

    snapshots = list(store.iter_snapshots())
    if not snapshots:
        raise UsageError(f"no snapshots in {store.path}: capture some pages first (`tinyweb crawl` or `tinyweb demo`)")
    result = clean(snapshots, options)
    reasons = Counter(d.reason for d in result.dropped)
    if not result.pages:
        raise UsageError(
            f"every one of the {len(snapshots)} snapshots was dropped ({dict(reasons)})"
            + (": raise --max-tokens, or keep long pages with --fit" if "too_long" in reasons else "")
        )
    private_dir(out, "build folder")
    target, tmp = out / CLEAN_DIR, out / (CLEAN_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_datasets():
        Dataset.from_list(result.pages).save_to_disk(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    section = {
        "snapshots": len(snapshots),
        "kept": len(result.pages),
        "dropped": dict(sorted(reasons.items())),
        "capture_failures": len(store.failures()),
        "max_tokens": options.max_tokens,
        "hidden_elements_removed": sum(p["removed_hidden"] for p in result.pages),
        "dropped_pages": [asdict(d) for d in sorted(result.dropped, key=lambda d: (d.reason, d.url))],
    }
    report.write_section(out, "clean", section)
    return section


def run_topics(out: Path) -> dict[str, Any]:
    pages = load_pages(out)
    result = topics(pages).to_json()
    (out / TOPICS_FILE).write_text(
        json.dumps(result | {"clean_fingerprint": fingerprint(pages)}, indent=1), encoding="utf-8"
    )
    section = result["method"] | {"topics": {t["name"]: t["size"] for t in result["topics"]}}
    report.write_section(out, "topics", section)
    return section


def run_framework(out: Path, num_proc: int | None = None) -> dict[str, Any]:
    from tinyweb.models import count_tokens

    pages = load_pages(out)
    page_topic, keywords = read_topics(out, pages)
    fw, page_faces = framework(pages, page_topic, keywords, num_proc=num_proc)
    (out / FRAMEWORK_FILE).write_text(
        json.dumps(fw.to_json() | {"clean_fingerprint": fingerprint(pages)}, indent=1), encoding="utf-8"
    )
    css = fw.css()
    (out / FRAMEWORK_CSS).write_text(css, encoding="utf-8")
    (out / PAGE_FACES_FILE).write_text(json.dumps(page_faces, indent=1), encoding="utf-8")
    kinds = Counter("pseudo" if c.kind.startswith("::") else "media" if c.media else c.kind for c in fw.classes)
    multi_page = sum(1 for c in fw.classes if c.pages >= 2)
    section = {
        "classes": len(fw.classes),
        "by_kind": dict(sorted(kinds.items())),
        "font_faces": len(fw.font_faces),
        "bytes": len(css.encode("utf-8")),
        "tokens": count_tokens([css])[0],
        # What responsiveness costs: the same framework without its @media classes.
        "tokens_without_media": count_tokens([fw.css(responsive=False)])[0],
        "reuse": {
            "mean_uses_per_class": report.ratio(sum(c.uses for c in fw.classes), len(fw.classes)),
            "mean_pages_per_class": report.ratio(sum(c.pages for c in fw.classes), len(fw.classes)),
            "share_on_two_or_more_pages": report.ratio(multi_page, len(fw.classes)),
        },
        "by_topic": dict(sorted(Counter(c.topic for c in fw.classes).items())),
    }
    report.write_section(out, "framework", section)
    return section


def run_convert(out: Path, num_proc: int | None = None, strict: bool = True) -> dict[str, Any]:
    """Convert every page, prove the written pages against the written framework, report; with `strict`, a
    page that is not lossless fails the stage at its end (LosslessError), after everything is written."""
    pages = load_pages(out)
    fw, page_faces = read_framework(out, pages)
    page_topic, _ = read_topics(out, pages)
    converted = convert(pages, fw, page_faces, num_proc=num_proc)
    _write_pages(out / PAGES_DIR, converted)
    css = need(out / FRAMEWORK_CSS, "framework").read_text(encoding="utf-8")
    proof = prove(pages, read_semantic(out, pages), css, num_proc=num_proc)
    section = convert_section(pages, converted, page_topic, fw, css, proof)
    report.write_section(out, "convert", section)
    if strict:
        check_lossless(section)
    return section


def _write_pages(target: Path, converted: list[ConvertedPage]) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for page in converted:
        (target / f"{page.id}.html").write_text(page.html, encoding="utf-8")


def check_lossless(convert_section: dict[str, Any]) -> None:
    """LosslessError listing the proof's failures, if there are any."""
    failed = convert_section["lossless_failures"]
    if not failed:
        return
    listed = [line for row in failed for line in row["failures"]][:MAX_LISTED_FAILURES]
    total = sum(row["count"] for row in failed)
    raise LosslessError(
        f"{len(failed)} of {convert_section['totals']['pages']} semantic pages are not lossless "
        f"({total} failures; all in report.json, convert.lossless_failures):\n  " + "\n  ".join(listed)
    )


def convert_section(
    pages: list[dict[str, Any]],
    converted: list[ConvertedPage],
    page_topic: dict[str, str],
    fw: Framework,
    css: str,
    proof: Proof,
) -> dict[str, Any]:
    """The convert section of report.json: per page and in total, tokens against the snapshot and the
    prototype's format, classes per element, residual styles, the proof, and what responsiveness costs."""
    from tinyweb.models import count_tokens

    framework_tokens = count_tokens([css])[0]
    semantic_tokens = count_tokens([p.html for p in converted])
    share = framework_tokens / len(converted)
    by_id = {p["id"]: p for p in pages}
    rows = [
        _page_row(by_id[page.id], page, tokens, share, page_topic, proof)
        for page, tokens in zip(converted, semantic_tokens, strict=True)
    ]
    return {
        "totals": _totals(rows, converted, semantic_tokens, framework_tokens, proof),
        "responsive": responsive_cost(converted, fw, semantic_tokens, framework_tokens),
        "lossless_failures": [
            {"id": pid, "count": proof.counts[pid], "failures": proof.failures[pid]} for pid in sorted(proof.failures)
        ],
        "pages": rows,
    }


def _page_row(
    src: dict[str, Any], page: ConvertedPage, tokens: int, share: float, page_topic: dict[str, str], proof: Proof
) -> dict[str, Any]:
    with_share = tokens + share
    seed_tokens = src["seed_format_tokens"] if src["seed_format_tokens"] >= 0 else None
    return {
        "id": page.id,
        "url": src["url"],
        "topic": page_topic.get(page.id),
        "seed_format_bytes": src["seed_format_bytes"],
        "seed_format_tokens": seed_tokens,
        "snapshot_bytes": src["snapshot_bytes"],
        "snapshot_tokens": src["snapshot_tokens"],
        "skeleton_tokens": src["skeleton_tokens"],
        "semantic_bytes": len(page.html.encode("utf-8")),
        "semantic_tokens": tokens,
        "semantic_plus_share_tokens": round(with_share, 1),
        "vs_seed_format": report.ratio(with_share, seed_tokens) if seed_tokens else None,
        "vs_snapshot": report.ratio(with_share, src["snapshot_tokens"]),
        "classes_per_element": report.ratio(page.classes, page.elements),
        "residual_elements": page.residual_elements,
        "styled_elements": page.elements,
        "lossless": page.id not in proof.failures,
    }


def _totals(
    rows: list[dict[str, Any]],
    converted: list[ConvertedPage],
    semantic_tokens: list[int],
    framework_tokens: int,
    proof: Proof,
) -> dict[str, Any]:
    seeded = [r for r in rows if r["seed_format_tokens"]]
    total_semantic = sum(semantic_tokens) + framework_tokens
    elements = sum(p.elements for p in converted)
    return {
        "pages": len(rows),
        "seed_format_tokens": sum(r["seed_format_tokens"] for r in seeded) if seeded else None,
        "snapshot_tokens": sum(r["snapshot_tokens"] for r in rows),
        "skeleton_tokens": sum(r["skeleton_tokens"] for r in rows),
        "semantic_tokens": sum(semantic_tokens),
        "framework_tokens": framework_tokens,
        "framework_share_per_page": round(framework_tokens / len(rows), 1),
        "semantic_plus_framework_tokens": total_semantic,
        "seed_format_over_semantic": report.ratio(
            sum(r["seed_format_tokens"] for r in seeded), sum(r["semantic_plus_share_tokens"] for r in seeded)
        )
        if seeded
        else None,
        "semantic_over_snapshot": report.ratio(total_semantic, sum(r["snapshot_tokens"] for r in rows)),
        "median_vs_seed_format": report.median([r["vs_seed_format"] for r in seeded]),
        "median_vs_snapshot": report.median([r["vs_snapshot"] for r in rows]),
        "median_skeleton_vs_snapshot": report.median([r["skeleton_tokens"] / r["snapshot_tokens"] for r in rows]),
        "lossless_pages": proof.lossless_pages,
        "classes_per_element": report.ratio(sum(p.classes for p in converted), elements),
        "residual_element_share": report.ratio(sum(p.residual_elements for p in converted), elements),
        "residual_declaration_share": report.ratio(
            sum(p.residual_declarations for p in converted), sum(p.declarations for p in converted)
        ),
    }


def responsive_cost(
    converted: list[ConvertedPage], fw: Framework, semantic_tokens: list[int], framework_tokens: int
) -> dict[str, Any]:
    """Tokens of the semantic pages plus the framework with their @media classes and without them."""
    import re

    from tinyweb.models import count_tokens

    media_names = {c.name for c in fw.classes if c.media}

    def without_media(document: str) -> str:
        def strip(match: re.Match[str]) -> str:
            names = [n for n in match.group(1).split() if n not in media_names]
            return f' class="{" ".join(names)}"' if names else ""

        return re.sub(r' class="([^"]*)"', strip, document)

    plain_tokens = count_tokens([without_media(p.html) for p in converted]) if media_names else semantic_tokens
    plain_framework = count_tokens([fw.css(responsive=False)])[0] if media_names else framework_tokens
    with_media = sum(semantic_tokens) + framework_tokens
    without = sum(plain_tokens) + plain_framework
    return {
        "media_classes": len(media_names),
        "responsive_pages": sum(a != b for a, b in zip(semantic_tokens, plain_tokens, strict=True)),
        "pages": len(converted),
        "semantic_plus_framework_tokens": with_media,
        "without_media_tokens": without,
        "framework_tokens": framework_tokens,
        "framework_without_media_tokens": plain_framework,
        "cost": report.ratio(with_media - without, without),
    }


def run_label(
    store: Store,
    out: Path,
    options: LabelOptions,
    progress: Callable[[int, int], None] | None = None,
    files: LabelFiles | None = None,
) -> dict[str, Any]:
    """Label every page: first import the manual labels of `files.import_file` into the store, then label,
    then write every label to `files.export_file` for people to fix."""
    files = files or LabelFiles()
    imported = import_labels(store, files.import_file) if files.import_file else None
    pages = load_pages(out)
    page_topic, keywords = read_topics(out, pages)
    inputs = label_inputs(pages, page_topic, keywords)
    labels, section = label(store, inputs, options, progress)
    write_labels(out, labels, section)
    if options.gold is not None:
        section |= gold_report(inputs, labels, options.gold)
    report.write_section(out, "label", section)
    if imported is not None:
        section["imported"] = imported
    if files.export_file is not None:
        exported = export_labels(labels, files.export_file, pages)
        section |= {"exported": exported, "exported_to": str(files.export_file)}
    return section


def run_prompts(out: Path, options: PromptOptions) -> dict[str, Any]:
    pages = load_pages(out)
    page_topic, keywords = read_topics(out, pages)
    labels = read_labels(out)
    css = need(out / FRAMEWORK_CSS, "framework").read_text(encoding="utf-8")
    section = prompts(pages, labels, page_topic, read_semantic(out, pages), out, options, keywords, css)
    report.write_section(out, "prompts", section)
    return section


def run_verify(
    out: Path, options: VerifyOptions | None = None, progress: Callable[[int, int, str], None] | None = None
) -> dict[str, Any]:
    """Render semantic pages beside their snapshots (tinyweb.compress.verify); the worst side by side in
    OUT/verify/ and a `verify` section in report.json. `progress(done, total, what)` after each check."""
    from tinyweb.compress.verify import page_viewports, select, summarize

    options = options or VerifyOptions()
    pages = select(load_pages(out), options.sample)
    css = need(out / FRAMEWORK_CSS, "framework").read_text(encoding="utf-8")
    total = sum(len(page_viewports(p)) for p in pages)
    done = 0

    def checked(check: Any) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, f"{check.pixel_share * 100:.2f}% {check.viewport} {check.url[-50:]}")

    checks, worst = verify(pages, read_semantic(out, pages), css, checked)
    folder = out / VERIFY_DIR
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    for check, png in worst:
        path = folder / f"{check.id}-{check.viewport}.png"
        path.write_bytes(png)
        check.png = str(path.relative_to(out))
    section = summarize(len(pages), checks)
    if options.sections:
        section["sections"] = run_section_check(out, select(load_pages(out), options.sections), css, progress)
    report.write_section(out, "verify", section)
    return section


def run_section_check(
    out: Path, pages: list[dict[str, Any]], css: str, progress: Callable[[int, int, str], None] | None
) -> dict[str, Any]:
    """Render each section of `pages` alone beside its region of the page (tinyweb.dataset.sectioncheck); the
    worst side by side in OUT/verify/sections/."""
    from tinyweb.dataset.fit import framework_keeps, framework_style
    from tinyweb.dataset.sectioncheck import check_sections, summary
    from tinyweb.dataset.sections import split_page
    from tinyweb.models import count_tokens

    style, keeps = framework_style(css), framework_keeps(css)
    semantic = read_semantic(out, pages)
    cuts = [(p, split_page(semantic[p["id"]], style, count_tokens, keeps)) for p in pages]
    cuts = [(p, cut) for p, cut in cuts if cut is not None]
    total, done = sum(len(cut.sections) for _, cut in cuts), 0

    def checked(check: Any) -> None:
        nonlocal done
        done += 1
        if progress:
            share = "not drawn" if check.pixel_share is None else f"{check.pixel_share * 100:.1f}%"
            progress(done, total, f"section {share} {check.label[:40]}")

    results = check_sections(cuts, css, checked)
    folder = out / VERIFY_DIR / "sections"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    scored = sorted((r for r in results if r[0].pixel_share is not None), key=lambda r: r[0].pixel_share)
    worst = []
    for check, png in scored[:WORST_SECTION_PNGS]:
        path = folder / f"{check.page_id}-{check.index}.png"
        path.write_bytes(png)
        worst.append(str(path.relative_to(out)))
    return summary([check for check, _ in results]) | {"worst": worst}


def build(
    store: Store,
    out: Path,
    options: BuildOptions,
    progress: Callable[[str], None] | None = None,
    label_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Every stage in order; `progress(stage)` is called before each, `label_progress(done, total)` while
    the labeller works. A page that is not lossless fails the build at its end, after every stage ran."""
    summary = {}
    jobs = options.clean.num_proc
    for name, run in (
        ("clean", lambda: run_clean(store, out, options.clean)),
        ("topics", lambda: run_topics(out)),
        ("framework", lambda: run_framework(out, jobs)),
        ("convert", lambda: run_convert(out, jobs, strict=False)),
        ("label", lambda: run_label(store, out, options.label, label_progress)),
        ("prompts", lambda: run_prompts(out, options.prompts)),
    ):
        if progress:
            progress(name)
        summary[name] = run()
    check_lossless(summary["convert"])
    return summary
