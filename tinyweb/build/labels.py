"""Stage 5, label: the request a person would type for each page, kept in the store so a rebuild keeps it.

For every cleaned page, in this order:
1. a manual label (imported from a CSV/JSON of `id,label`: people hand-fix labels) always wins;
2. a label the chosen labeller already wrote, while the labeller's version is unchanged, is reused;
3. otherwise the labeller writes one; where it fails on a page, the extractive labeller answers instead and
   the failure is reported.
The labels are stored per snapshot id and source (`manual`, `extractive`, `local`, `openai`) and written to
OUT/labels.json for the prompts stage. Quality is measured against a gold set: mean MiniLM similarity of label and
gold request, the boilerplate rate and the duplicate-label rate, beside the bare <title> the prototype used.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import html as lxml_html

from tinyweb.build.labelers import Labeler, LabelFailure, LabelInput, is_boilerplate, make_labeler
from tinyweb.build.labelers.extractive import ExtractiveLabeler
from tinyweb.build.roles import hero_of
from tinyweb.errors import UsageError
from tinyweb.store import Store

LABELS_FILE = "labels.json"
MANUAL = "manual"
MAX_MANUAL_CHARS = 1000
PRICE = re.compile(r"[$€£¥]\s?\d|\d\s?[$€£¥]|\d+\s?(usd|eur)\b", re.I)
PER_PERIOD = re.compile(r"/\s?(mo|month|yr|year)\b|per (month|year|user)", re.I)
SECTION_HINTS = [
    ("testimonials", re.compile(r"testimonial|what (our )?(clients|customers|people) say|reviews", re.I)),
    ("team section", re.compile(r"\b(our|the|meet (the|our)) team\b|^team$", re.I)),
    ("FAQ", re.compile(r"\bfaqs?\b|frequently asked", re.I)),
    ("comments", re.compile(r"\bcomments?\b|leave a (reply|comment)", re.I)),
]

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class LabelOptions:
    labeler: str = "extractive"
    labeler_options: dict[str, Any] = field(default_factory=dict)  # e.g. url/model for openai, model for local
    relabel: bool = False  # ignore labels the labeller stored before (manual labels are always kept)
    gold: Path | None = None  # measure quality against this gold set


# --- what a labeller sees -----------------------------------------------------------------------------------


def outline(document: str) -> tuple[list[str], str]:
    """The page's structure in words (navigation bar, hero section, sign-in form, pricing table, …) and the
    text of its first h1."""
    try:
        root = lxml_html.document_fromstring(document)
    except Exception:
        return [], ""
    body = root.find("body")
    if body is None:
        return [], ""
    h1 = next(body.iter("h1"), None)
    h1_text = " ".join(h1.text_content().split()) if h1 is not None else ""
    found: list[str] = []

    def add(item: str) -> None:
        if item not in found:
            found.append(item)

    if body.find(".//nav") is not None or body.xpath(".//*[@role='navigation']"):
        add("navigation bar")
    if body.find(".//aside") is not None or body.xpath(".//*[@role='complementary']"):
        add("sidebar")
    hero = hero_of(body)
    if hero is not None and hero.tag not in ("body", "main") and len(hero.text_content().split()) < 120:
        add("hero section")
    passwords = body.xpath(".//input[@type='password']")
    text = " ".join(body.text_content().split()).lower()
    if len(passwords) >= 2 or (passwords and re.search(r"sign ?up|register|create (an |your )?account", text)):
        add("sign-up form")
    elif passwords:
        add("sign-in form")
    inputs = body.xpath(".//input[not(@type) or @type!='hidden']")
    if body.xpath(".//input[@type='search']") or any("search" in (i.get("placeholder") or "").lower() for i in inputs):
        add("search bar")
    if not passwords:
        if len(inputs) + len(body.xpath(".//select")) >= 8 and re.search(r"address|card|zip|postcode|billing", text):
            add("checkout form")
        elif body.xpath(".//textarea"):
            add("contact form")
        elif body.xpath(".//form[.//input[@type='email']]"):
            add("newsletter signup")
    headings = [" ".join(h.text_content().split()) for h in body.iter("h1", "h2", "h3", "h4")]
    prices = [
        t
        for t in (" ".join(el.text_content().split()) for el in body.iter("h1", "h2", "h3", "h4", "span", "p", "div"))
        if len(t) < 40 and PRICE.search(t)
    ]
    if len(prices) >= 2 and (PER_PERIOD.search(text) or any(re.search(r"pricing|plans?", h, re.I) for h in headings)):
        add("pricing table")
    elif len(prices) >= 3:
        add("price list")
    if any(len(t.findall(".//tr")) >= 3 for t in body.iter("table")):
        add("data table")
    if body.find(".//canvas") is not None or body.xpath(".//*[contains(@id,'chart')]"):
        add("charts")
    if len(body.findall(".//article")) >= 3 or len(re.findall(r"posted (by|on)|read more", text)) >= 3:
        add("list of posts")
    if len(body.findall(".//img")) >= 6:
        add("image gallery")
    if body.find(".//video") is not None:
        add("video")
    if len(body.findall(".//pre")) >= 2:
        add("code samples")
    for item, pattern in SECTION_HINTS:
        if any(pattern.search(h) for h in headings):
            add(item)
    if body.find(".//footer") is not None or body.xpath(".//*[@role='contentinfo']"):
        add("footer")
    return found, h1_text


def label_inputs(pages: list[dict[str, Any]], page_topic: dict[str, str], keywords: dict[str, list[str]]):
    """A LabelInput per cleaned page (rows of OUT/clean), with its topic and outline."""
    inputs = []
    for page in pages:
        topic = page_topic.get(page["id"], "general")
        structure, h1 = outline(page["html"])
        inputs.append(
            LabelInput(
                id=page["id"],
                url=page["url"],
                title=page["title"] or "",
                description=page["description"] or "",
                headings=list(page["headings"]),
                text=page["text"],
                topic=topic,
                keywords=list(keywords.get(topic, [])),
                outline=structure,
                h1=h1,
            )
        )
    return inputs


# --- the stage ----------------------------------------------------------------------------------------------


def label(
    store: Store, inputs: list[LabelInput], options: LabelOptions, progress: Progress | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Labels for every page: {id: {label, source, fallback?}}, and the section for report.json."""
    labeler: Labeler = make_labeler(options.labeler, **options.labeler_options)
    by_source: dict[str, dict[str, Any]] = {}
    for row in store.labels():
        by_source.setdefault(row.source, {})[row.snapshot_id] = row
    manual = by_source.get(MANUAL, {})
    mine = {} if options.relabel else by_source.get(labeler.name, {})
    result: dict[str, dict[str, Any]] = {}
    todo: list[LabelInput] = []
    for page in inputs:
        if page.id in manual:
            result[page.id] = {"label": manual[page.id].label, "source": MANUAL}
        elif page.id in mine and mine[page.id].version == labeler.version:
            result[page.id] = {"label": mine[page.id].label, "source": labeler.name}
        else:
            todo.append(page)
    reused = len(inputs) - len(todo) - sum(1 for p in inputs if p.id in manual)
    done = 0
    if progress:
        progress(0, len(todo))

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(todo))

    answers = labeler.label(todo, advance) if todo else []
    if len(answers) != len(todo):
        raise RuntimeError(f"the {labeler.name} labeller returned {len(answers)} labels for {len(todo)} pages")
    failed = [(page, answer) for page, answer in zip(todo, answers, strict=True) if isinstance(answer, LabelFailure)]
    fallback = ExtractiveLabeler()
    fallback_labels = fallback.label([page for page, _ in failed])
    rows = []
    for page, answer in zip(todo, answers, strict=True):
        if isinstance(answer, str):
            result[page.id] = {"label": answer, "source": labeler.name}
            rows.append((page.id, labeler.name, answer, labeler.version))
    failures = []
    for (page, failure), answer in zip(failed, fallback_labels, strict=True):
        assert isinstance(answer, str)
        result[page.id] = {"label": answer, "source": fallback.name, "fallback": failure.reason}
        rows.append((page.id, fallback.name, answer, fallback.version))
        failures.append({"id": page.id, "url": page.url, "reason": failure.reason, "detail": failure.detail[:300]})
    store.put_labels(rows)
    result = {page.id: result[page.id] for page in inputs}
    labels = [entry["label"] for entry in result.values()]
    section = {
        "labeler": labeler.name,
        "version": labeler.version,
        "pages": len(inputs),
        "by_source": dict(sorted(Counter(entry["source"] for entry in result.values()).items())),
        "reused": reused,
        "written": len(todo) - len(failed),
        "fallbacks": len(failed),
        "fallback_reasons": dict(sorted(Counter(f["reason"] for f in failures).items())),
        "fallback_pages": failures,
        "boilerplate_rate": boilerplate_rate(labels),
        "duplicate_rate": duplicate_rate(labels),
        "title_boilerplate_rate": boilerplate_rate([p.title for p in inputs]),
        "title_duplicate_rate": duplicate_rate([p.title for p in inputs]),
        "mean_words": round(sum(len(x.split()) for x in labels) / len(labels), 1) if labels else None,
    }
    return result, section


def write_labels(out: Path, labels: dict[str, dict[str, Any]], section: dict[str, Any]) -> None:
    data = {"labeler": section["labeler"], "version": section["version"], "pages": labels}
    (out / LABELS_FILE).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def read_labels(out: Path) -> dict[str, dict[str, Any]]:
    path = out / LABELS_FILE
    if not path.is_file():
        raise UsageError(f"{path} is missing: run `tinyweb label` (or `tinyweb build`) first")
    return json.loads(path.read_text(encoding="utf-8"))["pages"]


# --- manual labels ------------------------------------------------------------------------------------------


def read_label_file(path: Path) -> list[tuple[str, str]]:
    """(key, label) rows from a CSV/TSV with `id` (or `url`) and `label` columns, or JSON: a list of
    {"id", "label"} objects or one {id: label} object."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            return [(str(k), v) for k, v in data.items()]
        if isinstance(data, list) and all(isinstance(row, dict) for row in data):
            rows = []
            for n, row in enumerate(data):
                key = row.get("id") or row.get("url")
                if not key or "label" not in row:
                    raise UsageError(f"{path}: item {n} needs an `id` (or `url`) and a `label`")
                rows.append((str(key), row["label"]))
            return rows
        raise UsageError(f"{path}: expected a list of {{id, label}} objects or an {{id: label}} object")
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" or "\t" in text.split("\n", 1)[0] else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    key_field = "id" if "id" in fields else "url" if "url" in fields else None
    if key_field is None or "label" not in fields:
        raise UsageError(f"{path}: the header must have an `id` (or `url`) column and a `label` column")
    reader.fieldnames = fields
    return [((row[key_field] or "").strip(), row["label"] or "") for row in reader]


def import_labels(store: Store, path: Path) -> dict[str, int]:
    """Import manual labels; an empty label removes the manual label of that page. Unknown pages are an error
    (nothing is imported), so a typo never silently drops a fix."""
    rows = read_label_file(path)
    urls = store.urls()
    by_url = {url: sid for sid, url in urls.items()}
    put, remove, unknown, bad = [], [], [], []
    for n, (key, value) in enumerate(rows, start=2):
        sid = key if key in urls else by_url.get(key)
        if sid is None:
            unknown.append(key or f"(row {n}: empty id)")
            continue
        if not isinstance(value, str):
            bad.append(f"{key}: the label is not text")
            continue
        value = " ".join(value.split())
        if len(value) > MAX_MANUAL_CHARS:
            bad.append(f"{key}: the label is over {MAX_MANUAL_CHARS} characters")
        elif value:
            put.append((sid, MANUAL, value, MANUAL))
        else:
            remove.append(sid)
    if unknown or bad:
        problems = (
            [f"not in the store: {', '.join(unknown[:5])}" + (" …" if len(unknown) > 5 else "")] if unknown else []
        )
        problems += bad[:5]
        raise UsageError(f"{path}: nothing imported; " + "; ".join(problems))
    store.put_labels(put)
    removed = store.delete_labels(MANUAL, remove) if remove else 0
    return {"imported": len(put), "removed": removed}


def export_labels(out: Path, path: Path, pages: list[dict[str, Any]]) -> int:
    """Write the current labels as CSV (id, url, title, label, source) for people to fix and import."""
    labels = read_labels(out)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "url", "title", "label", "source"])
        for page in pages:
            entry = labels.get(page["id"])
            if entry:
                writer.writerow([page["id"], page["url"], page["title"], entry["label"], entry["source"]])
    return len(labels)


# --- quality ------------------------------------------------------------------------------------------------


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
