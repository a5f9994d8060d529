"""Benchmark training: speed and packing against padded baselines; with --acceptance, the acceptance run.

Run from the repository root: `python -m bench.train [--out bench/results] [--skip-speed] [--skip-packing]`,
or `python -m bench.train --acceptance [--steps N] [--stage build|train|settings|evaluate|ship|all]
[--part dev|test|validation]`
(bench.acceptance: the shippable corpus build, training, the evaluation on the hand-written requests, and the
run shipped in the package). Speed and packing need the corpus build with its dataset (`python -m bench.build`).

0. Speed (bench.speed): the same 100-step run once per factor of the training-speed work, each in its own
   process, one after the other: wall time and non-padding tokens per second, and whether the losses stay
   equal (bootstrap 95 % intervals).
1. Packing: the same model (SmolLM2-135M + LoRA r=16), data and max length (1024), 8 optimizer steps of 4
   sequences each, in three separate processes: packed (documents share sequences, block-diagonal attention),
   padded to the longest in length-grouped batches, and padded to max length. Non-padding tokens per second
   and peak resident memory, side by side.
Writes OUT/train.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bench import acceptance, speed
from bench.speed import run_train

MAX_LENGTH = 1024
PACKING_STEPS = 8


def packing(dataset: Path, out: Path) -> dict:
    common = ["--dataset", str(dataset), "--max-length", str(MAX_LENGTH), "--max-steps", str(PACKING_STEPS)]
    common += ["--batch-size", "4", "--grad-accum", "1", "--save-steps", "1000", "--eval-steps", "1000"]
    results = {}
    for name, slug, flags in (
        ("packed", "packed", ["--packing"]),
        ("padded, length-grouped", "padded-grouped", ["--no-packing"]),
        ("padded to max length", "padded-max", ["--no-packing", "--pad-to-max-length"]),
    ):
        folder = out / "runs" / f"packing-{slug}"
        shutil.rmtree(folder, ignore_errors=True)
        results[name] = run_train([*common, *flags, "--output", str(folder)])
        print(f"{name:<24}{results[name]['tokens_per_second']:>10} tok/s {results[name]['peak_rss_mb']:>7} MB")
    base = results["padded, length-grouped"]["tokens_per_second"]
    for figures in results.values():
        figures["speed_vs_length_grouped"] = round(figures["tokens_per_second"] / base, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--dataset", type=Path, default=Path("bench/results/build-all/dataset"))
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-packing", action="store_true")
    parser.add_argument("--acceptance", action="store_true", help="the acceptance run and the shipped model instead")
    parser.add_argument("--steps", type=int, default=acceptance.STEPS)
    parser.add_argument("--stage", choices=("build", "train", "settings", "evaluate", "ship", "all"), default="all")
    parser.add_argument("--part", choices=("dev", "test", "validation"), default="test")
    args = parser.parse_args()
    if args.acceptance:
        acceptance.main(args.out, args.steps, args.stage, args.part)
        return
    if not (args.dataset / "dataset_dict.json").is_file():
        raise SystemExit(f"{args.dataset} is missing: see this module's docstring for how to build it")
    result_file = args.out / "train.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    if not args.skip_speed:
        result["speed"] = speed.run(args.dataset, args.out)
        result_file.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if not args.skip_packing:
        result["packing"] = packing(args.dataset, args.out)
        result_file.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"figures in {result_file}")


if __name__ == "__main__":
    main()
