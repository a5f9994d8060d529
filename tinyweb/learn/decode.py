"""Decoding: a model writes pages for requests, in the training format.

The prompt is exactly the training prompt, `prompt_text(label)` ("[TINY-WEB-DEV-TITLE]\\n\\n{label}\\n\\n
[TINY-WEB-DEV-CODE]\\n\\n"), tokenized as training does: no chat template and `add_special_tokens=False`.
SmolLM2's tokenizer adds no BOS token either way (its `bos_token` is <|im_start|>, a chat marker, and plain
calls leave it out), so the model sees the same ids it was trained on. A page ends at its first "</html>":
generation stops there or at an end-of-text token. The stop is checked on the text of each row's last few
tokens with the same pattern that cuts the page (so `</HTML >` stops it too), across token boundaries. Other
texts stop by their own rule (a `Stop`: composition's sections stop where their root element closes).

Decoding reads every weight once per token, so it is bound by memory, not arithmetic: with bf16 weights
(`precision`, bf16 by default on a CPU and on a GPU that has it) a token costs half the bytes, and it ran
~1.5x faster on this CPU even though it has no bf16 arithmetic, at the same validation loss (bench.decode).
The weights are cast in place: the caller's model decodes in that dtype.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tinyweb.dataset.format import prompt_text
from tinyweb.errors import UsageError
from tinyweb.learn.penalty import TextRepetitionPenalty
from tinyweb.learn.precision import PRECISIONS

Progress = Callable[[int], None]  # called with the number of pages just generated (or rendered)
Row = tuple[str, int, float, bool]  # decoded new text, new tokens, seconds, ended with an end-of-text token
BatchDone = Callable[[dict[int, Row]], None]  # told each batch's rows as soon as it is decoded, by prompt index

_CLOSE = re.compile(r"</html\s*>", re.IGNORECASE)
MODES = ("composed", "one-shot")
REPETITION_SCOPES = ("all", "text")
STOP_TAIL = 12  # tokens whose text is searched for </html> after each step (it takes at most 7, plus spaces)


@dataclass(frozen=True)
class Stop:
    """When a row is done: `done` on the decoded text of its last `tail` generated tokens (None: all of them),
    checked after every step."""

    done: Callable[[str], bool]
    tail: int | None = None


PAGE_END = Stop(lambda text: _CLOSE.search(text) is not None, STOP_TAIL)


@dataclass
class GenerateOptions:
    mode: str = field(
        default="composed",
        metadata={
            "help": "composed: the model plans the page, then writes each section; one-shot: the whole page at once.",
            "choices": MODES,
        },
    )
    max_new_tokens: int = field(
        default=1024, metadata={"help": "One-shot: the longest page, in tokens (it may stop at </html>)."}
    )
    section_tokens: int = field(
        default=0,
        metadata={"help": "Composed: the most tokens per section (0: what the run's longest training section took)."},
    )
    plan_tokens: int = field(
        default=0,
        metadata={"help": "Composed: the most tokens of the plan (0: what the run's longest training plan took)."},
    )
    temperature: float = field(default=0.0, metadata={"help": "0: greedy; above: sampling at this temperature."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling (temperature > 0)."})
    seed: int = field(default=0, metadata={"help": "Seed before each sampled batch, so a run is repeatable."})
    repetition_penalty: float = field(
        default=1.1,
        metadata={
            "help": "On generated tokens only (1.0: none): penalising the prompt would push "
            "the model away from the request's words."
        },
    )
    repetition_scope: str = field(
        default="all",
        metadata={
            "help": "What the repetition penalty applies to: all (every generated token) or text (the words of the "
            'page only: markup such as </, class=" and class names must repeat).',
            "choices": REPETITION_SCOPES,
        },
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "The weights' dtype while decoding: bf16 (half the bytes read per token), fp32, or auto "
            "(bf16 on a CPU and on a GPU that has it).",
            "choices": PRECISIONS,
        },
    )
    batch_size: int = 4  # prompts generated together (left-padded)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1 or self.batch_size < 1 or min(self.section_tokens, self.plan_tokens) < 0:
            raise UsageError("max_new_tokens and batch_size must be at least 1, section and plan tokens 0 or more")
        if self.repetition_scope not in REPETITION_SCOPES:
            raise UsageError(f"repetition_scope must be one of {', '.join(REPETITION_SCOPES)}")
        if self.mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.repetition_penalty <= 0:
            raise UsageError("temperature must be ≥ 0, top_p in (0, 1] and repetition_penalty > 0")


@dataclass
class Generated:
    label: str
    raw: str  # the decoded new tokens, special tokens left out
    html: str  # raw cut after its first </html>; raw as is when the page was never closed
    complete: bool  # the page was closed with </html>
    new_tokens: int  # tokens generated, up to the end-of-text token or the end of </html>
    seconds: float  # this page's share of its batch's wall time (batch time / rows in the batch)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cut_html(text: str) -> tuple[str, bool]:
    """The page in generated text: up to and including its first </html>, and whether there was one."""
    match = _CLOSE.search(text)
    if match is None:
        return text, False
    return text[: match.end()], True


def generate_pages(
    model: Any,
    tokenizer: Any,
    labels: list[str],
    options: GenerateOptions | None = None,
    progress: Progress | None = None,
    prefix: str = "",
) -> list[Generated]:
    """One page per request, in the labels' order.

    Args:
        model, tokenizer: a causal LM (a merged or unmerged run, or a base model) and its tokenizer.
        labels: the requests ("A menu page for a bakery …"); each prompt is `prefix + prompt_text(label)`.
        options: decoding options. The repetition penalty applies to generated tokens only: penalising the
            prompt would push the model away from the request's words (and the class names in `prefix`).
        progress: called with the number of pages after each batch.
        prefix: text before the training prompt (evaluate gives the base model the framework's class names).
    """
    options = options or GenerateOptions()
    prompts = [prefix + prompt_text(label) for label in labels]
    decoded = decode_prompts(model, tokenizer, prompts, options, PAGE_END, progress=progress)
    pages = []
    for label, (raw, new_tokens, seconds, _) in zip(labels, decoded, strict=True):
        html, complete = cut_html(raw)
        pages.append(Generated(label, raw, html, complete, new_tokens, seconds))
    return pages


def decode_prompts(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    options: GenerateOptions,
    stop: Stop | None = PAGE_END,
    progress: Progress | None = None,
    batch_done: BatchDone | None = None,
) -> list[Row]:
    """(decoded new text, new tokens, seconds, ended with an end-of-text token) per prompt, in their order:
    batches of similar lengths, left-padded; a row also stops once `stop` says it is done (by default at its
    first </html>).
    `progress` is called with the number of prompts of each batch done, `batch_done` with its rows."""
    if not prompts:
        return []
    model = for_decoding(model, options.precision)
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: lengths[i])  # similar lengths pad less
    results: dict[int, Row] = {}
    for start in range(0, len(order), options.batch_size):
        batch = order[start : start + options.batch_size]
        decoded = _generate_batch(model, tokenizer, [prompts[i] for i in batch], options, stop)
        rows = dict(zip(batch, decoded, strict=True))
        results.update(rows)
        if progress:
            progress(len(batch))
        if batch_done:
            batch_done(rows)
    return [results[i] for i in range(len(prompts))]


def decoding_dtype(precision: str, device: str) -> Any:
    """The weights' dtype for decoding on `device` ("cpu", "cuda", …) at `precision`."""
    import torch

    if precision == "auto":
        bf16 = device == "cpu" or (device == "cuda" and torch.cuda.is_bf16_supported())
        return torch.bfloat16 if bf16 else torch.float32
    return torch.bfloat16 if precision == "bf16" else torch.float32


def for_decoding(model: Any, precision: str) -> Any:
    """The model with its floating-point weights in the decoding dtype (cast in place, once)."""
    dtype = decoding_dtype(precision, model.device.type)
    if model.dtype != dtype:
        model.to(dtype)
    return model


def _criterion(tokenizer: Any, width: int, stop: Stop) -> Any:
    """A stopping criterion: a row is done once `stop` says so of its generated text."""
    import torch
    from transformers import StoppingCriteria

    class Done(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            start = width if stop.tail is None else max(width, input_ids.shape[1] - stop.tail)
            texts = tokenizer.batch_decode(input_ids[:, start:].tolist(), skip_special_tokens=True)
            return torch.tensor([stop.done(t) for t in texts], device=input_ids.device)

    return Done()


def _end_ids(model: Any, tokenizer: Any) -> list[int]:
    """Token ids that end a page: the tokenizer's end-of-text token and the model's generation config's."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def _generate_batch(
    model: Any, tokenizer: Any, prompts: list[str], options: GenerateOptions, stop: Stop | None
) -> list[Row]:
    """(decoded new text, new token count, seconds, ended with end-of-text) per prompt of one left-padded batch."""
    import torch
    from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor, StoppingCriteriaList

    end_ids = _end_ids(model, tokenizer)
    if tokenizer.pad_token is None:  # a batch needs padding; the end-of-text token is the usual stand-in
        tokenizer.pad_token = tokenizer.eos_token
    pad_id = tokenizer.pad_token_id
    enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    width = enc["input_ids"].shape[1]
    processors = LogitsProcessorList()
    if options.repetition_penalty != 1.0 and options.repetition_scope == "text":
        processors.append(TextRepetitionPenalty(tokenizer, options.repetition_penalty, width))
    elif options.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(options.repetition_penalty, prompt_ignore_length=width))
    sampling: dict[str, Any] = {"do_sample": False}
    if options.temperature > 0:
        torch.manual_seed(options.seed)
        sampling = {"do_sample": True, "temperature": options.temperature, "top_p": options.top_p, "top_k": 0}
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **enc,
            max_new_tokens=options.max_new_tokens,
            logits_processor=processors,
            eos_token_id=end_ids,
            pad_token_id=pad_id,
            stopping_criteria=StoppingCriteriaList([_criterion(tokenizer, width, stop)] if stop else []),
            **sampling,
        )
    seconds = (time.perf_counter() - started) / len(prompts)
    rows = []
    for row in out[:, width:].tolist():
        # After a row stops, generate fills it with padding (SmolLM2's pad token is its end-of-text token).
        stops = [k for k, token in enumerate(row) if token in end_ids or token == pad_id]
        n = stops[0] if stops else len(row)
        rows.append((tokenizer.decode(row[:n], skip_special_tokens=True), n, seconds, bool(stops)))
    return rows
