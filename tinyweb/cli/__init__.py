"""The `tinyweb` command, a click layer: each command parses its flags (declared once, on the options dataclass
of what it runs: tinyweb.cli.options), calls one library function, and hands the result to a presenter
(tinyweb.cli.presenters). Heavy libraries are imported inside the commands, so `tinyweb --help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tinyweb.capture.crawler import CrawlOptions
from tinyweb.capture.session import CaptureOptions
from tinyweb.cli import presenters as show
from tinyweb.cli.options import make, options_of
from tinyweb.compress.clean import CleanOptions
from tinyweb.compress.verify import VerifyOptions
from tinyweb.dataset.label import LabelOptions
from tinyweb.dataset.labelfiles import LabelFiles
from tinyweb.dataset.prompts import PromptOptions
from tinyweb.demo import DemoOptions
from tinyweb.errors import TinywebError
from tinyweb.layout import EVALUATION_DIR
from tinyweb.learn.decode import GenerateOptions
from tinyweb.learn.evaluate import EvaluateOptions
from tinyweb.learn.generate import PageFile
from tinyweb.learn.requests import RequestOptions
from tinyweb.learn.train import TrainConfig
from tinyweb.private import private_output, restrict_umask
from tinyweb.store import Store, default_data_dir
from tinyweb_server.config import ServerConfig


class Commands(click.Group):
    """The tinyweb group: a TinywebError from any command is a clean message and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TinywebError as exc:
            sys.exit(show.print_error(exc))
        except KeyboardInterrupt:
            sys.exit(show.print_interrupted())


def open_store(data_dir: Path | None) -> Store:
    return Store(data_dir or default_data_dir())


Dir = click.Path(file_okay=False, path_type=Path)
data_option = click.option(
    "--data", "data_dir", type=Dir, help="Data directory (default: $TINYWEB_DATA or ./tinyweb-data)."
)
out_option = click.option(
    "--out", "out_dir", type=Dir, default="tinyweb-build", show_default=True, help="Build directory."
)
run_option = click.option("--run", "run_dir", type=Dir, required=True, help="runs/NAME")
jobs = options_of(CleanOptions, skip=("max_tokens",))


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyweb")
def main() -> None:
    """tinyweb: capture web pages, compress them into a semantic CSS framework, train a tiny web-design model."""
    restrict_umask()  # what the commands write holds captured pages: 0600 files, 0700 folders (tinyweb.private)


# --- capture ----------------------------------------------------------------------------------------------------


@main.command()
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
@data_option
@options_of(CaptureOptions)
def capture(url: str, output: Path | None, data_dir: Path | None, **options: Any) -> None:
    """Capture one page into the store."""
    from tinyweb.capture.session import capture_one

    with open_store(data_dir) as store:
        snap, snapshot_id, created = capture_one(store, url, make(CaptureOptions, options))
    if output:
        with private_output(str(output)) as file:
            file.write(snap.model_dump_json(indent=1))
    show.print_capture(snap, snapshot_id, created)


@main.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--seeds-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Seed URLs, one a line."
)
@data_option
@options_of(CrawlOptions)
def crawl(urls: tuple[str, ...], seeds_file: Path | None, data_dir: Path | None, **options: Any) -> None:
    """Crawl breadth-first from seed URLs, capturing every page (resumable: run it again to continue)."""
    from tinyweb.capture.session import crawl_seeds

    crawl_options = make(CrawlOptions, options)
    with open_store(data_dir) as store, show.crawl_bar(crawl_options.max_pages) as progress:
        summary, bad = crawl_seeds(store, list(urls), seeds_file, crawl_options, progress, show.print_skipped_seed)
    show.print_summary(summary, bad)


@main.command()
@data_option
@click.option("-o", "--output", default="-", show_default=True, help="JSON-lines file, or - for standard output.")
def export(data_dir: Path | None, output: str) -> None:
    """Write every stored snapshot as one JSON record per line."""
    from tinyweb.capture.session import export_snapshots

    with open_store(data_dir) as store, private_output(output) as stream:
        show.print_exported(export_snapshots(store, stream), output)


@main.command()
@options_of(ServerConfig)
@data_option
def serve(data_dir: Path | None, **options: Any) -> None:
    """Run the ingest server the browser extension sends snapshots to; prints the URL and pairing token."""
    from tinyweb.store import default_data_dir
    from tinyweb_server import serve as run_server

    config = make(ServerConfig, options | {"data_dir": data_dir or default_data_dir()})
    run_server(config, lambda url, token: show.print_server(url, token, config.data_dir))


@main.command()
@data_option
@options_of(DemoOptions)
def demo(data_dir: Path | None, **options: Any) -> None:
    """The pipeline on the example site that ships with tinyweb: serve it on loopback, crawl, build, verify, train
    SmolLM2 a few steps, generate a page. Without --data/--out/--run it starts fresh in ./tinyweb-demo-*."""
    from tinyweb.demo import run_demo

    run_demo(show.DemoPrinter(), data_dir, make(DemoOptions, options))


# --- build: clean → topics → framework → convert → label → prompts, and verify ----------------------------------


@main.command()
@data_option
@out_option
@options_of(PromptOptions)
@jobs
@options_of(LabelOptions)
def build(data_dir: Path | None, out_dir: Path, **options: Any) -> None:
    """Run clean, topics, framework, convert, label and prompts on the stored snapshots."""
    from tinyweb.pipeline import BuildOptions
    from tinyweb.pipeline import build as run_build

    with open_store(data_dir) as store, show.LabelBar() as bar:
        summary = run_build(store, out_dir, make(BuildOptions, options), show.stage, bar)
    show.print_build(summary, out_dir, footer=True)


@main.command()
@data_option
@out_option
@options_of(CleanOptions)
def clean(data_dir: Path | None, out_dir: Path, **options: Any) -> None:
    """Stage 1: drop unusable and duplicate pages, normalise every style."""
    from tinyweb.pipeline import run_clean

    with open_store(data_dir) as store:
        show.print_build({"clean": run_clean(store, out_dir, make(CleanOptions, options))}, out_dir)


@main.command()
@out_option
def topics(out_dir: Path) -> None:
    """Stage 2: embed and cluster the cleaned pages into named topics."""
    from tinyweb.pipeline import run_topics

    show.print_build({"topics": run_topics(out_dir)}, out_dir)


@main.command()
@out_option
@jobs
def framework(out_dir: Path, num_proc: int | None) -> None:
    """Stage 3: factor the corpus's styles into the semantic CSS framework."""
    from tinyweb.pipeline import run_framework

    show.print_build({"framework": run_framework(out_dir, num_proc)}, out_dir)


@main.command()
@out_option
@jobs
def convert(out_dir: Path, num_proc: int | None) -> None:
    """Stage 4: rewrite every cleaned page to use the framework; prove it lossless against the CSS written."""
    from tinyweb.pipeline import run_convert

    show.print_build({"convert": run_convert(out_dir, num_proc)}, out_dir)


@main.command(name="label")
@data_option
@out_option
@options_of(LabelOptions, LabelFiles)
def label_command(data_dir: Path | None, out_dir: Path, **options: Any) -> None:
    """Stage 5: write the request a person would type for each page (kept in the store)."""
    from tinyweb.pipeline import run_label

    with open_store(data_dir) as store, show.LabelBar() as bar:
        section = run_label(store, out_dir, make(LabelOptions, options), bar, make(LabelFiles, options))
    show.print_build({"label": section}, out_dir)


@main.command()
@out_option
@options_of(PromptOptions)
def prompts(out_dir: Path, **options: Any) -> None:
    """Stage 6: write the prompt dataset (final-dataset.json, dataset/, dataset-stats.png)."""
    from tinyweb.pipeline import run_prompts

    show.print_build({"prompts": run_prompts(out_dir, make(PromptOptions, options))}, out_dir, footer=True)


@main.command()
@out_option
@options_of(VerifyOptions)
def verify(out_dir: Path, **options: Any) -> None:
    """Render every semantic page beside its snapshot and compare pixels and computed styles."""
    from tinyweb.pipeline import run_verify

    with show.counted_bar("verify", described=True) as advance:
        show.print_verify(run_verify(out_dir, make(VerifyOptions, options), advance), out_dir)


# --- learn: model, train, generate, evaluate ---------------------------------------------------------------------


@main.group()
def model() -> None:
    """Base models and trained runs as plain model folders."""


@model.command("prepare")
@click.option("--base-model", default="smollm2-135m", show_default=True, help="A known base model name.")
def model_prepare(base_model: str) -> None:
    """Convert a base model once into a safetensors folder in the cache (SmolLM2: from the GGUF in its wheel)."""
    from tinyweb.learn.runs import prepare_base_model

    show.print_prepared(base_model, lambda: prepare_base_model(base_model))


@model.command("export")
@run_option
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="New folder.")
def model_export(run_dir: Path, output: Path) -> None:
    """Merge a run's LoRA into a standalone model folder that plain transformers loads."""
    from tinyweb.learn.runs import export_model

    show.out.print(f"merged model: {export_model(run_dir, output)}")


@main.command(name="train")
@options_of(TrainConfig)
@click.option("--resume", is_flag=True, help="Continue the run in --output from its latest checkpoint.")
def train_command(resume: bool, **options: Any) -> None:
    """LoRA-fine-tune a small causal LM on the prompt dataset (loss on the page only)."""
    from tinyweb.learn.train import train

    show.print_train(train(make(TrainConfig, options), resume=resume), Path(options["output"]))


@main.command(name="generate")
@click.argument("prompt")
@click.option("--run", "run_dir", type=Dir, help="runs/NAME (default: the run shipped with tinyweb).")
@options_of(PageFile, GenerateOptions)
def generate_command(prompt: str, run_dir: Path | None, **options: Any) -> None:
    """Write the page a trained run makes for PROMPT ("a landing page for a bakery"), with the framework."""
    from tinyweb.learn.generate import generate

    show.console.print(f"[bold]generate[/] with {run_dir or 'the run shipped with tinyweb'} …")
    page, decoding = make(PageFile, options), make(GenerateOptions, options)
    show.print_generated(
        generate(run_dir, prompt, page.output, page.screenshot, decoding, force=page.force, progress=show.composing)
    )


@main.command(name="evaluate")
@run_option
@options_of(RequestOptions)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), help="Default: RUN/evaluation.")
@options_of(EvaluateOptions, GenerateOptions)
def evaluate_command(run_dir: Path, output: Path | None, **options: Any) -> None:
    """The run, its base model and the nearest real page on the same requests: a report and a contact sheet."""
    from tinyweb.learn.evaluate import evaluate_run
    from tinyweb.learn.requests import requests_for

    prompts, target = requests_for(run_dir, make(RequestOptions, options)), output or run_dir / EVALUATION_DIR
    settings = make(GenerateOptions, options), make(EvaluateOptions, options)
    with show.status("evaluate") as tell:
        report = evaluate_run(run_dir, prompts, target, *settings, tell)
    show.print_evaluation(report, target)
