"""How many sequences one device step holds: on a GPU, as many of the effective batch as its memory takes.

The effective batch (sequences per optimizer step and process) is `batch_size × grad_accum`, and it is what
the run's quality depends on. On a CPU a bigger batch does the same arithmetic in one call, so the run keeps
the given split. On a GPU small batches leave it idle, so `auto_batch` moves accumulation into the batch:
one probe step (forward and backward of one sequence of `max_length` tokens, no optimizer step) measures what
a sequence costs in memory, and the batch becomes the largest divisor of the effective batch that fits in
the free memory with a reserve. The product stays exactly what was asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Probe = Callable[[Any, int, int], tuple[int, int]]  # (model, max_length, vocab size) -> (per sequence, free)
RESERVE = 0.15  # share of the free memory left unused (allocator fragmentation, the optimizer's first step)


@dataclass(frozen=True)
class BatchPlan:
    batch_size: int  # sequences per device step
    grad_accum: int  # device steps per optimizer step
    per_sequence_bytes: int | None = None  # what the probe measured (None: no probe)
    free_bytes: int | None = None

    @property
    def effective(self) -> int:
        return self.batch_size * self.grad_accum


def split_batch(effective: int, fits: int) -> tuple[int, int]:
    """(batch, accumulation) with batch × accumulation == effective and the batch the largest divisor of
    `effective` that is at most `fits` (at least 1)."""
    if effective < 1:
        raise ValueError("the effective batch must be at least 1")
    batch = max(d for d in range(1, effective + 1) if effective % d == 0 and (d <= fits or d == 1))
    return batch, effective // batch


def plan_from_memory(effective: int, per_sequence_bytes: int, free_bytes: int) -> BatchPlan:
    """The split for a device with `free_bytes` free where one sequence's step costs `per_sequence_bytes`."""
    fits = int(free_bytes * (1 - RESERVE) // max(per_sequence_bytes, 1))
    batch, accum = split_batch(effective, fits)
    return BatchPlan(batch, accum, per_sequence_bytes, free_bytes)


def probe_cuda(model: Any, max_length: int, vocab_size: int) -> tuple[int, int]:
    """(bytes one sequence of `max_length` adds at its peak in a training step, bytes free afterwards) on this
    process's CUDA device (accelerate has set it), where the model is moved; its gradients are cleared again."""
    import torch

    device = torch.device("cuda", torch.cuda.current_device())
    model.to(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    ids = torch.randint(0, vocab_size, (1, max_length), device=device)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.cuda.is_bf16_supported()):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    peak = torch.cuda.max_memory_allocated(device) - before
    model.zero_grad(set_to_none=True)
    del loss, ids
    torch.cuda.empty_cache()
    free, _total = torch.cuda.mem_get_info(device)
    return int(peak), int(free)


def plan_batch(config: Any, device: str, model: Any, probe: Probe = probe_cuda) -> BatchPlan:
    """The run's batch split: the config's own on a CPU or without `auto_batch`, else from a probe step."""
    effective = config.batch_size * config.grad_accum
    if device != "cuda" or not config.auto_batch or effective == 1:
        return BatchPlan(config.batch_size, config.grad_accum)
    per_sequence, free = probe(model, config.max_length, model.config.vocab_size)
    return plan_from_memory(effective, per_sequence, free)
