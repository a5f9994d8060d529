"""`tinyweb train`: LoRA fine-tuning of a small causal LM on the prompt dataset, with transformers' Trainer.

- Loss on the completion only (the page), packed sequences that never attend across documents, or the
  padded baseline with length-grouped batches (tinyweb.learn.data).
- Validation loss every `eval_steps`; checkpoints every `save_steps` in runs/NAME/checkpoints, `--resume`
  continues from the latest; the run's config in runs/NAME/run.json and a copy of the framework beside it.
- bf16 mixed precision where the hardware has it natively (a GPU with bf16, a CPU with AVX512-BF16 or AMX),
  fp32 elsewhere (tinyweb.learn.precision); master weights and optimizer state are fp32 either way. On a
  GPU the batch is chosen from memory, keeping the effective batch (tinyweb.learn.batch).
- Packed pages keep apart by their position ids: each page's attention runs on its own slice
  (tinyweb.learn.attention), no mask is built. Under `accelerate launch -m tinyweb train`
  the same code runs data-parallel on several processes, GPUs or machines.
- Speed is counted in non-padding tokens per second.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tinyweb.errors import UsageError
from tinyweb.layout import ADAPTER_DIR, CHECKPOINTS_DIR, FRAMEWORK_CSS, LOSS_PNG, METRICS_FILE, RUN_FILE
from tinyweb.learn.batch import plan_batch
from tinyweb.learn.precision import PRECISIONS
from tinyweb.learn.precision import resolve as resolve_precision
from tinyweb.learn.runs import resolve_base_model
from tinyweb.private import private_dir

# What a resumed run must share with the run it continues; the rest (steps, epochs) may grow.
ROW_KINDS = ("page", "plan", "section")  # tinyweb.dataset.prompts.KINDS: the dataset's kinds of rows
FIXED_ON_RESUME = (
    "base_model",
    "dataset",
    "max_length",
    "kinds",
    "lora_r",
    "lora_alpha",
    "packing",
    "batch_size",
    "grad_accum",
)


def _flag(default: Any, help: str, **more: Any) -> Any:
    return field(default=default, metadata={"help": help, **more})


@dataclass
class TrainConfig:
    output: str = field(metadata={"help": "The run folder, runs/NAME."})
    dataset: str = _flag("tinyweb-build/dataset", "The prompt dataset (OUT/dataset from `tinyweb prompts`).")
    base_model: str = _flag("smollm2-135m", "smollm2-135m (tinyweb.models.BASE_MODELS) or a model folder.")
    max_steps: int = _flag(-1, "Optimizer steps (-1: as many as --epochs take).")
    epochs: float = _flag(3.0, "Passes over the training pages (unless --max-steps).")
    lora_r: int = _flag(16, "LoRA rank.")
    lora_alpha: int = _flag(32, "LoRA alpha.")
    lora_dropout: float = _flag(
        0.0,
        "LoRA dropout (0: none; above, peft draws a mask over every adapted layer's input each step, which cost "
        "~1.3x the step time on a CPU at the same losses: bench.speed).",
    )
    max_length: int = _flag(2048, "Tokens per sequence (pages are never cut: longer ones are left out).")
    kinds: str = _flag(
        "page,plan,section",
        "Which kinds of dataset rows to train on, comma-separated: page (whole pages, for one-shot generation), plan "
        "and section (for composed generation).",
    )
    lr: float = _flag(2e-4, "Learning rate.")
    batch_size: int = _flag(1, "Sequences per device per step.")
    grad_accum: int = _flag(4, "Gradient accumulation steps.")
    auto_batch: bool = _flag(
        True,
        "On a GPU: as much of the effective batch (batch size x accumulation) in one step as memory holds.",
        flag="--auto-batch/--no-auto-batch",
    )
    precision: str = _flag(
        "auto",
        "bf16 (autocast, fp32 master weights), fp32, or auto: bf16 where the hardware has it natively.",
        choices=PRECISIONS,
    )
    packed_attention: str = _flag(
        "split",
        "How packed pages are kept apart: split (each page's causal attention on its own slice) or mask (a 4-D "
        "block-diagonal mask, the old way: slower).",
        choices=("split", "mask"),
    )
    packing: bool = _flag(
        True, "Pack pages into sequences (they never attend to each other).", flag="--packing/--no-packing"
    )
    pad_to_max_length: bool = _flag(
        False, "With --no-packing: pad every sequence to --max-length (the naive baseline)."
    )
    warmup_ratio: float = 0.05
    eval_steps: int = _flag(0, "Validate every N steps (0: four times).")
    save_steps: int = _flag(50, "Checkpoint every N steps.")
    logging_steps: int = 1
    seed: int = _flag(0, "Seed of LoRA's initialisation and the data order.")

    def check(self) -> None:
        for name in ("lora_r", "lora_alpha", "max_length", "batch_size", "grad_accum", "save_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
        if self.max_steps == 0 or self.max_steps < -1:
            raise UsageError("--max-steps must be positive (or -1: let --epochs decide)")
        if self.max_steps == -1 and self.epochs <= 0:
            raise UsageError("--epochs must be positive")
        if not 0 <= self.lora_dropout < 1 or self.lr <= 0:
            raise UsageError("--lora-dropout must be in [0, 1) and --lr positive")
        unknown = set(self.kind_list()) - set(ROW_KINDS)
        if unknown or not self.kind_list():
            raise UsageError(f"--kinds takes some of {', '.join(ROW_KINDS)} (got {self.kinds!r})")

    def kind_list(self) -> list[str]:
        return [k.strip() for k in self.kinds.split(",") if k.strip()]


def _load_dataset(path: Path) -> Any:
    from datasets import DatasetDict, load_from_disk

    if not (path / "dataset_dict.json").is_file():
        raise UsageError(f"{path} is not a prompt dataset: run `tinyweb prompts` (or `tinyweb build`) first")
    data = load_from_disk(str(path))
    if not isinstance(data, DatasetDict) or "train" not in data or len(data["train"]) == 0:
        raise UsageError(f"{path} has no training rows")
    return data


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def _start_run(config: TrainConfig, resume: bool, state: Any) -> tuple[Path, dict[str, Any]]:
    """The run folder: a new one, or the one to resume (its fixed settings must match). Every process checks
    before the main one writes (a barrier between), or a late process would find the new run and refuse it."""
    folder = Path(config.output)
    run_file = folder / RUN_FILE
    if run_file.is_file():
        previous = json.loads(run_file.read_text(encoding="utf-8"))
        if not resume:
            raise UsageError(f"{folder} already holds a run: pass --resume to continue it, or another --output")
        changed = [k for k in FIXED_ON_RESUME if previous["config"].get(k) != getattr(config, k)]
        if changed:
            raise UsageError(f"--resume must keep the run's {', '.join(changed)} (see {run_file})")
    elif resume:
        raise UsageError(f"nothing to resume in {folder}: no {RUN_FILE}")
    dataset = Path(config.dataset)
    css = dataset.parent / FRAMEWORK_CSS
    if not css.is_file():
        raise UsageError(f"{css} is missing: the dataset must sit in the build folder that holds its framework")
    import peft
    import torch
    import transformers

    device = _device()
    precision = resolve_precision(config.precision, device)
    meta = {
        "base_model": config.base_model,
        "max_length": config.max_length,
        "config": asdict(config),
        "base_model_folder": str(resolve_base_model(config.base_model)),
        "device": device,
        "dtype": "float32",  # the weights' (and optimizer state's) dtype
        "precision": precision,
        "autocast": precision == "bf16",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
        "status": "training",
    }
    state.wait_for_everyone()
    if state.is_main_process:
        private_dir(folder, "run folder")
        shutil.copyfile(css, folder / FRAMEWORK_CSS)
        _write_json(run_file, meta)
    return folder, meta


def _make_trainer_class() -> Any:
    from transformers import Trainer

    class TinywebTrainer(Trainer):
        """Counts the non-padding tokens it trains on (the collators put the count in each batch)."""

        real_tokens_seen = 0

        def training_step(self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> Any:
            self.real_tokens_seen += int(inputs["real_tokens"])
            return super().training_step(model, inputs, num_items_in_batch)

        def compute_loss(self, model: Any, inputs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            inputs.pop("real_tokens", None)
            return super().compute_loss(model, inputs, *args, **kwargs)

    return TinywebTrainer


def train(config: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Train (or resume) the run; returns the summary also written to runs/NAME/metrics.json (`main_process`
    says whether this process is the one that reports, under `accelerate launch`)."""
    from accelerate import PartialState

    from tinyweb.models import load_causal_lm

    config.check()
    data = _load_dataset(Path(config.dataset))
    state = PartialState(cpu=_device() == "cpu")  # as the Trainer will: gloo between CPU processes
    folder, meta = _start_run(config, resume, state)
    model, tokenizer = load_causal_lm(meta["base_model_folder"])
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    sets = _training_sets(config, data, tokenizer)
    if config.packing and config.packed_attention == "split":
        from tinyweb.learn.attention import register

        model.set_attn_implementation(register())
    model = _with_lora(model, config)
    meta["budgets"] = sets.budgets
    batch = plan_batch(config, meta["device"], model)
    meta["batch"] = asdict(batch)
    trainer = _trainer(config, meta, folder, model, sets, state, resume)
    summary = _fit(trainer, config, folder, resume) | {
        "train_pages": sets.train_pages,
        "validation_pages": sets.validation_pages,
        "left_out_too_long": sets.left_out,
        "sequences": len(sets.train),
        "packing": config.packing,
        "processes": state.num_processes,
        "batch_size": batch.batch_size,
        "grad_accum": batch.grad_accum,
        "main_process": trainer.is_world_process_zero(),
    }
    summary["log"] = list(trainer.state.log_history)
    if summary["main_process"]:
        _save(folder, meta, model, tokenizer, summary)
    return summary


@dataclass
class TrainingSets:
    train: Any  # a datasets.Dataset of packed or single rows
    validation: Any  # or None without validation pages
    collator: Any
    train_pages: int
    validation_pages: int
    left_out: dict[str, int]  # pages longer than max_length, per split
    budgets: dict[str, int]  # per kind, the most completion tokens (end-of-text included) of a training row


def _training_sets(config: TrainConfig, data: Any, tokenizer: Any) -> TrainingSets:
    """Tokenised pages (loss on the page only) as packed sequences or single padded rows."""
    from datasets import Dataset

    from tinyweb.learn.data import PackedCollator, PaddedCollator, packed_rows, single_rows, tokenize

    kinds = set(config.kind_list())

    def rows_of(split: str) -> list[dict[str, Any]]:  # a dataset from before kinds holds whole pages only
        return [r for r in data[split] if r.get("kind", "page") in kinds] if split in data else []

    train_rows = rows_of("train")
    train_examples, train_too_long = tokenize(train_rows, tokenizer, config.max_length)
    val_rows = rows_of("validation")
    val_examples, val_too_long = tokenize(val_rows, tokenizer, config.max_length)
    if not train_examples:
        raise UsageError(f"no training row of kinds {config.kinds} fits --max-length {config.max_length} tokens")
    if config.packing:
        rows: Any = lambda examples: packed_rows(examples, config.max_length)  # noqa: E731
        collator: Any = PackedCollator(tokenizer.pad_token_id, mask=config.packed_attention == "mask")
    else:
        rows = single_rows
        collator = PaddedCollator(tokenizer.pad_token_id, config.max_length if config.pad_to_max_length else None)
    return TrainingSets(
        train=Dataset.from_list(rows(train_examples)),
        validation=Dataset.from_list(rows(val_examples)) if val_examples else None,
        collator=collator,
        train_pages=len(train_examples),
        validation_pages=len(val_examples),
        left_out={"train": train_too_long, "validation": val_too_long},
        budgets=completion_budgets(train_rows, tokenizer, config.max_length),
    )


def completion_budgets(rows: list[dict[str, Any]], tokenizer: Any, max_length: int) -> dict[str, int]:
    """Per kind of row, the most tokens a completion trained on takes with its end-of-text token: what
    generation must allow to finish what the model learnt to write (run.json's `budgets`)."""
    budgets: dict[str, int] = {}
    if not rows:
        return budgets
    prompts = tokenizer([r["prompt"] for r in rows], add_special_tokens=False)["input_ids"]
    completions = tokenizer([r["completion"] for r in rows], add_special_tokens=False)["input_ids"]
    for row, prompt, completion in zip(rows, prompts, completions, strict=True):
        if len(prompt) + len(completion) + 1 <= max_length:
            kind = row.get("kind", "page")
            budgets[kind] = max(budgets.get(kind, 0), len(completion) + 1)
    return budgets


def _with_lora(model: Any, config: TrainConfig) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(config.seed)
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules="all-linear",
    )
    return get_peft_model(model, lora)


def _trainer(
    config: TrainConfig, meta: dict[str, Any], folder: Path, model: Any, sets: TrainingSets, state: Any, resume: bool
) -> Any:
    """transformers' Trainer for the run: cosine schedule, validation, checkpoints, the run's precision."""
    from transformers import TrainingArguments

    batch_size, grad_accum = meta["batch"]["batch_size"], meta["batch"]["grad_accum"]
    steps_per_epoch = math.ceil(len(sets.train) / (batch_size * grad_accum * state.num_processes))
    total_steps = config.max_steps if config.max_steps > 0 else math.ceil(steps_per_epoch * config.epochs)
    validating = sets.validation is not None
    args = TrainingArguments(
        output_dir=str(folder / CHECKPOINTS_DIR),
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        lr_scheduler_type="cosine",
        warmup_steps=math.ceil(total_steps * config.warmup_ratio),
        logging_steps=config.logging_steps,
        eval_strategy="steps" if validating else "no",
        eval_steps=config.eval_steps or max(1, total_steps // 4),
        eval_on_start=validating and not resume,  # the base model's validation loss: step 0 of the plot
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        seed=config.seed,
        data_seed=config.seed,
        bf16=meta["autocast"],
        use_cpu=meta["device"] == "cpu",
        report_to=[],
        remove_unused_columns=False,
        train_sampling_strategy="random" if config.packing else "group_by_length",
        length_column_name="length",
        dataloader_num_workers=0,
        save_only_model=False,
    )
    trainer_class = _make_trainer_class()
    return trainer_class(
        model=model, args=args, train_dataset=sets.train, eval_dataset=sets.validation, data_collator=sets.collator
    )


def _fit(trainer: Any, config: TrainConfig, folder: Path, resume: bool) -> dict[str, Any]:
    """Run the Trainer (from the latest checkpoint when resuming), then validate once more; the figures."""
    import torch

    checkpoint = None
    if resume:
        from transformers.trainer_utils import get_last_checkpoint

        checkpoint = get_last_checkpoint(str(folder / CHECKPOINTS_DIR))
        if checkpoint is None:
            raise UsageError(f"nothing to resume: no checkpoint in {folder / CHECKPOINTS_DIR} yet")
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.perf_counter() - start
    final_eval = trainer.evaluate() if trainer.eval_dataset is not None else {}
    tokens = int(trainer.accelerator.reduce(torch.tensor(trainer.real_tokens_seen), reduction="sum"))
    return {
        "steps": trainer.state.global_step,
        "epochs": round(trainer.state.epoch or 0, 3),
        "train_loss": result.training_loss,
        "eval_loss": final_eval.get("eval_loss"),
        "seconds": round(seconds, 2),
        "non_padding_tokens": tokens,
        "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
    }


def _save(folder: Path, meta: dict[str, Any], model: Any, tokenizer: Any, summary: dict[str, Any]) -> None:
    """The adapter, the tokenizer, metrics.json, the finished run.json and the loss plot."""
    model.save_pretrained(str(folder / ADAPTER_DIR))
    tokenizer.save_pretrained(str(folder / ADAPTER_DIR))
    _write_json(folder / METRICS_FILE, summary)
    meta["status"] = "finished"
    meta["steps"] = summary["steps"]
    _write_json(folder / RUN_FILE, meta)
    plot_losses(summary["log"], folder / LOSS_PNG)


def plot_losses(log: list[dict[str, Any]], path: Path) -> None:
    """Training loss per step and validation loss at each evaluation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(e["step"], e["loss"]) for e in log if "loss" in e and "step" in e]
    evals = [(e["step"], e["eval_loss"]) for e in log if "eval_loss" in e]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train, strict=True), color="#3b6ea5", label="training loss")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", color="#f0a030", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (completion tokens)")
    ax.set_title("tinyweb train")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def config_fields() -> list[str]:
    return [f.name for f in fields(TrainConfig)]
