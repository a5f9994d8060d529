"""Packed sequences without a mask: attention that runs each packed document on its own.

A packed row holds several pages back to back, their position ids starting again at 0 for each page. The
first way to keep them from attending to each other was a 4-D block-diagonal mask (tinyweb.learn.data.
block_mask): correct, but SDPA with an arbitrary mask computes every pair of the row and cannot use its
causal kernels, so a packed step cost ~1.5x an unpacked one of the same tokens. `packed_sdpa` instead finds
the documents from the position ids and calls `scaled_dot_product_attention(is_causal=True)` on each one's
slice: what each page sees is exactly what it sees alone, and the work is what the pages cost alone.

It is registered with transformers as the attention implementation PACKED_ATTENTION, with a mask function
that builds no mask (the position ids carry the boundaries). Padding after the last document belongs to it:
padded positions come last, so no real token attends to them, and their labels are ignored.
"""

from __future__ import annotations

from typing import Any

PACKED_ATTENTION = "tinyweb_packed"


def document_bounds(position_ids: Any) -> list[list[tuple[int, int]]]:
    """Per batch row, the (start, end) of each document: a document starts where its position id is 0."""
    bounds = []
    for row in position_ids.tolist():
        starts = [i for i, p in enumerate(row) if p == 0] or [0]
        if starts[0] != 0:
            starts.insert(0, 0)
        bounds.append(list(zip(starts, [*starts[1:], len(row)], strict=True)))
    return bounds


def packed_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Causal attention within each packed document. query (B, H, S, D), key/value (B, Hkv, S, D); returns
    (B, S, H, D) as transformers' attention functions do."""
    import torch
    from torch.nn.functional import scaled_dot_product_attention

    position_ids = kwargs.get("position_ids")
    if position_ids is None or attention_mask is not None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    gqa = query.shape[1] != key.shape[1]
    drop = dropout if module.training else 0.0
    rows = []
    for b, spans in enumerate(document_bounds(position_ids)):
        parts = [
            scaled_dot_product_attention(
                query[b : b + 1, :, s:e],
                key[b : b + 1, :, s:e],
                value[b : b + 1, :, s:e],
                dropout_p=drop,
                is_causal=True,
                scale=scaling,
                enable_gqa=gqa,
            )
            for s, e in spans
        ]
        rows.append(torch.cat(parts, dim=2) if len(parts) > 1 else parts[0])
    out = torch.cat(rows, dim=0) if len(rows) > 1 else rows[0]
    return out.transpose(1, 2).contiguous(), None


def _no_mask(*args: Any, **kwargs: Any) -> None:
    return None


def register() -> str:
    """Make PACKED_ATTENTION known to transformers (idempotent); its name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(PACKED_ATTENTION, packed_sdpa)
    AttentionMaskInterface.register(PACKED_ATTENTION, _no_mask)
    return PACKED_ATTENTION
