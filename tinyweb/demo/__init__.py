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
DEFAULT_RUN = Path("tinyweb-demo-run")
DEMO_STEPS = 3  # a few optimizer steps: the demo shows the chain working, not a trained model
DEMO_PROMPT = "A menu page for a family bakery, with a price list and sections on breads and cakes"
DEMO_NEW_TOKENS = 384


def run_demo(
    data_dir: Path, out_dir: Path, run_dir: Path, port: int, out: Console, console: Console, train: bool = True
) -> None:
    """Serve the example site on loopback, crawl every page of it, build the semantic framework, pages, labels
    and prompt dataset, and verify the pages against their snapshots (the site is still served, so images and
    fonts load); then train SmolLM2 a few steps on the dataset and generate a page with it."""
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
        if train:
            train_and_generate(out_dir, run_dir, out, console)
        out.print(
            f"framework: {out_dir / 'semantic-css-framework.css'}, pages: {out_dir / 'pages'}/, "
            f"labels: {out_dir / 'labels.json'}, dataset: {out_dir / 'final-dataset.json'} and "
            f"{out_dir / 'dataset'}/ ({out_dir / 'dataset-stats.png'}), report: {out_dir / 'report.json'}"
        )


def train_and_generate(out_dir: Path, run_dir: Path, out: Console, console: Console) -> None:
    """LoRA-train SmolLM2-135M a few steps on the demo's dataset, then generate and screenshot one page."""
    from tinyweb.cli import print_train
    from tinyweb.learn.generate import GenerateOptions, generate
    from tinyweb.learn.train import TrainConfig, train

    console.print(f"[bold]train[/]: SmolLM2-135M + LoRA, {DEMO_STEPS} steps on {out_dir / 'dataset'} into {run_dir}/")
    config = TrainConfig(
        dataset=str(out_dir / "dataset"), output=str(run_dir), max_steps=DEMO_STEPS, grad_accum=1, eval_steps=DEMO_STEPS
    )
    print_train(train(config), run_dir)
    console.print(f"[bold]generate[/]: {DEMO_PROMPT!r} ({DEMO_NEW_TOKENS} new tokens at most)")
    page, shot = run_dir / "demo-page.html", run_dir / "demo-page.png"
    report = generate(run_dir, DEMO_PROMPT, page, shot, GenerateOptions(max_new_tokens=DEMO_NEW_TOKENS))
    state = "a complete document" if report["complete"] else "not closed yet (a few steps are not a trained model)"
    out.print(
        f"generated {report['output']}: {state}, {report['new_tokens']} tokens in {report['seconds']:.0f} s, "
        f"{len(report['unknown_classes'])} class names the framework lacks; screenshot: {report['screenshot']}"
    )
