"""Stage 6, prompts: the labelled semantic pages as the training dataset.

OUT/final-dataset.json   a JSON array of strings in the prototype's format (no trailing newline):
                         "[TINY-WEB-DEV-TITLE]\\n\\n{label}\\n\\n[TINY-WEB-DEV-CODE]\\n\\n{html}"
OUT/dataset/             a `datasets` DatasetDict (train / validation) with columns
                         id, url, topic, label, label_source, prompt, completion, text, n_tokens;
                         parquet/{split}.parquet for people who do not use `datasets`; README.md, the card
OUT/dataset-stats.png    token lengths and pages per topic

`prompt` is everything up to and including "[TINY-WEB-DEV-CODE]\\n\\n", `completion` the whole semantic document
(its <link> to the framework included; the framework stays outside, shared), `text` their concatenation. A page
whose text is longer than `max_tokens` SmolLM2 tokens (room kept for the end-of-text token training appends) is
left out, never truncated; with `fit`, it is condensed into a complete shorter document instead
(tinyweb.dataset.fit), and a label the extractive labeller wrote is written again for what the condensed page
shows. The split is stratified by topic and deterministic: within each topic of at least
three pages, the share of pages with the lowest SHA-256 of their id goes to validation (at least one), so a
page's split depends on its id and its topic's pages, never on their order or the run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.dataset.fit import Keeps, fit_page, framework_keeps
from tinyweb.dataset.format import CODE_MARK, TITLE_MARK, prompt_text
from tinyweb.errors import UsageError
from tinyweb.layout import DATASET_DIR, FINAL_DATASET, STATS_PNG
from tinyweb.parallel import quiet_datasets

SPLITS = ("train", "validation")
COLUMNS = ("id", "url", "topic", "label", "label_source", "prompt", "completion", "text", "n_tokens")
MIN_TOPIC_FOR_VALIDATION = 3  # a topic with fewer pages keeps them all for training


@dataclass
class PromptOptions:
    max_tokens: int = field(
        default=2048,
        metadata={"help": "Leave out (or with --fit condense) pages over this many SmolLM2 tokens (0: no limit)."},
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

    def __post_init__(self) -> None:
        if self.max_tokens < 0:
            raise UsageError("--max-tokens must be 0 (no limit) or more")
        if not 0 <= self.validation_share < 1:
            raise UsageError("--validation-share must be at least 0 and below 1")


def split_of(rows: list[dict[str, Any]], share: float) -> dict[str, str]:
    """id → split, stratified by topic and deterministic (see the module docstring)."""
    by_topic: dict[str, list[str]] = {}
    for row in rows:
        by_topic.setdefault(row["topic"], []).append(row["id"])

    def rank(page_id: str) -> str:
        return hashlib.sha256(page_id.encode("utf-8")).hexdigest()

    splits = {row["id"]: "train" for row in rows}
    for ids in by_topic.values():
        if len(ids) < MIN_TOPIC_FOR_VALIDATION or share <= 0:
            continue
        for page_id in sorted(ids, key=rank)[: max(1, round(len(ids) * share))]:
            splits[page_id] = "validation"
    if share > 0 and len(rows) >= 2 and "validation" not in splits.values():
        largest = max(by_topic.values(), key=len)
        splits[sorted(largest, key=rank)[0]] = "validation"
    return splits


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

    from tinyweb.dataset.labelers import LabelInput
    from tinyweb.dataset.labelers.extractive import ExtractiveLabeler
    from tinyweb.dataset.outline import outline

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
    `css` is the framework the semantic pages use: with `fit`, a wrapper it paints or lays out stays."""
    from datasets import Dataset, DatasetDict, Features, Value

    from tinyweb.models import count_tokens

    rows, unlabelled = rows_for(pages, labels, page_topic, semantic)
    if not rows:
        raise UsageError("no page has a label: run `tinyweb label` (or `tinyweb build`) first")
    for row, n in zip(rows, count_tokens([r["text"] for r in rows]), strict=True):
        row["n_tokens"] = n
    limit = options.max_tokens
    too_long = [r for r in rows if limit and r["n_tokens"] + 1 > limit]
    kept = [r for r in rows if not (limit and r["n_tokens"] + 1 > limit)]
    fitted: list[dict[str, Any]] = []
    if options.fit and too_long:
        by_id, keeps = {p["id"]: p for p in pages}, framework_keeps(css)
        condensed = {
            r["id"]: fit_row(r, by_id[r["id"]], limit, (keywords or {}).get(r["topic"], []), keeps) for r in too_long
        }
        fitted = [row for row in condensed.values() if row is not None]
        # In the pages' order: each too-long row replaced by its condensed page, or left out.
        kept = [row for row in (condensed.get(r["id"], r) for r in rows) if row is not None]
        too_long = [r for r in too_long if condensed[r["id"]] is None]
    if not kept:
        raise UsageError(
            f"every one of the {len(rows)} pages is longer than --max-tokens {limit} "
            f"(shortest: {min(r['n_tokens'] for r in rows)} tokens)"
        )
    splits = split_of(kept, options.validation_share)

    final = json.dumps([r["text"] for r in kept], ensure_ascii=False, indent=1)
    (out / FINAL_DATASET).write_text(final, encoding="utf-8")

    target = out / DATASET_DIR
    tmp = out / (DATASET_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    features = Features({c: Value("int32" if c == "n_tokens" else "string") for c in COLUMNS})
    # Columns, not rows: a split with no pages (a corpus of one) is still a split with these columns.
    data = DatasetDict(
        {
            split: Dataset.from_dict(
                {c: [r[c] for r in kept if splits[r["id"]] == split] for c in COLUMNS}, features=features
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
    section = _section(kept, too_long, splits, options, fitted) | {
        "unlabelled": len(unlabelled),
        "unlabelled_pages": unlabelled,
    }
    (tmp / "README.md").write_text(dataset_card(kept, splits, section), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    plot_stats(kept, too_long, splits, limit, out / STATS_PNG)
    return section


def _stats(values: list[int]) -> dict[str, Any]:
    if not values:
        return {}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "mean": round(statistics.fmean(values), 1),
        "max": max(values),
        "total": sum(values),
    }


def _section(
    kept: list[dict[str, Any]],
    too_long: list[dict[str, Any]],
    splits: dict[str, str],
    options: PromptOptions,
    fitted: list[dict[str, Any]],
) -> dict[str, Any]:
    per_topic: dict[str, dict[str, int]] = {}
    for row in kept:
        counts = per_topic.setdefault(row["topic"], dict.fromkeys(SPLITS, 0))
        counts[splits[row["id"]]] += 1
    split_counts = Counter(splits[r["id"]] for r in kept)
    warnings = [
        f"the {split} split has no pages ({len(kept)} pages, validation share {options.validation_share}): "
        + ("training runs without validation" if split == "validation" else "nothing to train on")
        for split in SPLITS
        if not split_counts[split]
    ]
    return {
        "pages": len(kept) + len(too_long),
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
        "validation_share": options.validation_share,
        "splits": dict(split_counts),
        "topics": dict(sorted(per_topic.items())),
        "label_sources": dict(sorted(Counter(r["label_source"] for r in kept).items())),
        "n_tokens": _stats([r["n_tokens"] for r in kept]),
        "n_tokens_left_out": _stats([r["n_tokens"] for r in too_long]),
        "files": [FINAL_DATASET, DATASET_DIR + "/", STATS_PNG],
    }


def dataset_card(kept: list[dict[str, Any]], splits: dict[str, str], section: dict[str, Any]) -> str:
    """The dataset's README.md: what is in it, where it came from, and under what terms."""
    from urllib.parse import urlsplit

    domains = Counter(urlsplit(r["url"]).hostname or "" for r in kept)
    dates = sorted(r["captured_at"][:10] for r in kept)
    topics = "\n".join(f"| {name} | {c['train']} | {c['validation']} |" for name, c in section["topics"].items())
    sources = ", ".join(f"{k}: {v}" for k, v in section["label_sources"].items())
    tokens = section["n_tokens"]
    n_train, n_validation = (section["splits"].get(split, 0) for split in SPLITS)
    top_domains = "\n".join(f"- {d or '(none)'}: {n} pages" for d, n in domains.most_common(20))
    more = f"\n- … and {len(domains) - 20} more domains" if len(domains) > 20 else ""
    return f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: parquet/train.parquet
  - split: validation
    path: parquet/validation.parquet
license: other
task_categories:
- text-generation
language:
- en
---
# tinyweb prompt dataset

Web pages captured by tinyweb, rewritten to use one shared semantic CSS framework
(`semantic-css-framework.css`, beside this folder), each paired with the request a person would type to get it.
Made by `tinyweb prompts`; every string of `final-dataset.json` is one `text` here.

## Format
`text` = `prompt` + `completion`, where `prompt` is

```
{TITLE_MARK}

{{label}}

{CODE_MARK}

```

and `completion` is the whole HTML document. Columns: {", ".join(f"`{c}`" for c in COLUMNS)}.
`n_tokens` counts `text` in SmolLM2 tokens. {_length_policy(section)}

## Counts
- {section["kept"]} pages: {n_train} train, {n_validation} validation
  (stratified by topic, deterministic: a page's split depends only on its id and its topic's pages)
- tokens per page: min {tokens["min"]}, median {tokens["median"]}, max {tokens["max"]}, total {tokens["total"]:,}
- labels by source: {sources}

| topic | train | validation |
|---|---|---|
{topics}

## Sources
Captured {dates[0]} to {dates[-1]} from {len(domains)} domain(s):
{top_domains}{more}

## Licence
The pages belong to their authors. The markup, text and images referenced here keep the licences of the sites
they were captured from; tinyweb adds no rights. Check each source's terms before redistributing this dataset
or a model trained on it. The labels and the framework were generated by tinyweb (or written by hand where
`label_source` is `manual`).
"""


def _length_policy(section: dict[str, Any]) -> str:
    limit, left_out = section["max_tokens"], section["left_out_too_long"]
    if not limit:
        return "Pages of any length are kept, whole."
    if not section["fit"]:
        return f"Pages longer than {limit} tokens were left out ({left_out}), never truncated."
    return (
        f"{section['fitted']} pages longer than {limit} tokens were condensed into complete shorter documents "
        "(whitespace between elements, repeated alike siblings, then everything after the element where the "
        f"budget ran out; their extractive labels written again for what stays); {left_out} could not be."
    )


def plot_stats(
    kept: list[dict[str, Any]], too_long: list[dict[str, Any]], splits: dict[str, str], limit: int, path: Path
) -> None:
    """Token-length histogram and pages per topic, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    lengths = [r["n_tokens"] for r in kept]
    everything = lengths + [r["n_tokens"] for r in too_long]
    low, high = max(1, min(everything)), max(everything)
    count = min(30, max(5, len(everything) // 3))
    if high / low > 20:  # a long tail: logarithmic bins keep the kept pages visible
        bins = list(np.geomspace(low, high + 1, count + 1))
        left.set_xscale("log")
    else:
        bins = list(np.linspace(low, high + 1, count + 1))
    left.hist(lengths, bins=bins, color="#3b6ea5", label="in the dataset")
    if too_long:
        left.hist([r["n_tokens"] for r in too_long], bins=bins, color="#c0504d", alpha=0.7, label="left out")
    if limit:
        left.axvline(limit, color="#333", linestyle="--", linewidth=1, label=f"--max-tokens {limit}")
    left.set_title(f"tokens per page ({len(kept)} kept, {len(too_long)} too long)")
    left.set_xlabel("SmolLM2 tokens (prompt + page)")
    left.set_ylabel("pages")
    left.legend(frameon=False)

    topics = sorted({r["topic"] for r in kept}, key=lambda t: -sum(1 for r in kept if r["topic"] == t))
    train = [sum(1 for r in kept if r["topic"] == t and splits[r["id"]] == "train") for t in topics]
    val = [sum(1 for r in kept if r["topic"] == t and splits[r["id"]] == "validation") for t in topics]
    y = range(len(topics))
    right.barh(y, train, color="#3b6ea5", label="train")
    right.barh(y, val, left=train, color="#f0a030", label="validation")
    right.set_yticks(list(y), topics)
    right.invert_yaxis()
    right.set_title(f"pages per topic ({len(topics)} topics)")
    right.set_xlabel("pages")
    right.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
