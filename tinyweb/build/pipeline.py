"""`tinyweb build`: clean → topics → framework → convert → label → prompts, each stage reading what the one
before wrote in OUT.

OUT/
  clean/                     the cleaned pages (a `datasets` Dataset: Arrow shards)
  topics.json                topics, their keywords and each page's topic
  framework.json             every class: name, topic, role, kind, declarations, uses
  semantic-css-framework.css the framework itself
  pages/<id>.html            every page rewritten to use the framework
  labels.json                each page's label (the request a person would type) and where it came from
  final-dataset.json         the prompt dataset in the prototype's format
  dataset/                   the same as a `datasets` DatasetDict (train/validation), Parquet and a card
  dataset-stats.png          token lengths and pages per topic
  report.json                one section per stage
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.build import report
from tinyweb.build.clean import CleanOptions, clean
from tinyweb.build.convert import convert
from tinyweb.build.dataset import PromptOptions, prompts
from tinyweb.build.framework import Framework, framework
from tinyweb.build.labels import LabelOptions, gold_report, label, label_inputs, read_labels, write_labels
from tinyweb.build.parallel import quiet_datasets
from tinyweb.build.topics import topics
from tinyweb.errors import UsageError
from tinyweb.store import Store

CLEAN_DIR = "clean"
PAGES_DIR = "pages"
TOPICS_FILE = "topics.json"
FRAMEWORK_CSS = "semantic-css-framework.css"


@dataclass
class BuildOptions:
    max_tokens: int = 2048  # 0: no limit
    num_proc: int | None = None  # None: every core
    label: LabelOptions = field(default_factory=LabelOptions)
    validation_share: float = 0.1
    fit: bool = False  # pages over max_tokens are kept by clean and condensed by prompts (tinyweb.build.fit)


def _need(path: Path, stage: str) -> Path:
    if not path.exists():
        raise UsageError(f"{path} is missing: run `tinyweb {stage}` (or `tinyweb build`) first")
    return path


def load_pages(out: Path) -> list[dict[str, Any]]:
    from datasets import load_from_disk

    dataset = load_from_disk(str(_need(out / CLEAN_DIR, "clean")))
    return [dict(row) for row in dataset]


def run_clean(store: Store, out: Path, options: BuildOptions) -> dict[str, Any]:
    from datasets import Dataset

    snapshots = list(store.iter_snapshots())
    if not snapshots:
        raise UsageError(f"no snapshots in {store.path}: capture some pages first (`tinyweb crawl` or `tinyweb demo`)")
    # With fit, a long page is condensed for the dataset later, not dropped here.
    limit = 0 if options.fit else options.max_tokens
    result = clean(snapshots, CleanOptions(max_tokens=limit, num_proc=options.num_proc))
    if not result.pages:
        reasons = Counter(d.reason for d in result.dropped)
        raise UsageError(
            f"every one of the {len(snapshots)} snapshots was dropped ({dict(reasons)}); "
            f"see {out / 'report.json'}" + (" or raise --max-tokens" if "too_long" in reasons else "")
        )
    out.mkdir(parents=True, exist_ok=True)
    target = out / CLEAN_DIR
    tmp = out / (CLEAN_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_datasets():
        Dataset.from_list(result.pages).save_to_disk(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    section = {
        "snapshots": len(snapshots),
        "kept": len(result.pages),
        "dropped": dict(sorted(Counter(d.reason for d in result.dropped).items())),
        "capture_failures": len(store.failures()),
        "max_tokens": limit,
        "hidden_elements_removed": sum(p["removed_hidden"] for p in result.pages),
        "dropped_pages": [asdict(d) for d in sorted(result.dropped, key=lambda d: (d.reason, d.url))],
    }
    report.write_section(out, "clean", section)
    return section


def run_topics(out: Path) -> dict[str, Any]:
    pages = load_pages(out)
    result = topics(pages)
    (out / TOPICS_FILE).write_text(json.dumps(result.to_json(), indent=1), encoding="utf-8")
    section = result.to_json()["method"] | {"topics": {t.name: len(t.pages) for t in result.topics}}
    report.write_section(out, "topics", section)
    return section


def read_topics(out: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    data = json.loads(_need(out / TOPICS_FILE, "topics").read_text(encoding="utf-8"))
    return data["pages"], {t["name"]: t["keywords"] for t in data["topics"]}


def run_framework(out: Path, options: BuildOptions) -> dict[str, Any]:
    from tinyweb.models import count_tokens

    pages = load_pages(out)
    page_topic, keywords = read_topics(out)
    fw, page_faces = framework(pages, page_topic, keywords, num_proc=options.num_proc)
    fw.save(out)
    (out / "page-font-faces.json").write_text(json.dumps(page_faces, indent=1), encoding="utf-8")
    css = fw.css()
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


def run_convert(out: Path, options: BuildOptions) -> dict[str, Any]:
    from tinyweb.models import count_tokens

    pages = load_pages(out)
    _need(out / "framework.json", "framework")
    fw = Framework.load(out)
    faces_path = out / "page-font-faces.json"
    page_faces = json.loads(faces_path.read_text(encoding="utf-8")) if faces_path.is_file() else {}
    page_topic, _ = read_topics(out)
    converted = convert(pages, fw, page_faces, num_proc=options.num_proc)
    target = out / PAGES_DIR
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for page in converted:
        (target / f"{page.id}.html").write_text(page.html, encoding="utf-8")
    framework_tokens = report.read(out).get("framework", {}).get("tokens") or count_tokens([fw.css()])[0]
    share = framework_tokens / len(converted)
    semantic_tokens = count_tokens([p.html for p in converted])
    by_id = {p["id"]: p for p in pages}
    rows = []
    for page, tokens in zip(converted, semantic_tokens, strict=True):
        src = by_id[page.id]
        with_share = tokens + share
        seed_tokens = src["seed_format_tokens"] if src["seed_format_tokens"] >= 0 else None
        rows.append(
            {
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
                "lossless": page.lossless,
                "mismatches": page.mismatches[:5],
            }
        )
    seeded = [r for r in rows if r["seed_format_tokens"]]
    total_semantic = sum(semantic_tokens) + framework_tokens
    responsive = responsive_cost(converted, fw, semantic_tokens, framework_tokens, count_tokens)
    totals = {
        "pages": len(rows),
        "seed_format_tokens": sum(r["seed_format_tokens"] for r in seeded) if seeded else None,
        "snapshot_tokens": sum(r["snapshot_tokens"] for r in rows),
        "skeleton_tokens": sum(r["skeleton_tokens"] for r in rows),
        "semantic_tokens": sum(semantic_tokens),
        "framework_tokens": framework_tokens,
        "framework_share_per_page": round(share, 1),
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
        "lossless_pages": sum(r["lossless"] for r in rows),
        "classes_per_element": report.ratio(sum(p.classes for p in converted), sum(p.elements for p in converted)),
        "residual_element_share": report.ratio(
            sum(p.residual_elements for p in converted), sum(p.elements for p in converted)
        ),
        "residual_declaration_share": report.ratio(
            sum(p.residual_declarations for p in converted), sum(p.declarations for p in converted)
        ),
    }
    section = {"totals": totals, "responsive": responsive, "pages": rows}
    report.write_section(out, "convert", section)
    return section


def responsive_cost(
    converted: list[Any], fw: Framework, semantic_tokens: list[int], framework_tokens: int, count_tokens: Any
) -> dict[str, Any]:
    """Tokens of the semantic pages plus the framework with their @media classes and without them."""
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
    store: Store, out: Path, options: BuildOptions, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    pages = load_pages(out)
    page_topic, keywords = read_topics(out)
    inputs = label_inputs(pages, page_topic, keywords)
    labels, section = label(store, inputs, options.label, progress)
    write_labels(out, labels, section)
    if options.label.gold is not None:
        section |= gold_report(inputs, labels, options.label.gold)
    report.write_section(out, "label", section)
    return section


def run_prompts(out: Path, options: BuildOptions) -> dict[str, Any]:
    pages = load_pages(out)
    page_topic, keywords = read_topics(out)
    labels = read_labels(out)
    _need(out / PAGES_DIR, "convert")
    prompt_options = PromptOptions(options.max_tokens, options.validation_share, options.fit)
    section = prompts(pages, labels, page_topic, out, prompt_options, keywords)
    report.write_section(out, "prompts", section)
    return section


def build(
    store: Store,
    out: Path,
    options: BuildOptions,
    progress: Callable[[str], None] | None = None,
    label_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Every stage in order; `progress(stage)` is called before each, `label_progress(done, total)` while
    the labeller works."""
    summary = {}
    for name, run in (
        ("clean", lambda: run_clean(store, out, options)),
        ("topics", lambda: run_topics(out)),
        ("framework", lambda: run_framework(out, options)),
        ("convert", lambda: run_convert(out, options)),
        ("label", lambda: run_label(store, out, options, label_progress)),
        ("prompts", lambda: run_prompts(out, options)),
    ):
        if progress:
            progress(name)
        summary[name] = run()
    return summary
