"""Training examples from the prompt dataset: tokenised, loss on the completion only, packed without
attention across documents.

- Each row of OUT/dataset becomes prompt tokens + completion tokens + end-of-text, tokenised as generation
  sees them (the prompt alone, then what follows). Labels are -100 on the prompt: the model learns to write
  the page, not the request. A row longer than `max_length` is left out, never truncated.
- Packing: rows are placed first-fit-decreasing into sequences of at most `max_length` tokens. Each document
  keeps its own position ids (0, 1, …), from which the attention (tinyweb.learn.attention) keeps documents
  apart, so no token attends across a document boundary: a packed document computes exactly what it would
  alone. The collator can instead build a block-diagonal causal 4-D mask (additive; padding attends only to
  itself), the slower first way, kept to measure against. Padding has no labels.
- The padded baseline: one document per sequence, batches of similar length, padded to the longest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IGNORE = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


def tokenize(rows: list[dict[str, Any]], tokenizer: Any, max_length: int) -> tuple[list[Example], int]:
    """Examples from dataset rows (`prompt`, `completion`), and how many rows were too long to keep."""
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no end-of-text token to end each document with")
    if not rows:  # an empty split: fast tokenizers fail on an empty batch (an IndexError, not an empty list)
        return [], 0
    prompts = tokenizer([r["prompt"] for r in rows], add_special_tokens=False)["input_ids"]
    completions = tokenizer([r["completion"] for r in rows], add_special_tokens=False)["input_ids"]
    examples, too_long = [], 0
    for prompt, completion in zip(prompts, completions, strict=True):
        completion = [*completion, tokenizer.eos_token_id]
        if len(prompt) + len(completion) > max_length:
            too_long += 1
            continue
        examples.append(Example(prompt + completion, [IGNORE] * len(prompt) + completion))
    return examples, too_long


def pack(lengths: list[int], max_length: int) -> list[list[int]]:
    """Indices of documents per sequence: first-fit decreasing, deterministic (ties keep their order)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        for b, free in enumerate(room):
            if lengths[i] <= free:
                bins[b].append(i)
                room[b] -= lengths[i]
                break
        else:
            bins.append([i])
            room.append(max_length - lengths[i])
    return bins


def packed_rows(examples: list[Example], max_length: int) -> list[dict[str, list[int]]]:
    """One row per packed sequence: input_ids, labels, position_ids and doc_lengths."""
    rows = []
    for members in pack([len(e.input_ids) for e in examples], max_length):
        ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        for i in members:
            ids += examples[i].input_ids
            labels += examples[i].labels
            positions += list(range(len(examples[i].input_ids)))
        rows.append(
            {
                "input_ids": ids,
                "labels": labels,
                "position_ids": positions,
                "doc_lengths": [len(examples[i].input_ids) for i in members],
            }
        )
    return rows


def single_rows(examples: list[Example]) -> list[dict[str, list[int]]]:
    """One row per document (the padded baseline)."""
    return [
        {"input_ids": e.input_ids, "labels": e.labels, "doc_lengths": [len(e.input_ids)], "length": len(e.input_ids)}
        for e in examples
    ]


def block_mask(doc_lengths: list[list[int]], width: int, dtype: Any) -> Any:
    """Additive 4-D attention masks (batch, 1, width, width): causal within each document, nothing across
    documents; padding positions attend to themselves only."""
    import torch

    masks = torch.full((len(doc_lengths), 1, width, width), torch.finfo(dtype).min, dtype=dtype)
    for b, lengths in enumerate(doc_lengths):
        start = 0
        for n in lengths:
            causal = torch.tril(torch.ones(n, n, dtype=torch.bool))
            masks[b, 0, start : start + n, start : start + n].masked_fill_(causal, 0.0)
            start += n
        for p in range(start, width):
            masks[b, 0, p, p] = 0.0
    return masks


def _padded(rows: list[dict[str, Any]], key: str, value: int, width: int) -> Any:
    import torch

    return torch.tensor([r[key] + [value] * (width - len(r[key])) for r in rows])


class PackedCollator:
    """Batches packed rows: padded to the longest row, with per-document positions (the attention keeps pages
    apart by them: tinyweb.learn.attention), and with `mask` a block-diagonal 4-D mask instead."""

    def __init__(self, pad_token_id: int, dtype: Any = None, mask: bool = True):
        self.pad_token_id = pad_token_id
        self.dtype = dtype
        self.mask = mask

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        batch = {
            "input_ids": _padded(rows, "input_ids", self.pad_token_id, width),
            "labels": _padded(rows, "labels", IGNORE, width),
            # Padding continues the last page's positions: it comes last, so no real token sees it.
            "position_ids": torch.tensor([r["position_ids"] + list(range(len(r["input_ids"]), width)) for r in rows]),
            "real_tokens": torch.tensor(sum(len(r["input_ids"]) for r in rows)),
        }
        if self.mask:
            batch["attention_mask"] = block_mask([r["doc_lengths"] for r in rows], width, self.dtype or torch.float32)
        return batch


class PaddedCollator:
    """Batches single documents padded to the longest, or to `pad_to` (right padding, a 2-D attention mask)."""

    def __init__(self, pad_token_id: int, pad_to: int | None = None):
        self.pad_token_id = pad_token_id
        self.pad_to = pad_to

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = self.pad_to or max(len(r["input_ids"]) for r in rows)
        return {
            "input_ids": _padded(rows, "input_ids", self.pad_token_id, width),
            "labels": _padded(rows, "labels", IGNORE, width),
            "attention_mask": torch.tensor(
                [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
            ),
            "real_tokens": torch.tensor(sum(len(r["input_ids"]) for r in rows)),
        }
