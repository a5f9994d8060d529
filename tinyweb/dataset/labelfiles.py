"""Label files: OUT/labels.json (the label stage's output, read by prompts), and the CSV/TSV/JSON files of
manual labels people import to fix labels by hand and export to review them."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.errors import UsageError
from tinyweb.layout import LABELS_FILE
from tinyweb.store import Store

MANUAL = "manual"
MAX_MANUAL_CHARS = 1000


@dataclass
class LabelFiles:
    """Manual label files `tinyweb label` reads before labelling and writes after."""

    import_file: Path | None = field(
        default=None,
        metadata={
            "help": "First import manual labels (CSV/TSV with id or url, and label; or JSON). They override any "
            "labeller; an empty label removes a manual one.",
            "flag": "--import",
            "exists": True,
        },
    )
    export_file: Path | None = field(
        default=None,
        metadata={
            "help": "Then write every page's label to this CSV, to fix by hand and --import.",
            "flag": "--export",
        },
    )


def write_labels(out: Path, labels: dict[str, dict[str, Any]], section: dict[str, Any]) -> None:
    data = {"labeler": section["labeler"], "version": section["version"], "pages": labels}
    (out / LABELS_FILE).write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def read_labels(out: Path) -> dict[str, dict[str, Any]]:
    path = out / LABELS_FILE
    if not path.is_file():
        raise UsageError(f"{path} is missing: run `tinyweb label` (or `tinyweb build`) first")
    return json.loads(path.read_text(encoding="utf-8"))["pages"]


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


def export_labels(labels: dict[str, dict[str, Any]], path: Path, pages: list[dict[str, Any]]) -> int:
    """Write the labels as CSV (id, url, title, label, source) for people to fix and import; how many."""
    written = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "url", "title", "label", "source"])
        for page in pages:
            entry = labels.get(page["id"])
            if entry:
                writer.writerow([page["id"], page["url"], page["title"], entry["label"], entry["source"]])
                written += 1
    return written
