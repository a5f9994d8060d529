"""`tinyweb demo`: the whole pipeline on the example site that ships in this package."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from tinyweb.staticserver import StaticServer
from tinyweb.store import Store

SITE = Path(__file__).parent / "site"
DEFAULT_DATA = Path("tinyweb-demo-data")


def run_demo(data_dir: Path, port: int, out: Console, console: Console) -> None:
    """Capture stage: serve the example site on loopback and crawl every page of it."""
    from tinyweb.capture.crawler import CrawlOptions
    from tinyweb.cli import run_crawl

    with StaticServer(SITE, port=port) as server, Store(data_dir) as store:
        console.print(f"serving the example site at {server.url}, data in {data_dir}/")
        options = CrawlOptions(max_pages=40, max_depth=3, delay_s=0.0, concurrency=2, block_external=True)
        summary = run_crawl(store, [server.url], None, options)
        table = Table(title="captured pages (bytes)", show_header=True)
        table.add_column("id", no_wrap=True)
        table.add_column("title", no_wrap=True, max_width=30, overflow="ellipsis")
        for column in ("elements", "page", "snapshot", "prototype", "in page"):
            table.add_column(column, justify="right", no_wrap=True)
        for snapshot_id in summary.snapshot_ids:
            snap = store.get(snapshot_id)
            s = snap.stats
            table.add_row(
                snapshot_id[:8],
                snap.title,
                str(s.element_count),
                f"{s.raw_html_bytes:,}",
                f"{len(snap.html.encode()):,}",
                f"{s.seed_format_bytes or 0:,}",
                f"{s.capture_ms:.0f} ms",
            )
        out.print(table)
        out.print(f"{store.count()} snapshots in {store.path}")
