"""Benchmark training: packing against padded baselines, then the acceptance run (train, evaluate base vs tuned).

Run from the repository root: `python -m bench.train [--out bench/results] [--steps 200] [--skip-speed]
[--skip-packing] [--skip-acceptance]`. Needs the corpus build with its dataset: `python -m bench.build`,
then `tinyweb label --data bench/results/corpus-data --out bench/results/build-all` and `tinyweb prompts
--out bench/results/build-all --max-tokens 320 --fit` (every page condensed to a complete document of at most 320
tokens with its request, so that a page can end within the 300 new tokens of the acceptance).

0. Speed (bench.speed): the same 100-step run once per factor of the training-speed work, each in its own
   process, one after the other: wall time and non-padding tokens per second, and whether the losses stay
   equal (bootstrap 95 % intervals).
1. Packing: the same model (SmolLM2-135M + LoRA r=16), data and max length (1024), 8 optimizer steps of 4
   sequences each, in three separate processes: packed (documents share sequences, block-diagonal attention),
   padded to the longest in length-grouped batches, and padded to max length. Non-padding tokens per second
   and peak resident memory, side by side.
2. Acceptance: train up to `--steps` steps at max length 1024 (resumable: run it again and it continues),
   then evaluate 20 requests with the base model (told the framework's class names) and the tuned model at
   300 new tokens each: the validation split's labels, then hand-written gold requests for pages the run did
   not train on.
Writes OUT/train.json and the run's own evaluation.json and contact-sheet.png under OUT/runs/acceptance/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bench import speed
from bench.labels import GOLD
from bench.speed import run_train
from tinyweb.dataset.quality import read_gold
from tinyweb.learn.decode import GenerateOptions

MAX_LENGTH = 1024
PACKING_STEPS = 8
PROMPTS = 20
NEW_TOKENS = 300


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


def acceptance_prompts(dataset: Path, train_urls: set[str]) -> list[str]:
    from datasets import load_from_disk

    data = load_from_disk(str(dataset))
    prompts = list(data["validation"]["label"])
    for path, request in read_gold(GOLD):
        if len(prompts) >= PROMPTS:
            break
        if not any(url.endswith("/" + path) for url in train_urls):
            prompts.append(request)
    return prompts[:PROMPTS]


def acceptance(dataset: Path, out: Path, steps: int) -> dict:
    from datasets import load_from_disk

    from tinyweb.learn.evaluate import evaluate

    run = out / "runs" / "acceptance"
    args = ["--dataset", str(dataset), "--max-length", str(MAX_LENGTH), "--max-steps", str(steps)]
    args += ["--grad-accum", "1", "--save-steps", "25", "--output", str(run)]
    metrics_file = run / "metrics.json"
    finished = metrics_file.is_file() and json.loads(metrics_file.read_text())["steps"] >= steps
    if not finished:
        resume = ["--resume"] if (run / "run.json").is_file() else []
        run_train([*args, *resume])
    train_metrics = json.loads(metrics_file.read_text())
    train_urls = set(load_from_disk(str(dataset))["train"]["url"])
    prompts = acceptance_prompts(dataset, train_urls)
    print(f"evaluating {len(prompts)} prompts at {NEW_TOKENS} new tokens, base and tuned")
    report = evaluate(run, prompts, run / "evaluation", GenerateOptions(max_new_tokens=NEW_TOKENS))
    return {
        "steps": train_metrics["steps"],
        "train_pages": train_metrics["train_pages"],
        "left_out_too_long": train_metrics["left_out_too_long"],
        "train_loss": train_metrics["train_loss"],
        "eval_loss": train_metrics["eval_loss"],
        "tokens_per_second": train_metrics["tokens_per_second"],
        "train_seconds": train_metrics["seconds"],
        "prompts": len(prompts),
        "summary": report["summary"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--dataset", type=Path, default=Path("bench/results/build-all/dataset"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-packing", action="store_true")
    parser.add_argument("--skip-acceptance", action="store_true")
    args = parser.parse_args()
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
    if not args.skip_acceptance:
        result["acceptance"] = acceptance(args.dataset, args.out, args.steps)
        result_file.write_text(json.dumps(result, indent=1), encoding="utf-8")
        for name, summary in result["acceptance"]["summary"].items():
            print(name, json.dumps(summary))
    print(f"figures in {result_file}")


if __name__ == "__main__":
    main()
