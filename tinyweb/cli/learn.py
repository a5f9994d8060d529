"""The model commands: model prepare/export, train, generate, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tinyweb.cli import presenters
from tinyweb.cli.common import handle_errors, run_option
from tinyweb.cli.options import make, options_of
from tinyweb.learn.decode import GenerateOptions
from tinyweb.learn.train import TrainConfig


@click.group()
def model() -> None:
    """Base models and trained runs as plain model folders."""


@model.command("prepare")
@click.option("--base-model", default="smollm2-135m", show_default=True, help="A known base model name.")
@handle_errors
def model_prepare(base_model: str) -> None:
    """Convert a base model once into a safetensors folder in the cache (SmolLM2: from the GGUF in its wheel)."""
    from tinyweb.learn.runs import prepare_base_model

    presenters.console.print(f"preparing {base_model} (converted once, then reused)")
    presenters.out.print(f"{base_model}: {prepare_base_model(base_model)}")


@model.command("export")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="New folder.")
@handle_errors
def model_export(run_dir: Path, output: Path) -> None:
    """Merge a run's LoRA into a standalone model folder that plain transformers loads."""
    from tinyweb.learn.runs import export_model

    presenters.out.print(f"merged model: {export_model(run_dir, output)}")


@click.command(name="train")
@options_of(TrainConfig)
@click.option("--resume", is_flag=True, help="Continue the run in --output from its latest checkpoint.")
@handle_errors
def train_command(resume: bool, **options: Any) -> None:
    """LoRA-fine-tune a small causal LM on the prompt dataset (loss on the page only)."""
    from tinyweb.learn.train import train

    summary = train(make(TrainConfig, options), resume=resume)
    if summary["main_process"]:  # under `accelerate launch`, one process reports
        presenters.print_train(summary, Path(options["output"]))


@click.command(name="generate")
@click.argument("prompt")
@run_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The page's file (default: named after the request, in the current folder).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite the page's file if it exists.")
@click.option("--screenshot", type=click.Path(dir_okay=False, path_type=Path), help="Also render it to this PNG.")
@options_of(GenerateOptions)
@handle_errors
def generate_command(prompt: str, run_dir: Path, output: Path | None, force: bool, screenshot: Path | None,
                     **options: Any) -> None:  # fmt: skip
    """Write the page a trained run makes for PROMPT ("a landing page for a bakery"), with the framework."""
    from tinyweb.learn.generate import generate

    presenters.console.print(f"[bold]generate[/] with {run_dir} …")
    presenters.print_generated(generate(run_dir, prompt, output, screenshot, make(GenerateOptions, options),
                                        force=force))  # fmt: skip


@click.command(name="evaluate")
@run_option
@click.option("--prompts", "prompts_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Requests to try: one per line, or a JSON list.")  # fmt: skip
@click.option("--split", type=click.Choice(["validation"]), help="Use the labels of the dataset's validation split.")
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path), help="With --split (default: the run's).")
@click.option("--limit", default=20, show_default=True, help="At most this many prompts.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), help="Default: RUN/evaluation.")
@options_of(GenerateOptions)
@handle_errors
def evaluate_command(run_dir: Path, prompts_file: Path | None, split: str | None, dataset: Path | None, limit: int,
                     output: Path | None, **options: Any) -> None:  # fmt: skip
    """Base model and tuned model side by side on the same requests: a JSON report and a contact sheet."""
    from tinyweb.learn.evaluate import evaluate
    from tinyweb.learn.requests import requests_for

    prompts = requests_for(run_dir, prompts_file, split, dataset, limit)
    target = output or run_dir / "evaluation"
    with presenters.stepped_bar("evaluate", 4 * len(prompts)) as advance:
        report = evaluate(run_dir, prompts, target, make(GenerateOptions, options), advance)
    presenters.print_evaluation(report, target)


COMMANDS = [model, train_command, generate_command, evaluate_command]
