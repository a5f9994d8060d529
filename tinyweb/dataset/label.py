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

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyweb.dataset.labelers import LABELERS, Labeler, LabelFailure, LabelInput, make_labeler
from tinyweb.dataset.labelers.extractive import ExtractiveLabeler
from tinyweb.dataset.labelfiles import MANUAL
from tinyweb.dataset.quality import boilerplate_rate, duplicate_rate
from tinyweb.errors import UsageError
from tinyweb.store import Store

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class LabelOptions:
    labeler: str = field(
        default="extractive",
        metadata={
            "help": "Who writes each page's request: rules (extractive), SmolLM2 offline (local), or an "
            "OpenAI-compatible server (openai).",
            "choices": LABELERS,
        },
    )
    labeler_url: str | None = field(
        default=None, metadata={"help": "openai: the server, e.g. http://127.0.0.1:8080 (or …/v1)."}
    )
    labeler_model: str | None = field(
        default=None, metadata={"help": "openai: the model name; local: a model folder (default SmolLM2)."}
    )
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "openai: variable holding the key."})
    labeler_timeout: float = field(default=60.0, metadata={"help": "openai: seconds per request."})
    labeler_concurrency: int = field(default=4, metadata={"help": "openai: requests at once."})
    labeler_batch_size: int = field(default=8, metadata={"help": "local: pages per batch."})
    relabel: bool = field(
        default=False, metadata={"help": "Write new labels even where the labeller stored some (manual ones stay)."}
    )
    gold: Path | None = field(
        default=None,
        metadata={
            "help": "Measure label quality against this gold set (TSV/CSV: path|url|id, request).",
            "exists": True,
        },
    )

    # Options of the labeller beyond the flags (retries and backoff of the openai labeller, in tests).
    labeler_extra: dict[str, Any] = field(default_factory=dict, metadata={"cli": False})

    def __post_init__(self) -> None:
        if self.labeler == "openai" and not self.labeler_url:
            raise UsageError("--labeler openai needs --labeler-url (an OpenAI-compatible server)")

    def labeler_options(self) -> dict[str, Any]:
        """The chosen labeller's own options (make_labeler's keywords)."""
        if self.labeler == "openai":
            return self.labeler_extra | {
                "url": self.labeler_url,
                "model": self.labeler_model or "default",
                "api_key_env": self.api_key_env,
                "timeout": self.labeler_timeout,
                "concurrency": self.labeler_concurrency,
            }
        if self.labeler == "local":
            return self.labeler_extra | {"model": self.labeler_model, "batch_size": self.labeler_batch_size}
        return dict(self.labeler_extra)


def label(
    store: Store, inputs: list[LabelInput], options: LabelOptions, progress: Progress | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Labels for every page: {id: {label, source, fallback?}}, and the section for report.json."""
    labeler: Labeler = make_labeler(options.labeler, **options.labeler_options())
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
