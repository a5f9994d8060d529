"""Stage 6, prompts: the labelled semantic pages as the training dataset, in three kinds of rows.

OUT/final-dataset.json   a JSON array of strings in the prototype's format (no trailing newline), one per page:
                         "[TINY-WEB-DEV-TITLE]\\n\\n{label}\\n\\n[TINY-WEB-DEV-CODE]\\n\\n{html}"
OUT/dataset/             a `datasets` DatasetDict (train / validation) with columns
                         id, page_id, kind, site, url, topic, label, label_source, prompt, completion, text, n_tokens;
                         parquet/{split}.parquet for people who do not use `datasets`; README.md, the card
OUT/dataset-stats.png    rows per kind, token lengths per kind, pages per topic

The kinds (tinyweb.dataset.format writes each prompt):
- `page`: the request → the whole semantic document (its <link> to the framework included; the framework stays
  outside, shared). Every page is kept whole; `max_tokens` leaves out pages longer than that (room kept for the
  end-of-text token training appends), never truncating one, and with `fit` condenses them into complete shorter
  documents instead (tinyweb.dataset.fit; a label the extractive labeller wrote is written again for what the
  condensed page shows). final-dataset.json holds these rows.
- `plan`: the request → the page's `<html>` and `<body>` tags and its sections' labels, in order.
- `section`: the request, the section's label and the labels around it → the section, inside its chain of
  wrappers (tinyweb.dataset.sections; labels by tinyweb.dataset.describe). Every page with anything in its body
  gives a plan and its sections, however long it is: no page is lost for length.

The split is by site (tinyweb.dataset.sites): every row of a page goes where its site goes, grouped and
stratified by topic, deterministic.
"""

from __future__ import annotations

import json
import shutil
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb import report
from tinyweb.dataset.card import dataset_card, plot_stats
from tinyweb.dataset.fit import Keeps, fit_page, framework_keeps, framework_style
from tinyweb.dataset.format import plan_prompt, plan_text, prompt_text, section_prompt
from tinyweb.dataset.sections import SECTION_BUDGET, Shell, split_page
from tinyweb.dataset.sites import sites, split_by_site
from tinyweb.errors import UsageError
from tinyweb.layout import DATASET_DIR, FINAL_DATASET, STATS_PNG
from tinyweb.parallel import quiet_datasets
from tinyweb.placeholder import placeholder_images

SPLITS = ("train", "validation")
KINDS = ("page", "plan", "section")
COLUMNS = (
    "id", "page_id", "kind", "site", "url", "topic", "label", "label_source", "prompt", "completion", "text", "n_tokens"
)  # fmt: skip


@dataclass
class PromptOptions:
    max_tokens: int = field(
        default=0,
        metadata={
            "help": "Leave out (or with --fit condense) whole pages over this many SmolLM2 tokens (0: keep every page "
            "whole); plans and sections are written for every page."
        },
    )
    validation_share: float = field(default=0.1, metadata={"help": "Share of each topic's pages kept for validation."})
    fit: bool = field(
        default=False,
        metadata={
            "help": "Condense pages longer than --max-tokens into complete shorter documents instead of leaving "
            "them out.",
            "flag": "--fit/--no-fit",
        },
    )
    section_budget: int = field(
        default=SECTION_BUDGET,
        metadata={"help": "Tokens a section may take; longer blocks are cut further, trimmed or condensed."},
    )
    placeholder_images: bool = field(
        default=False,
        metadata={
            "help": "Point every image at one placeholder and drop the pages' own fonts and links to their server "
            "(for a model that may ship: no corpus address reaches it).",
            "flag": "--placeholder-images/--no-placeholder-images",
        },
    )
    site_pattern: str | None = field(
        default=None,
        metadata={
            "help": "A regular expression on URL paths whose first group names a page's site (for pages served from "
            "one local server; default: pages that link to each other are a site)."
        },
    )

    def __post_init__(self) -> None:
        if self.max_tokens < 0:
            raise UsageError("--max-tokens must be 0 (no limit) or more")
        if not 0 <= self.validation_share < 1:
            raise UsageError("--validation-share must be at least 0 and below 1")
        if self.section_budget < 64:
            raise UsageError("--section-budget must be at least 64 tokens")


def rows_for(
    pages: list[dict[str, Any]],
    labels: dict[str, dict[str, Any]],
    page_topic: dict[str, str],
    semantic: dict[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One dataset row per labelled page (n_tokens not yet counted), and the pages skipped for want of a label."""
    rows, unlabelled = [], []
    for page in pages:
        entry = labels.get(page["id"])
        if entry is None:
            unlabelled.append({"id": page["id"], "url": page["url"]})
            continue
        html = semantic[page["id"]]
        prompt = prompt_text(entry["label"])
        rows.append(
            {
                "id": page["id"],
                "page_id": page["id"],
                "kind": "page",
                "site": "",
                "url": page["url"],
                "topic": page_topic.get(page["id"], "general"),
                "label": " ".join(entry["label"].split()),
                "label_source": entry["source"],
                "prompt": prompt,
                "completion": html,
                "text": prompt + html,
                "n_tokens": 0,
                "captured_at": page["captured_at"],
            }
        )
    return rows, unlabelled


def relabel(page: dict[str, Any], document: str, topic: str, keywords: list[str]) -> str | None:
    """The extractive label of `document`, a condensed version of the cleaned `page`; None if it has none."""
    from lxml import html as lxml_html

    from tinyweb.compress.pagekind import outline
    from tinyweb.dataset.labelers import LabelInput
    from tinyweb.dataset.labelers.extractive import ExtractiveLabeler

    body = lxml_html.document_fromstring(document).find("body")
    if body is None:
        return None
    structure, h1 = outline(document)
    page_input = LabelInput(
        id=page["id"],
        url=page["url"],
        title=page["title"] or "",
        description=page["description"] or "",
        headings=[" ".join(h.text_content().split()) for h in body.iter("h1", "h2", "h3")],
        text=" ".join(body.text_content().split()),
        topic=topic,
        keywords=keywords,
        outline=structure,
        h1=h1,
    )
    (label,) = ExtractiveLabeler().label([page_input])
    return " ".join(label.split()) if isinstance(label, str) and label.strip() else None


def fit_row(
    row: dict[str, Any], page: dict[str, Any], limit: int, keywords: list[str], keeps: Keeps
) -> dict[str, Any] | None:
    """`row` condensed so that its text and the end-of-text token fit in `limit` tokens, or None."""
    from tinyweb.models import count_tokens

    label = row["label"]
    room = limit - 1 - count_tokens([prompt_text(label)])[0]
    for _ in range(4):
        document = fit_page(row["completion"], room, count_tokens, keeps)
        if document is None:
            return None
        if row["label_source"] == "extractive":
            label = relabel(page, document, row["topic"], keywords) or label
        prompt = prompt_text(label)
        n_tokens = count_tokens([prompt + document])[0]
        if n_tokens + 1 <= limit:
            fitted = dict(row, label=label, prompt=prompt, completion=document, text=prompt + document)
            return fitted | {"n_tokens": n_tokens, "n_tokens_before": row["n_tokens"]}
        room -= n_tokens + 1 - limit  # a longer label, or tokens merged across the join: try a little shorter
    return None


def composition_rows(row: dict[str, Any], document: str, split: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The plan row and section rows of the page `row` (tokens not yet counted), or none and why."""
    cut = split(document)
    if cut is None:
        return [], "nothing in its body"
    shell: Shell = cut.shell
    labels = [s.label for s in cut.sections]
    request = row["label"]
    html_tag, body_tag = shell.tags()

    def derived(kind: str, suffix: str, label: str, prompt: str, completion: str) -> dict[str, Any]:
        extra = {"id": f"{row['id']}-{suffix}", "kind": kind, "label": label, "prompt": prompt}
        return row | extra | {"completion": completion, "text": prompt + completion, "n_tokens": 0}

    out = [derived("plan", "plan", request, plan_prompt(request), plan_text(html_tag, body_tag, labels))]
    for section in cut.sections:
        out.append(
            derived(
                "section",
                f"s{section.index}",
                section.label,
                section_prompt(request, labels, section.index),
                section.text,
            )
            | {"_section": section}
        )
    return out, None


def prompts(
    pages: list[dict[str, Any]],
    labels: dict[str, dict[str, Any]],
    page_topic: dict[str, str],
    semantic: dict[str, str],
    out: Path,
    options: PromptOptions,
    keywords: dict[str, list[str]] | None = None,
    css: str = "",
) -> dict[str, Any]:
    """The prompts stage's entry point: the cleaned pages, their labels, topics and semantic HTML (by id) in;
    final-dataset.json, dataset/ and dataset-stats.png written to `out`; the report section returned.
    `css` is the framework the semantic pages use: sections read their layout from it, and condensing (for
    sections, and pages with `fit`) keeps the wrappers it paints or lays out with."""
    from tinyweb.models import count_tokens

    if options.placeholder_images:
        urls = {p["id"]: p["url"] for p in pages}
        semantic = {pid: placeholder_images(html, urls.get(pid, "")) for pid, html in semantic.items()}
    rows, unlabelled = rows_for(pages, labels, page_topic, semantic)
    if not rows:
        raise UsageError("no page has a label: run `tinyweb label` (or `tinyweb build`) first")
    keeps, style = framework_keeps(css), framework_style(css)

    def split(document: str) -> Any:
        return split_page(document, style, count_tokens, keeps, options.section_budget)

    composed, no_sections = [], []
    for row in rows:
        derived, why = composition_rows(row, row["completion"], split)
        composed += derived
        if why:
            no_sections.append({"id": row["id"], "url": row["url"], "reason": why})
    for r, n in zip(rows + composed, count_tokens([r["text"] for r in rows + composed]), strict=True):
        r["n_tokens"] = n
    kept, too_long, fitted = page_rows(rows, pages, options, keywords or {}, keeps)
    every = kept + composed
    if not every:
        raise UsageError(
            f"every one of the {len(rows)} pages is longer than --max-tokens {options.max_tokens} "
            f"(shortest: {min(r['n_tokens'] for r in rows)} tokens) and none has sections"
        )
    page_site = sites([p for p in pages if p["id"] in {r["page_id"] for r in every}], options.site_pattern)
    splits = split_by_site(page_site, page_topic, options.validation_share)
    for r in every:
        r["site"] = page_site[r["page_id"]]

    final = json.dumps([r["text"] for r in kept], ensure_ascii=False, indent=1)
    (out / FINAL_DATASET).write_text(final, encoding="utf-8")
    section = _section(rows, every, too_long, splits, options, fitted, no_sections) | {
        "unlabelled": len(unlabelled),
        "unlabelled_pages": unlabelled,
    }
    write_dataset(out, every, splits, section)
    plot_stats(every, too_long, splits, options.max_tokens, out / STATS_PNG)
    return section


def page_rows(
    rows: list[dict[str, Any]],
    pages: list[dict[str, Any]],
    options: PromptOptions,
    keywords: dict[str, list[str]],
    keeps: Keeps,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The page rows kept (whole, or with `fit` condensed), those too long, and those condensed."""
    limit = options.max_tokens
    too_long = [r for r in rows if limit and r["n_tokens"] + 1 > limit]
    kept = [r for r in rows if not (limit and r["n_tokens"] + 1 > limit)]
    fitted: list[dict[str, Any]] = []
    if options.fit and too_long:
        by_id = {p["id"]: p for p in pages}
        condensed = {r["id"]: fit_row(r, by_id[r["id"]], limit, keywords.get(r["topic"], []), keeps) for r in too_long}
        fitted = [row for row in condensed.values() if row is not None]
        # In the pages' order: each too-long row replaced by its condensed page, or left out.
        kept = [row for row in (condensed.get(r["id"], r) for r in rows) if row is not None]
        too_long = [r for r in too_long if condensed[r["id"]] is None]
    return kept, too_long, fitted


def write_dataset(out: Path, rows: list[dict[str, Any]], splits: dict[str, str], section: dict[str, Any]) -> None:
    """OUT/dataset: the DatasetDict, its Parquet files and its card, replacing the old one only when complete."""
    from datasets import Dataset, DatasetDict, Features, Value

    target = out / DATASET_DIR
    tmp = out / (DATASET_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    features = Features({c: Value("int32" if c == "n_tokens" else "string") for c in COLUMNS})
    # Columns, not rows: a split with no rows (a corpus of one) is still a split with these columns.
    data = DatasetDict(
        {
            split: Dataset.from_dict(
                {c: [r[c] for r in rows if splits[r["page_id"]] == split] for c in COLUMNS}, features=features
            )
            for split in SPLITS
        }
    )
    with quiet_datasets():
        # One shard per split: an empty split saved with datasets' default shard count cannot be loaded back.
        data.save_to_disk(str(tmp), num_shards={split: 1 for split in SPLITS})
        (tmp / "parquet").mkdir()
        for split in SPLITS:
            data[split].to_parquet(str(tmp / "parquet" / f"{split}.parquet"))
    (tmp / "README.md").write_text(dataset_card(rows, splits, section), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _stats(values: list[int]) -> dict[str, Any]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "mean": round(statistics.fmean(ordered), 1),
        "max": ordered[-1],
        "total": sum(ordered),
    }


def _section(
    rows: list[dict[str, Any]],
    every: list[dict[str, Any]],
    too_long: list[dict[str, Any]],
    splits: dict[str, str],
    options: PromptOptions,
    fitted: list[dict[str, Any]],
    no_sections: list[dict[str, Any]],
) -> dict[str, Any]:
    kept = [r for r in every if r["kind"] == "page"]
    sections = [r["_section"] for r in every if r["kind"] == "section"]
    reached = {r["page_id"] for r in every}
    per_topic: dict[str, dict[str, int]] = {}
    topic_of = {r["id"]: r["topic"] for r in rows}
    for page_id in sorted(reached):
        counts = per_topic.setdefault(topic_of[page_id], dict.fromkeys(SPLITS, 0))
        counts[splits[page_id]] += 1
    split_counts = Counter(splits[p] for p in reached)
    warnings = [
        f"the {split} split has no pages ({len(reached)} pages, validation share {options.validation_share}): "
        + ("training runs without validation" if split == "validation" else "nothing to train on")
        for split in SPLITS
        if not split_counts[split]
    ]
    kinds = Counter(r["kind"] for r in every)
    by_split = Counter((splits[r["page_id"]], r["kind"]) for r in every)
    per_page = Counter(r["page_id"] for r in every if r["kind"] == "section")
    return {
        "pages": len(rows),
        "reached": len(reached),
        "reached_share": report.ratio(len(reached), len(rows)),
        "rows": {kind: kinds.get(kind, 0) for kind in KINDS},
        "rows_by_split": {split: {kind: by_split[split, kind] for kind in KINDS} for split in SPLITS},
        "no_rows_pages": [r for r in no_sections if r["id"] not in reached],
        "no_sections_pages": no_sections,
        "kept": len(kept),
        "warnings": warnings,
        "left_out_too_long": len(too_long),
        "left_out_pages": [{"id": r["id"], "url": r["url"], "n_tokens": r["n_tokens"]} for r in too_long],
        "fit": options.fit,
        "fitted": len(fitted),
        "fitted_pages": [
            {"id": r["id"], "url": r["url"], "n_tokens_before": r["n_tokens_before"], "n_tokens": r["n_tokens"]}
            for r in fitted
        ],
        "max_tokens": options.max_tokens,
        "section_budget": options.section_budget,
        "sections": {
            "per_page": _stats(list(per_page.values())),
            "section_tokens": _stats([s.tokens for s in sections]),
            "over_budget": sum(s.tokens > options.section_budget for s in sections),
            "trimmed": sum(s.trimmed for s in sections),
            "condensed": sum(s.condensed for s in sections),
        },
        "validation_share": options.validation_share,
        "site_pattern": options.site_pattern,
        "placeholder_images": options.placeholder_images,
        "sites": len({r["site"] for r in every}),
        "splits": dict(split_counts),
        "topics": dict(sorted(per_topic.items())),
        "label_sources": dict(sorted(Counter(r["label_source"] for r in every if r["kind"] == "plan").items())),
        "n_tokens": {kind: _stats([r["n_tokens"] for r in every if r["kind"] == kind]) for kind in KINDS},
        "n_tokens_left_out": _stats([r["n_tokens"] for r in too_long]),
        "columns": list(COLUMNS),
        "files": [FINAL_DATASET, DATASET_DIR + "/", STATS_PNG],
    }
