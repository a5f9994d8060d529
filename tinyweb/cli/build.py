"""The build commands: `build` (every stage in order) and each stage on its own, then `verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tinyweb.cli import presenters
from tinyweb.cli.common import data_option, handle_errors, open_store, out_option
from tinyweb.cli.options import make, options_of
from tinyweb.compress.clean import CleanOptions
from tinyweb.compress.verify import VerifyOptions
from tinyweb.dataset.label import LabelOptions
from tinyweb.dataset.prompts import PromptOptions

jobs_option = options_of(CleanOptions, skip=("max_tokens",))


@click.command()
@data_option
@out_option
@options_of(PromptOptions)
@jobs_option
@options_of(LabelOptions)
@handle_errors
def build(data_dir: Path | None, out_dir: Path, **options: Any) -> None:
    """Run clean, topics, framework, convert, label and prompts on the stored snapshots."""
    from tinyweb.pipeline import BuildOptions
    from tinyweb.pipeline import build as run_build

    build_options = make(BuildOptions, options)
    with open_store(data_dir) as store, presenters.LabelBar() as bar:
        summary = run_build(store, out_dir, build_options, progress=presenters.stage, label_progress=bar)
    presenters.print_build(summary, out_dir, footer=True)


@click.command()
@data_option
@out_option
@options_of(CleanOptions)
@handle_errors
def clean(data_dir: Path | None, out_dir: Path, **options: Any) -> None:
    """Stage 1: drop unusable and duplicate pages, normalise every style."""
    from tinyweb.pipeline import run_clean

    with open_store(data_dir) as store:
        presenters.print_build({"clean": run_clean(store, out_dir, make(CleanOptions, options))}, out_dir)


@click.command()
@out_option
@handle_errors
def topics(out_dir: Path) -> None:
    """Stage 2: embed and cluster the cleaned pages into named topics."""
    from tinyweb.pipeline import run_topics

    presenters.print_build({"topics": run_topics(out_dir)}, out_dir)


@click.command()
@out_option
@jobs_option
@handle_errors
def framework(out_dir: Path, num_proc: int | None) -> None:
    """Stage 3: factor the corpus's styles into the semantic CSS framework."""
    from tinyweb.pipeline import run_framework

    presenters.print_build({"framework": run_framework(out_dir, num_proc)}, out_dir)


@click.command()
@out_option
@jobs_option
@handle_errors
def convert(out_dir: Path, num_proc: int | None) -> None:
    """Stage 4: rewrite every cleaned page to use the framework, and prove it lossless against the CSS written."""
    from tinyweb.pipeline import run_convert

    presenters.print_build({"convert": run_convert(out_dir, num_proc)}, out_dir)


@click.command(name="label")
@data_option
@out_option
@options_of(LabelOptions)
@click.option("--import", "import_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="First import manual labels (CSV/TSV with id or url, and label; or JSON). They override any "
              "labeller; an empty label removes a manual one.")  # fmt: skip
@click.option("--export", "export_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Then write every page's label to this CSV, to fix by hand and --import.")  # fmt: skip
@handle_errors
def label_command(data_dir: Path | None, out_dir: Path, import_file: Path | None, export_file: Path | None,
                  **options: Any) -> None:  # fmt: skip
    """Stage 5: write the request a person would type for each page (kept in the store)."""
    from tinyweb.pipeline import run_label

    with open_store(data_dir) as store, presenters.LabelBar() as bar:
        section = run_label(store, out_dir, make(LabelOptions, options), bar, import_file, export_file)
    presenters.print_build({"label": section}, out_dir)


@click.command()
@out_option
@options_of(PromptOptions)
@handle_errors
def prompts(out_dir: Path, **options: Any) -> None:
    """Stage 6: write the prompt dataset (final-dataset.json, dataset/, dataset-stats.png)."""
    from tinyweb.pipeline import run_prompts

    presenters.print_build({"prompts": run_prompts(out_dir, make(PromptOptions, options))}, out_dir, footer=True)


@click.command()
@click.argument("out_arg", metavar="[OUT]", required=False, type=click.Path(file_okay=False, path_type=Path))
@out_option
@options_of(VerifyOptions)
@handle_errors
def verify(out_arg: Path | None, out_dir: Path, **options: Any) -> None:
    """Render every semantic page beside its snapshot and compare pixels and computed styles (--out, or OUT)."""
    from tinyweb.pipeline import run_verify

    out_dir = out_arg or out_dir
    with presenters.counted_bar("verify", described=True) as advance:
        section = run_verify(out_dir, make(VerifyOptions, options), advance)
    presenters.print_verify(section, out_dir)


COMMANDS = [build, clean, topics, framework, convert, label_command, prompts, verify]
