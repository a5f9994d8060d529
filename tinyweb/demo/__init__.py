"""`tinyweb demo`: the whole pipeline on the example site that ships in this package.

The demo runs the library's stages and tells a `DemoReport` what each produced; the CLI's presenters print
it (tinyweb.cli.presenters.DemoPrinter). Default folders are made fresh on every run.
"""

from __future__ import annotations

import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tinyweb.capture.crawler import CrawlOptions, ProgressHook
from tinyweb.capture.session import crawl_seeds
from tinyweb.staticserver import StaticServer
from tinyweb.store import Store

SITE = Path(__file__).parent / "site"
DEFAULT_DATA = Path("tinyweb-demo-data")
DEFAULT_OUT = Path("tinyweb-demo-build")
DEFAULT_RUN = Path("tinyweb-demo-run")
DEMO_STEPS = 3  # a few optimizer steps: the demo shows the chain working, not a trained model
DEMO_PROMPT = "A menu page for a family bakery, with a price list and sections on breads and cakes"
DEMO_SECTION_TOKENS = 96  # per composed section: three steps teach no page, so the demo shows the chain, quickly
SHIPPED_PROMPT = "a landing page for a coffee shop"  # what the shipped run writes last, as `tinyweb generate` would
CRAWL = CrawlOptions(max_pages=40, max_depth=3, delay_s=0.0, concurrency=2, block_external=True, seed_format="text")


@dataclass
class DemoOptions:
    out_dir: Path | None = field(default=None, metadata={"help": "Build directory.", "flag": "--out", "dir": True})
    run_dir: Path | None = field(default=None, metadata={"help": "Training run folder.", "flag": "--run", "dir": True})
    port: int = field(default=0, metadata={"help": "Port for the example site (default: any free port)."})
    train: bool = field(
        default=True,
        metadata={
            "help": "Train and generate after the build (--no-train: stop after it).",
            "flag": "--train/--no-train",
        },
    )


class DemoReport(Protocol):
    """What the demo tells whoever shows it, stage by stage."""

    def stage(self, text: str) -> None: ...
    def crawl_progress(self, total: int) -> AbstractContextManager[ProgressHook]: ...
    def crawled(self, summary: Any, snapshots: list[Any], store_path: Path) -> None: ...
    def built(self, summary: dict[str, Any], out_dir: Path) -> None: ...
    def verified(self, section: dict[str, Any], out_dir: Path) -> None: ...
    def trained(self, summary: dict[str, Any], run_dir: Path) -> None: ...
    def composing(self, what: str) -> None: ...
    def generated(self, report: dict[str, Any]) -> None: ...
    def finished(self, out_dir: Path) -> None: ...


def run_demo(show: DemoReport, data_dir: Path | None = None, options: DemoOptions | None = None) -> None:
    """Serve the example site on loopback, crawl every page of it, build the semantic framework, pages, labels
    and prompt dataset, and verify the pages against their snapshots (the site is still served, so images and
    fonts load); then train SmolLM2 a few steps on the dataset and generate a page with it.

    A folder left as None is the default one, emptied first: the demo starts fresh every time."""
    from tinyweb.pipeline import BuildOptions, build, run_verify

    options = options or DemoOptions()
    data_dir, out_dir, run_dir = (
        _fresh(given, default)
        for given, default in ((data_dir, DEFAULT_DATA), (options.out_dir, DEFAULT_OUT), (options.run_dir, DEFAULT_RUN))
    )
    with StaticServer(SITE, port=options.port) as server, Store(data_dir) as store:
        show.stage(f"[bold]capture[/]: serving the example site at {server.url}, data in {data_dir}/")
        with show.crawl_progress(CRAWL.max_pages) as progress:
            summary, _ = crawl_seeds(store, [server.url], None, CRAWL, progress)
        show.crawled(summary, [store.get(sid) for sid in summary.snapshot_ids], store.path)
        show.built(build(store, out_dir, BuildOptions(), progress=lambda s: show.stage(f"[bold]{s}[/]")), out_dir)
        show.stage("[bold]verify[/]: every semantic page against its snapshot, in Chromium")
        show.verified(run_verify(out_dir), out_dir)
        if options.train:
            train_and_generate(show, out_dir, run_dir)
        show.finished(out_dir)


def _fresh(given: Path | None, default: Path) -> Path:
    if given is not None:
        return given
    shutil.rmtree(default, ignore_errors=True)
    return default


def train_and_generate(show: DemoReport, out_dir: Path, run_dir: Path) -> None:
    """LoRA-train SmolLM2-135M a few steps on the demo's dataset, then generate and screenshot one page."""
    from tinyweb.learn.decode import GenerateOptions
    from tinyweb.learn.generate import generate
    from tinyweb.learn.train import TrainConfig, train

    show.stage(f"[bold]train[/]: SmolLM2-135M + LoRA, {DEMO_STEPS} steps on {out_dir / 'dataset'} into {run_dir}/")
    config = TrainConfig(
        dataset=str(out_dir / "dataset"), output=str(run_dir), max_steps=DEMO_STEPS, grad_accum=1, eval_steps=DEMO_STEPS
    )
    show.trained(train(config), run_dir)
    show.stage(
        f"[bold]generate[/]: {DEMO_PROMPT!r} (a plan, then each section in {DEMO_SECTION_TOKENS} tokens at most)"
    )
    page, shot = run_dir / "demo-page.html", run_dir / "demo-page.png"
    options = GenerateOptions(section_tokens=DEMO_SECTION_TOKENS)
    show.generated(generate(run_dir, DEMO_PROMPT, page, shot, options, force=True, progress=show.composing))
    generate_with_shipped_run(show, out_dir)


def generate_with_shipped_run(show: DemoReport, out_dir: Path) -> None:
    """The run that ships with tinyweb (trained by `python -m bench.train --acceptance`) writes and screenshots
    a page, as `tinyweb generate REQUEST` does without --run."""
    from tinyweb.errors import UsageError
    from tinyweb.learn.generate import generate
    from tinyweb.learn.runs import default_run

    try:
        shipped = default_run()
    except UsageError as error:
        show.stage(f"[bold]generate[/] with the shipped run: skipped, {error}")
        return
    show.stage(f"[bold]generate[/]: {SHIPPED_PROMPT!r} with the shipped run ({shipped}), as `tinyweb generate` does")
    page = out_dir / "shipped-run" / "landing-page-coffee-shop.html"
    page.parent.mkdir(exist_ok=True)
    report = generate(None, SHIPPED_PROMPT, page, page.with_suffix(".png"), force=True, progress=show.composing)
    show.generated(report)
