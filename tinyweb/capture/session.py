"""Capturing into the store, as the CLI and the demo do it: one page, a crawl from seeds, and the export.

Whatever fails is recorded in the store with its reason (a page that could not be captured, a seed line that
is no URL), so nothing is lost silently and a later crawl can see it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tinyweb.capture.crawler import (
    CrawlOptions,
    CrawlSummary,
    ProgressHook,
    SeedError,
    crawl,
    read_seeds,
    seed_format_field,
    viewports_field,
)
from tinyweb.errors import TinywebError, UsageError
from tinyweb.snapshot import Snapshot, Viewport
from tinyweb.store import Store


@dataclass
class CaptureOptions:
    timeout_s: float = field(
        default=30.0, metadata={"help": "Seconds to wait for the page to load.", "flag": "--timeout"}
    )
    block_external: bool = field(
        default=False, metadata={"help": "Abort every request that leaves 127.0.0.1/localhost."}
    )
    viewports: tuple[Viewport, ...] = viewports_field()
    seed_format: str = seed_format_field()


def capture_one(store: Store, url: str, options: CaptureOptions) -> tuple[Snapshot, str, bool]:
    """Capture `url` into the store: (snapshot, its id, whether it is new). A failure is recorded, then raised."""
    from tinyweb.capture.browser import Browser, BrowserOptions, capture_url

    viewports = options.viewports

    async def run() -> Snapshot:
        browser_options = BrowserOptions(viewport=viewports[0], block_external=options.block_external)
        async with Browser(browser_options) as browser:
            page = await browser.new_page()
            return await capture_url(
                page,
                url,
                timeout_s=options.timeout_s,
                source="cli",
                viewports=viewports,
                seedFormat=options.seed_format,
            )

    try:
        snap = asyncio.run(run())
    except TinywebError as exc:
        store.record_failure(url, getattr(exc, "reason", "capture_failed"), str(exc), source="cli")
        raise
    snapshot_id, created = store.add(snap)
    return snap, snapshot_id, created


def crawl_seeds(
    store: Store,
    urls: list[str],
    seeds_file: Path | None,
    options: CrawlOptions,
    progress: ProgressHook | None = None,
    skipped: Any = None,
) -> tuple[CrawlSummary, list[SeedError]]:
    """Crawl from `urls` and the lines of `seeds_file`; a bad seed line is recorded (and passed to
    `skipped(file, error)`) and the rest crawled. Raises UsageError when no seed is left."""
    seeds = list(urls)
    bad_lines: list[SeedError] = []
    if seeds_file:
        more, bad_lines = read_seeds(seeds_file)
        seeds += more
    for bad in bad_lines:
        store.record_failure(bad.line, "bad_seed", f"{seeds_file}:{bad.line_no}: {bad.reason}")
        if skipped:
            skipped(seeds_file, bad)
    if not seeds:
        raise UsageError("no valid seed URLs: give URLs or a --seeds-file with http(s) URLs")
    return crawl(store, seeds, options, progress), bad_lines


def export_snapshots(store: Store, stream: TextIO) -> int:
    """Every stored snapshot as one JSON record per line; how many were written."""
    n = 0
    for snap in store.iter_snapshots():
        stream.write(snap.model_dump_json() + "\n")
        n += 1
    return n
