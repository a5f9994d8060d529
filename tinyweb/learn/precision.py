"""Which precision a run trains in: bf16 mixed precision (autocast; master weights and optimizer state stay
fp32) where the hardware computes bf16 natively, fp32 elsewhere.

On a CPU, native means the AVX512-BF16 or AMX-BF16 instructions (`avx512_bf16`, `amx_bf16` in the CPU's
flags): there, a LoRA step of SmolLM2 ran 1.55-1.8x faster under `torch.autocast("cpu", torch.bfloat16)`;
without them bf16 is emulated and can be many times slower, so `auto` keeps fp32. On a GPU, bf16 where
`torch.cuda.is_bf16_supported()`.
"""

from __future__ import annotations

from pathlib import Path

from tinyweb.errors import UsageError

PRECISIONS = ("auto", "fp32", "bf16")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """The CPU's feature flags (Linux's /proc/cpuinfo); empty where they cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cpu_has_bf16(flags: set[str] | None = None) -> bool:
    return any(flag in (cpu_flags() if flags is None else flags) for flag in BF16_FLAGS)


def resolve(requested: str, device: str, flags: set[str] | None = None) -> str:
    """ "bf16" or "fp32" for a run on `device` ("cpu" or "cuda") that asked for `requested`."""
    if requested not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    if requested != "auto":
        return requested
    if device == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16(flags) else "fp32"
