"""One training step, side by side: how packed pages are kept apart, and in which precision.

Run from the repository root: `python -m bench.step [--repeats 3] [--bf16]`. SmolLM2-135M + LoRA r16 on all
linear layers, one row of 1024 tokens holding 3 pages (400, 350 and 274 tokens), forward + backward + AdamW,
the variants alternating in one process (timings here are noisy: compare within the run), best of
`--repeats`:
- mask: the pages packed with a 4-D block-diagonal mask (the first way, `--packed-attention mask`);
- split: packed, each page's causal attention on its own slice (tinyweb.learn.attention, the default);
- unpacked: the three pages as three sequences, one optimizer step.
`--bf16` adds split under bf16 autocast: only worth it where the CPU has native bf16 (tinyweb.learn.precision
says whether this one has); elsewhere it is emulated and many times slower.
"""

from __future__ import annotations

import argparse
import time

LENGTHS = (400, 350, 274)


def main() -> None:
    import torch
    from peft import LoraConfig, get_peft_model

    from tinyweb.learn.attention import register
    from tinyweb.learn.data import block_mask
    from tinyweb.learn.precision import cpu_has_bf16
    from tinyweb.models import load_causal_lm, smollm2_folder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="Also time split under bf16 autocast.")
    args = parser.parse_args()
    torch.manual_seed(0)
    model, _ = load_causal_lm(smollm2_folder())
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, target_modules="all-linear"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    docs = [torch.randint(0, 49000, (1, n)) for n in LENGTHS]
    ids = torch.cat(docs, dim=1)
    positions = torch.cat([torch.arange(n) for n in LENGTHS])[None]
    mask = block_mask([list(LENGTHS)], sum(LENGTHS), torch.float32)
    packed_attention, inner = register(), model.base_model.model

    def step(variant: str) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "split, bf16"):
            if variant == "unpacked":
                inner.set_attn_implementation("sdpa")
                for doc in docs:
                    model(input_ids=doc, labels=doc).loss.backward()
            else:
                inner.set_attn_implementation("sdpa" if variant == "mask" else packed_attention)
                extra = {"attention_mask": mask} if variant == "mask" else {}
                model(input_ids=ids, labels=ids, position_ids=positions, **extra).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return time.perf_counter() - start

    variants = ["mask", "split", "unpacked"] + (["split, bf16"] if args.bf16 else [])
    for variant in variants:
        step(variant)  # warm-up
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for variant in variants:
            times[variant].append(step(variant))
    base = min(times["mask"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: {cpu_has_bf16()}")
    for variant in variants:
        best = min(times[variant])
        print(f"{variant:<12} {best:6.2f} s  {sum(LENGTHS) / best:5.0f} tok/s  x{base / best:.2f} against mask")


if __name__ == "__main__":
    main()
