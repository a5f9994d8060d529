"""Label quality: boilerplate and duplicate rates, and similarity to a gold set of requests written by hand."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tinyweb.dataset.labelers.base import LabelInput, is_boilerplate
from tinyweb.errors import UsageError


def _norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", label.lower()).strip()


def boilerplate_rate(labels: list[str]) -> float | None:
    return round(sum(is_boilerplate(x) for x in labels) / len(labels), 4) if labels else None


def duplicate_rate(labels: list[str]) -> float | None:
    """Share of labels that some other page has too (compared case- and punctuation-blind)."""
    counts = Counter(_norm(x) for x in labels)
    return round(sum(1 for x in labels if counts[_norm(x)] > 1) / len(labels), 4) if labels else None


def read_gold(path: Path) -> list[tuple[str, str]]:
    """(key, request) rows of a gold set: a TSV/CSV with `path`, `url` or `id`, and `request` (or `label`)."""
    text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text), dialect="excel-tab" if "\t" in text.split("\n", 1)[0] else "excel")
    fields = reader.fieldnames or []
    key = next((f for f in ("id", "url", "path") if f in fields), None)
    value = next((f for f in ("request", "label") if f in fields), None)
    if key is None or value is None:
        raise UsageError(f"{path}: a gold set needs an `id`, `url` or `path` column and a `request` column")
    return [(row[key].strip(), row[value].strip()) for row in reader if row[key].strip()]


def match_gold(gold: list[tuple[str, str]], pages: list[LabelInput]) -> dict[str, str]:
    """Gold request by page id, matching by id, by URL, or by URL path ending with the gold path."""
    matched = {}
    for key, request in gold:
        for page in pages:
            path = urlsplit(page.url).path
            if key in (page.id, page.url) or path.endswith("/" + key.lstrip("/")):
                matched[page.id] = request
                break
    return matched


def quality(candidates: dict[str, dict[str, str]], gold: dict[str, str], embed: Any = None) -> dict[str, Any]:
    """Per candidate labelling ({name: {id: label}}), on the gold pages: mean MiniLM cosine similarity to the
    gold request, boilerplate rate and duplicate rate."""
    import numpy as np

    if embed is None:
        from tinyweb.models import embed

    ids = sorted(gold)
    gold_vectors = np.asarray(embed([gold[i] for i in ids]))
    scores = {}
    for name, labels in candidates.items():
        have = [i for i in ids if i in labels]
        vectors = np.asarray(embed([labels[i] or " " for i in have]))
        sims = (vectors * gold_vectors[[ids.index(i) for i in have]]).sum(axis=1)
        texts = [labels[i] for i in have]
        scores[name] = {
            "pages": len(have),
            "similarity": round(float(sims.mean()), 4) if len(have) else None,
            "boilerplate_rate": boilerplate_rate(texts),
            "duplicate_rate": duplicate_rate(texts),
        }
    return scores


def gold_report(inputs: list[LabelInput], labels: dict[str, dict[str, Any]], gold_path: Path) -> dict[str, Any]:
    gold = match_gold(read_gold(gold_path), inputs)
    if not gold:
        raise UsageError(f"no page of this build is in the gold set {gold_path}")
    titles = {p.id: p.title for p in inputs}
    chosen = {i: labels[i]["label"] for i in gold}
    return {
        "gold": str(gold_path),
        "gold_pages": len(gold),
        "quality": quality({"labels": chosen, "title": titles}, gold),
    }
