"""The requests an evaluation tries: from a file written by hand, or the labels of a dataset's validation split."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tinyweb.errors import UsageError


def read_prompts(file: Path, part: str | None = None) -> list[str]:
    """Requests from a file: a JSON list of strings, one request per line (blank lines skipped), or a TSV with a
    `request` column (and a `split` column: `part` keeps the rows of one, such as dev or test)."""
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"no prompts file at {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".tsv":
        return _tsv_requests(path, text, part)
    if part is not None:
        raise UsageError(f"--part needs a TSV file with a split column, not {path.name}")
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


def _tsv_requests(path: Path, text: str, part: str | None) -> list[str]:
    import csv

    rows = list(csv.DictReader(text.splitlines(), delimiter="\t"))
    if not rows or "request" not in rows[0]:
        raise UsageError(f"{path} needs a header row with a `request` column")
    if part is not None:
        if "split" not in rows[0]:
            raise UsageError(f"{path} has no `split` column to take --part {part} from")
        rows = [r for r in rows if r["split"] == part]
    requests = [" ".join((r["request"] or "").split()) for r in rows]
    requests = [r for r in requests if r]
    if not requests:
        raise UsageError(f"{path} holds no request" + (f" in its {part} part" if part else ""))
    return requests


def validation_prompts(dataset_dir: Path, n: int) -> list[str]:
    """The requests of the first `n` pages of the validation split of a saved dataset (OUT/dataset of `tinyweb
    prompts`): each page's label once, not its section rows' labels (a dataset with a `kind` column)."""
    from datasets import load_from_disk

    from tinyweb.parallel import quiet_datasets

    folder = Path(dataset_dir)
    if not (folder / "dataset_dict.json").is_file():
        raise UsageError(f"{folder} is not a saved dataset: pass OUT/dataset from `tinyweb prompts`")
    with quiet_datasets():
        data = load_from_disk(str(folder))
    if "validation" not in data or len(data["validation"]) == 0:
        raise UsageError(f"{folder} has no validation pages: build it with --validation-share above 0")
    rows = data["validation"]
    if "kind" not in rows.column_names:
        return list(rows["label"][:n])
    labels: dict[str, str] = {}
    for row in rows.select_columns(["page_id", "kind", "label"]):
        if row["kind"] in ("page", "plan"):  # a page too long for its page row still has its plan
            labels.setdefault(row["page_id"], row["label"])
    return list(labels.values())[:n]


@dataclass
class RequestOptions:
    """Where an evaluation's requests come from."""

    prompts: Path | None = field(
        default=None, metadata={"help": "Requests to try: one per line, or a JSON list.", "exists": True}
    )
    split: str | None = field(
        default=None,
        metadata={"help": "Use the labels of the dataset's validation split.", "choices": ("validation",)},
    )
    dataset: Path | None = field(default=None, metadata={"help": "With --split (default: the run's).", "dir": True})
    part: str | None = field(
        default=None, metadata={"help": "With a TSV --prompts file: only the rows of this split (dev, test)."}
    )
    limit: int = field(default=40, metadata={"help": "At most this many prompts."})


def requests_for(run_folder: Path, options: RequestOptions) -> list[str]:
    """The requests of `options.prompts`, or of the validation split of `options.dataset` (default: the run's
    dataset); at most `options.limit`."""
    from tinyweb.learn.runs import read_run_config

    if (options.prompts is None) == (options.split is None):
        raise UsageError("give either --prompts FILE or --split validation")
    if options.prompts is not None:
        return read_prompts(options.prompts, options.part)[: options.limit]
    dataset = options.dataset or Path(read_run_config(run_folder)["config"]["dataset"])
    return validation_prompts(dataset, options.limit)
