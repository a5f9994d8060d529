"""Training speed, one row per factor: the same run once per step of the speed work, and whether it learns
the same.

Run from the repository root: `python -m bench.speed [--steps 100] [--out bench/results]` (also the first
part of `python -m bench.train`). Needs the corpus dataset (see bench.train's docstring).

Every row is `tinyweb train` in its own process, one after the other, on the same data, `--max-length 1024`,
steps, batch 1 without accumulation, seed, validation every quarter and checkpoints every 50 steps; only the
factor changes:
- today: packed pages kept apart by a 4-D block-diagonal mask, LoRA dropout 0.05 (the first way);
- per-page attention: each page's causal SDPA on its own slice (tinyweb.learn.attention);
- no LoRA dropout: peft's dropout draws a random mask over the input of every adapted layer (7 a block) in
  every step, and drawing random numbers is slow on a CPU; without it the adapter is the same computation.
`--precision auto` in every row: bf16 only where the CPU has it natively (this machine has not).
Figures: wall time of the whole process, training seconds and non-padding tokens per second, peak memory.

Equal quality: each row's final training loss (the mean of its last 25 steps) and validation loss (the mean
of the validation pages' own losses, from its final adapter) with a bootstrap 95 % interval; a row is equal
to today's when each one's figure lies within the other's interval. The paired difference (same steps, same
pages) and its interval are given too. Writes OUT/speed.json and OUT/speed-losses.png (the curves of today
and the fastest row).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MAX_LENGTH = 1024
STEPS = 100
LAST = 25  # training steps the final training loss is the mean of
RESAMPLES = 10_000
ROWS = (
    ("today: 4-D mask, LoRA dropout 0.05", "today", ["--packed-attention", "mask", "--lora-dropout", "0.05"]),
    ("per-page attention", "split", ["--packed-attention", "split", "--lora-dropout", "0.05"]),
    ("per-page attention, no LoRA dropout", "split-nodrop", ["--packed-attention", "split", "--lora-dropout", "0"]),
)


def run_train(args: list[str]) -> dict:
    """`tinyweb train` in its own process: its metrics, its wall time and its peak resident memory."""
    code = (
        "import resource, sys; from tinyweb.cli import main\n"
        "try:\n    main(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "train", *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr[-4000:]}")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    output = Path(args[args.index("--output") + 1])
    metrics = json.loads((output / "metrics.json").read_text())
    return {
        "tokens_per_second": metrics["tokens_per_second"],
        "non_padding_tokens": metrics["non_padding_tokens"],
        "seconds": metrics["seconds"],
        "wall_seconds": round(wall, 1),
        "sequences": metrics["sequences"],
        "peak_rss_mb": round(peak / 1024),
    }


def losses(model: Any, tokenizer: Any, rows: list[dict[str, Any]]) -> list[float]:
    """Each row's mean loss on its completion, one row at a time."""
    import torch

    from tinyweb.learn.data import tokenize

    examples, _ = tokenize(rows, tokenizer, MAX_LENGTH)
    with torch.inference_mode():
        return [
            float(model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels])).loss) for e in examples
        ]


def page_losses(run: Path, dataset: Path) -> list[float]:
    """Each validation page's loss from the run's final adapter (fp32)."""
    from datasets import load_from_disk

    from tinyweb.learn.runs import load_run

    loaded = load_run(run)
    return losses(loaded.model, loaded.tokenizer, list(load_from_disk(str(dataset))["validation"]))


def bootstrap(values: list[float], seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean and its bootstrap 95 % interval."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(RESAMPLES, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(data.mean()), float(low), float(high)


def compare(base: list[float], other: list[float]) -> dict[str, Any]:
    """Both figures with their intervals, whether each lies in the other's, and the paired difference."""
    b, o = bootstrap(base), bootstrap(other)
    diff = bootstrap([y - x for x, y in zip(base, other, strict=True)])
    return {
        "today": [round(v, 4) for v in b],
        "this": [round(v, 4) for v in o],
        "equal": b[1] <= o[0] <= b[2] and o[1] <= b[0] <= o[2],
        "paired_difference": [round(v, 4) for v in diff],
    }


def step_losses(run: Path) -> list[float]:
    log = json.loads((run / "metrics.json").read_text())["log"]
    return [e["loss"] for e in log if "loss" in e and "step" in e]


def plot(runs: dict[str, Path], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=100)
    for (label, run), color in zip(runs.items(), ("#3b6ea5", "#e07a30"), strict=False):
        log = json.loads((run / "metrics.json").read_text())["log"]
        train = [(e["step"], e["loss"]) for e in log if "loss" in e and "step" in e]
        evals = [(e["step"], e["eval_loss"]) for e in log if "eval_loss" in e]
        ax.plot(*zip(*train, strict=True), color=color, alpha=0.55, linewidth=1, label=f"{label}: training")
        ax.plot(*zip(*evals, strict=True), "o-", color=color, label=f"{label}: validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (completion tokens)")
    ax.set_title("the same run, today's way and the fastest")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(dataset: Path, out: Path, steps: int = STEPS) -> dict[str, Any]:
    common = ["--dataset", str(dataset), "--max-length", str(MAX_LENGTH), "--max-steps", str(steps)]
    common += ["--batch-size", "1", "--grad-accum", "1", "--eval-steps", str(max(1, steps // 4))]
    common += ["--save-steps", "50", "--seed", "0", "--precision", "auto"]
    rows: dict[str, Any] = {}
    folders: dict[str, Path] = {}
    for label, slug, flags in ROWS:
        folder = out / "runs" / f"speed-{slug}"
        shutil.rmtree(folder, ignore_errors=True)
        figures = run_train([*common, *flags, "--output", str(folder)])
        folders[label] = folder
        rows[label] = figures | {"precision": json.loads((folder / "run.json").read_text())["precision"]}
        print(
            f"{label:<40}{figures['wall_seconds']:>8} s wall {figures['seconds']:>8} s training "
            f"{figures['tokens_per_second']:>7} tok/s {figures['peak_rss_mb']:>7} MB",
            flush=True,
        )
    today_label = ROWS[0][0]
    today = rows[today_label]
    base_train = step_losses(folders[today_label])[-LAST:]
    base_val = page_losses(folders[today_label], dataset)
    for label, figures in rows.items():
        figures["speed_vs_today"] = round(figures["tokens_per_second"] / today["tokens_per_second"], 2)
        figures["wall_vs_today"] = round(today["wall_seconds"] / figures["wall_seconds"], 2)
        if label != today_label:
            figures["train_loss"] = compare(base_train, step_losses(folders[label])[-LAST:])
            figures["validation_loss"] = compare(base_val, page_losses(folders[label], dataset))
    fastest = max(rows, key=lambda label: rows[label]["tokens_per_second"])
    plot({"today": folders[today_label], fastest: folders[fastest]}, out / "speed-losses.png")
    result = {
        "steps": steps,
        "max_length": MAX_LENGTH,
        "rows": rows,
        "fastest": fastest,
        "peak_rss_mb_bench": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    (out / "speed.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    for label, figures in rows.items():
        quality = ""
        if "train_loss" in figures:
            t, v = figures["train_loss"], figures["validation_loss"]
            quality = f"  train {t['this'][0]} vs {t['today'][0]} equal={t['equal']}"
            quality += f", validation {v['this'][0]} vs {v['today'][0]} equal={v['equal']}"
        print(f"{label:<40} x{figures['speed_vs_today']} tok/s, x{figures['wall_vs_today']} wall{quality}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--dataset", type=Path, default=Path("bench/results/build-all/dataset"))
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    if not (args.dataset / "dataset_dict.json").is_file():
        raise SystemExit(f"{args.dataset} is missing: see bench.train's docstring for how to build it")
    run(args.dataset, args.out, args.steps)


if __name__ == "__main__":
    main()
