"""Run a function over many records on every core, through `datasets.map` over Arrow shards.

The same code path spreads a larger corpus over more processes (or, with `datasets` on a cluster, more
machines); records travel as JSON strings so any stage can use it with plain records.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

MIN_ITEMS_PER_PROCESS = 8  # below this, starting a process costs more than it saves
BATCH_SIZE = 4


def default_num_proc() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parallel_map(fn: Callable[[str], str], items: list[str], num_proc: int | None, desc: str) -> list[str]:
    """[fn(item) for item in items], in order, spread over up to `num_proc` processes (None: every core)."""
    if not items:
        return []
    wanted = default_num_proc() if num_proc is None else max(1, num_proc)
    procs = max(1, min(wanted, len(items) // MIN_ITEMS_PER_PROCESS))
    if procs == 1:
        return [fn(item) for item in items]
    from datasets import Dataset

    def apply(batch: dict[str, list[str]]) -> dict[str, list[str]]:
        return {"result": [fn(item) for item in batch["item"]]}

    shards = Dataset.from_dict({"item": items})
    mapped = shards.map(apply, batched=True, batch_size=BATCH_SIZE, num_proc=procs, remove_columns=["item"], desc=desc)
    return list(mapped["result"])


@contextlib.contextmanager
def quiet_datasets() -> Iterator[None]:
    """Hide `datasets`' own progress bars for quick writes (saving a few shards is not long work)."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
