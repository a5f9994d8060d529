"""Commands that capture pages and serve the store: capture, crawl, export, serve, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tinyweb.capture.crawler import CrawlOptions
from tinyweb.cli import presenters
from tinyweb.cli.common import data_option, handle_errors, open_store, seed_format_option, viewport_option
from tinyweb.cli.options import make, options_of
from tinyweb.snapshot import Viewport


@click.command()
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
@viewport_option
@data_option
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the page to load.")
@seed_format_option
@click.option("--block-external", is_flag=True, help="Abort every request that leaves 127.0.0.1/localhost.")
@handle_errors
def capture(url: str, output: Path | None, viewports: tuple[Viewport, ...], data_dir: Path | None, timeout: float,
            seed_format_text: bool, block_external: bool) -> None:  # fmt: skip
    """Capture one page into the store."""
    from tinyweb.capture.session import capture_one

    seed_format = "text" if seed_format_text else "size"
    with open_store(data_dir) as store:
        snap, snapshot_id, created = capture_one(store, url, viewports, timeout, seed_format, block_external)
    if output:
        output.write_text(snap.model_dump_json(indent=1), encoding="utf-8")
    presenters.print_capture(snap, snapshot_id, created)


@click.command()
@click.argument("urls", nargs=-1)
@click.option("--seeds-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File of seed URLs, one per line (# comments allowed).")  # fmt: skip
@data_option
@options_of(CrawlOptions)
@viewport_option
@seed_format_option
@handle_errors
def crawl(urls: tuple[str, ...], seeds_file: Path | None, data_dir: Path | None, seed_format_text: bool,
          **options: Any) -> None:  # fmt: skip
    """Crawl breadth-first from seed URLs, capturing every page (resumable: run it again to continue)."""
    from tinyweb.capture.session import crawl_seeds

    crawl_options = make(CrawlOptions, options | {"seed_format": "text" if seed_format_text else "size"})
    with open_store(data_dir) as store, presenters.crawl_bar(crawl_options.max_pages) as progress:
        summary, bad = crawl_seeds(
            store, list(urls), seeds_file, crawl_options, progress, presenters.print_skipped_seed
        )
    presenters.print_summary(summary, bad)


@click.command()
@data_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=Path("-"), show_default=True, help="JSON-lines file, or - for standard output.")  # fmt: skip
@handle_errors
def export(data_dir: Path | None, output: Path) -> None:
    """Write every stored snapshot as one JSON record per line."""
    from tinyweb.capture.session import export_snapshots

    with open_store(data_dir) as store, click.open_file(str(output), "w", encoding="utf-8") as stream:
        n = export_snapshots(store, stream)
    presenters.console.print(f"exported {n} snapshots" + ("" if str(output) == "-" else f" to {output}"))


@click.command()
@data_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Build directory.")
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), help="Training run folder.")
@click.option("--port", default=0, help="Port for the example site (default: any free port).")
@click.option("--no-train", is_flag=True, help="Stop after the build: no training, no generation.")
@handle_errors
def demo(data_dir: Path | None, out_dir: Path | None, run_dir: Path | None, port: int, no_train: bool) -> None:
    """The pipeline on the example site that ships with tinyweb: serve it on 127.0.0.1, crawl it, build the
    semantic CSS framework, pages, labels and prompt dataset, verify the pages in Chromium, then train
    SmolLM2 a few steps on the dataset and generate and screenshot a page with it.

    Without --data/--out/--run the demo starts fresh in ./tinyweb-demo-data, ./tinyweb-demo-build and
    ./tinyweb-demo-run every time.
    """
    from tinyweb.demo import run_demo

    run_demo(presenters.DemoPrinter(), data_dir, out_dir, run_dir, port, train=not no_train)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only by default).")
@click.option("--port", default=8765, show_default=True, help="Port to listen on.")
@data_option
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host: other machines could reach it.")
@handle_errors
def serve(host: str, port: int, data_dir: Path | None, allow_remote: bool) -> None:
    """Run the ingest server the browser extension sends snapshots to; prints the URL and pairing token."""
    from tinyweb.store import default_data_dir
    from tinyweb_server import ServerConfig
    from tinyweb_server import serve as run_server

    config = ServerConfig(data_dir=data_dir or default_data_dir(), host=host, port=port, allow_remote=allow_remote)
    run_server(config, lambda url, token: presenters.print_server(url, token, config.data_dir))


COMMANDS = [capture, crawl, export, serve, demo]
