"""`tinyweb demo`: the whole pipeline on the example site that ships in this package."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from tinyweb.staticserver import StaticServer
from tinyweb.store import Store

SITE = Path(__file__).parent / "site"
DEFAULT_DATA = Path("tinyweb-demo-data")
DEFAULT_OUT = Path("tinyweb-demo-build")


def run_demo(data_dir: Path, out_dir: Path, port: int, out: Console, console: Console) -> None:
    """Serve the example site on loopback, crawl every page of it, build the semantic framework, pages, labels
    and prompt dataset, and verify the pages against their snapshots (the site is still served, so images and
    fonts load)."""
    from tinyweb.build.pipeline import BuildOptions, build
    from tinyweb.build.verify import verify
    from tinyweb.capture.crawler import CrawlOptions
    from tinyweb.cli import print_build, print_verify, run_crawl

    with StaticServer(SITE, port=port) as server, Store(data_dir) as store:
        console.print(f"[bold]capture[/]: serving the example site at {server.url}, data in {data_dir}/")
        options = CrawlOptions(
            max_pages=40, max_depth=3, delay_s=0.0, concurrency=2, block_external=True, seed_format="text"
        )
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
        summary = build(store, out_dir, BuildOptions(), progress=lambda stage: console.print(f"[bold]{stage}[/]"))
        print_build(summary, out_dir)
        console.print("[bold]verify[/]: every semantic page against its snapshot, in Chromium")
        print_verify(verify(out_dir), out_dir)
        out.print(
            f"framework: {out_dir / 'semantic-css-framework.css'}, pages: {out_dir / 'pages'}/, "
            f"labels: {out_dir / 'labels.json'}, dataset: {out_dir / 'final-dataset.json'} and "
            f"{out_dir / 'dataset'}/ ({out_dir / 'dataset-stats.png'}), report: {out_dir / 'report.json'}"
        )
