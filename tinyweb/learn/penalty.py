"""A repetition penalty on the words a page shows, not on its markup.

transformers' RepetitionPenaltyLogitsProcessor penalises every token generated before, but markup must repeat:
`</`, `class="`, `>` and the framework's class names come back on every element, and penalising them pushes a
small model off well-formed HTML. `TextRepetitionPenalty` follows each row's text as it is written: a token that
began outside a tag (in the page's text) is remembered, and while the next token would be written outside a
tag, remembered tokens are penalised as transformers does it (positive logits divided by the penalty, negative
ones multiplied). Inside a tag nothing is penalised.
"""

from __future__ import annotations

import re
from typing import Any

WORDISH = re.compile(r"[^\W\d_]{2}")


class TextRepetitionPenalty:
    """A logits processor (transformers' call signature); one instance per batch."""

    def __init__(self, tokenizer: Any, penalty: float, prompt_length: int):
        self.tokenizer = tokenizer
        self.penalty = penalty
        self.prompt_length = prompt_length
        self.inside: list[bool] = []
        self.seen: list[set[int]] = []
        self.done = 0  # generated tokens already read

    def _read(self, row: int, token: int) -> None:
        piece = self.tokenizer.decode([token])
        if not self.inside[row] and WORDISH.search(piece):
            self.seen[row].add(token)
        for char in piece:
            if char == "<":
                self.inside[row] = True
            elif char == ">":
                self.inside[row] = False

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        rows, length = input_ids.shape
        if not self.inside:
            self.inside, self.seen = [False] * rows, [set() for _ in range(rows)]
        generated = length - self.prompt_length
        for step in range(self.done, generated):
            for row in range(rows):
                self._read(row, int(input_ids[row, self.prompt_length + step]))
        self.done = generated
        mask = torch.zeros_like(scores, dtype=torch.bool)
        for row in range(rows):
            if not self.inside[row] and self.seen[row]:
                mask[row, list(self.seen[row])] = True
        penalised = torch.where(scores > 0, scores / self.penalty, scores * self.penalty)
        return torch.where(mask, penalised, scores)
