"""Generation speed, side by side: how `tinyweb generate` decoded before, and each change since.

Run from the repository root: `python -m bench.decode [--run bench/results/runs/speed-split-nodrop]
[--requests 4] [--new-tokens 300]` after bench.speed (whose fastest run it decodes with). The run's adapter
merged into its weights, greedy, KV cache, one request at a time (as `tinyweb generate` does), the
validation split's first requests, each row over the same requests in one process (timings here are noisy:
compare within the run):
- today: fp32 weights, transformers' stop strings for </html> (the call tinyweb made before, reproduced);
- own stop check: the page-end criterion of tinyweb.learn.decode, fp32;
- bf16 weights (`--precision auto` on a CPU): decoding is bound by reading the weights, half the bytes.
Quality of bf16: the validation pages' loss with bf16 weights against fp32 (bootstrap intervals, as
bench.speed), and how many pages come out the same. Writes OUT/decode.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.speed import compare, losses

LOSS_PAGES = 12  # validation pages whose loss is compared in bf16 and fp32


def today(model: Any, tokenizer: Any, label: str, new_tokens: int) -> tuple[str, int]:
    """The page as tinyweb decoded it before: fp32, transformers' stop strings (and the same penalty)."""
    import torch
    from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

    from tinyweb.dataset.format import prompt_text

    enc = tokenizer([prompt_text(label)], return_tensors="pt", add_special_tokens=False)
    width = enc["input_ids"].shape[1]
    with torch.inference_mode():
        out = model.generate(
            **enc,
            max_new_tokens=new_tokens,
            logits_processor=LogitsProcessorList([RepetitionPenaltyLogitsProcessor(1.1, prompt_ignore_length=width)]),
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            stop_strings=["</html>"],
            tokenizer=tokenizer,
            do_sample=False,
        )
    row = [t for t in out[0, width:].tolist() if t != tokenizer.eos_token_id]
    return tokenizer.decode(row, skip_special_tokens=True), len(row)


def main() -> None:
    from datasets import load_from_disk

    from tinyweb.learn.decode import GenerateOptions, generate_pages
    from tinyweb.learn.runs import load_run

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=Path("bench/results/runs/speed-split-nodrop"))
    parser.add_argument("--dataset", type=Path, default=Path("bench/results/build-all/dataset"))
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    run = load_run(args.run, merge=True)
    model, tokenizer = run.model, run.tokenizer
    validation = list(load_from_disk(str(args.dataset))["validation"])
    labels = [row["label"] for row in validation[: args.requests]]

    def ours(precision: str) -> Any:
        options = GenerateOptions(max_new_tokens=args.new_tokens, precision=precision, batch_size=1)
        return lambda label: (lambda p: (p.raw, p.new_tokens))(generate_pages(model, tokenizer, [label], options)[0])

    rows: dict[str, Any] = {}
    pages: dict[str, list[str]] = {}
    fp32_losses = losses(model, tokenizer, validation[:LOSS_PAGES])
    variants = (
        ("today: fp32, transformers' stop strings", lambda label: today(model, tokenizer, label, args.new_tokens)),
        ("own stop check, fp32", ours("fp32")),
        ("own stop check, bf16 weights (auto)", ours("auto")),
    )
    for name, write in variants:
        write(labels[0][:40])  # warm-up (and the cast to bf16, once)
        tokens, seconds, texts = 0, 0.0, []
        for label in labels:
            start = time.perf_counter()
            text, n = write(label)
            seconds += time.perf_counter() - start
            tokens += n
            texts.append(text)
        pages[name] = texts
        speed = round(tokens / seconds, 2)
        rows[name] = {"new_tokens": tokens, "seconds": round(seconds, 2), "tokens_per_second": speed}
        print(f"{name:<40}{rows[name]['tokens_per_second']:>8} tok/s ({tokens} tokens, {seconds:.1f} s)", flush=True)
    base = rows[variants[0][0]]["tokens_per_second"]
    for name in rows:
        rows[name]["speed_vs_today"] = round(rows[name]["tokens_per_second"] / base, 2)
        rows[name]["pages_as_today"] = sum(a == b for a, b in zip(pages[name], pages[variants[0][0]], strict=True))
    bf16 = compare(fp32_losses, losses(model, tokenizer, validation[:LOSS_PAGES]))  # the model is bf16 by now
    result = {"requests": labels, "new_tokens": args.new_tokens, "rows": rows, "validation_loss_bf16_vs_fp32": bf16}
    (args.out / "decode.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    for name, figures in rows.items():
        print(f"{name:<40} x{figures['speed_vs_today']}, {figures['pages_as_today']}/{len(labels)} pages as today")
    print(f"validation loss, fp32 {bf16['today']} bf16 {bf16['this']} equal={bf16['equal']}")


if __name__ == "__main__":
    main()
