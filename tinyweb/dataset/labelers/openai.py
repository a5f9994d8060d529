"""The `openai` labeller: asks any OpenAI-compatible `/v1/chat/completions` endpoint (OpenAI, vLLM, llama.cpp,
Ollama, LM Studio, …) for each page's label, a few pages at a time, retrying what a busy server gets wrong."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from tinyweb.dataset.labelers.base import SYSTEM_PROMPT, LabelFailure, LabelInput, Progress, page_brief, tidy_label
from tinyweb.errors import UsageError

ENDPOINT_PATH = "/chat/completions"
MAX_RETRY_DELAY = 30.0  # seconds; a Retry-After of minutes would stall the whole build, so wait at most this
DETAIL_CHARS = 200  # how much of an error body a LabelFailure keeps: enough to read the server's message
Attempt = tuple[str | LabelFailure, bool, float | None]  # result, worth retrying, Retry-After seconds
# Reasoning models answer "<think>…</think> label": the label is what follows the thinking.
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def chat_endpoint(url: str) -> tuple[str, str]:
    """The (base, endpoint) of an OpenAI-compatible server given its base, its /v1 or its chat-completions URL.

    Raises:
        UsageError: the URL is not http(s)://host….
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"bad labeller URL {url!r}: give an http(s) URL such as http://127.0.0.1:8080/v1")
    path = parts.path.rstrip("/")
    if path.endswith(ENDPOINT_PATH):
        path = path.removesuffix(ENDPOINT_PATH)
    elif not path.endswith("/v1"):
        path += "/v1"
    base = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))
    endpoint = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path + ENDPOINT_PATH, parts.query, ""))
    return base, endpoint


def excerpt(body: bytes | str) -> str:
    """The start of a response body on one line, for a failure's detail."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return " ".join(text.split())[:DETAIL_CHARS]


def parse_answer(body: bytes) -> str | LabelFailure:
    """The label in a chat-completion response: choices[0].message.content, tidied."""
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError) as exc:
        return LabelFailure("bad_response", f"{type(exc).__name__} reading {excerpt(body)!r}")
    if not isinstance(content, str):
        return LabelFailure("bad_response", f"message.content is not text in {excerpt(body)!r}")
    return tidy_label(_THINKING.sub("", content))


def retry_after(value: str | None) -> float | None:
    """A numeric Retry-After header in seconds; None when absent or an HTTP date."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class OpenAILabeler:
    """Labels pages with a chat model behind an OpenAI-compatible HTTP API.

    Args:
        url: the server's base (http://127.0.0.1:8080), its /v1, or the full …/v1/chat/completions URL.
        model: the model name the server is asked for (local servers often ignore it).
        api_key_env: the environment variable holding the API key; unset means no Authorization header.
        timeout: seconds one request may take, connecting included.
        retries: how many more times a request is tried after a 429, a 5xx, a timeout or a lost connection.
        concurrency: how many requests are in flight at once.
        temperature, max_tokens: sent with every request.
        backoff: seconds before the first retry; doubled for each further one, with jitter.
    """

    name = "openai"

    def __init__(
        self,
        url: str,
        model: str = "default",
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 3,
        concurrency: int = 4,
        temperature: float = 0.2,
        max_tokens: int = 80,
        backoff: float = 0.5,
    ):
        if timeout <= 0 or retries < 0 or concurrency < 1 or backoff < 0:
            raise UsageError("openai labeller: timeout must be > 0, retries ≥ 0, concurrency ≥ 1 and backoff ≥ 0")
        self.base_url, self.endpoint = chat_endpoint(url)
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self.concurrency = concurrency
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.backoff = backoff
        self.max_retry_delay = MAX_RETRY_DELAY
        self.retries_made = 0  # over this labeller's life, for the stage's report
        prompt_hash = hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:8]
        self.version = f"openai/{model}@{self.base_url}/p{prompt_hash}"

    def label(self, pages: list[LabelInput], progress: Progress | None = None) -> list[str | LabelFailure]:
        """One label or LabelFailure per page, in the pages' order; `progress(1)` as each page finishes."""
        if not pages:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: no loop in this thread, so run one
            return asyncio.run(self._label_all(pages, progress))
        # Called from inside a running loop (a notebook, a server): asyncio.run needs a thread of its own.
        with ThreadPoolExecutor(1, thread_name_prefix="tinyweb-openai") as pool:
            return pool.submit(asyncio.run, self._label_all(pages, progress)).result()

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env, "").strip()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _request(self, page: LabelInput) -> dict[str, object]:
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": page_brief(page)},
            ],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    async def _label_all(self, pages: list[LabelInput], progress: Progress | None) -> list[str | LabelFailure]:
        semaphore = asyncio.Semaphore(self.concurrency)
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self._headers()) as session:

            async def one(page: LabelInput) -> str | LabelFailure:
                result = await self._label_page(session, semaphore, page)
                if progress:
                    progress(1)
                return result

            return list(await asyncio.gather(*(one(page) for page in pages)))

    async def _label_page(
        self, session: aiohttp.ClientSession, semaphore: asyncio.Semaphore, page: LabelInput
    ) -> str | LabelFailure:
        """Ask for one page's label, retrying what may pass on a second try; the slot is free while waiting."""
        body = self._request(page)
        for attempt in range(self.retries + 1):
            async with semaphore:
                result, retryable, wait = await self._post(session, body)
            if not retryable or attempt == self.retries:
                break
            self.retries_made += 1
            await asyncio.sleep(self._delay(attempt, wait))
        if isinstance(result, LabelFailure) and attempt:
            result.detail = f"{result.detail} (after {attempt + 1} tries)"
        return result

    def _delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Seconds before retry number attempt+1: the server's Retry-After if it gave one, else exponential."""
        if retry_after_s is None:
            retry_after_s = self.backoff * 2**attempt * random.uniform(0.5, 1.5)
        return min(retry_after_s, self.max_retry_delay)

    async def _post(self, session: aiohttp.ClientSession, body: dict[str, object]) -> Attempt:
        """One request: its result, whether trying again may help, and the server's Retry-After."""
        try:
            async with session.post(self.endpoint, json=body) as response:
                data = await response.read()
                status = response.status
                wait = retry_after(response.headers.get("Retry-After"))
        except TimeoutError:  # before ClientError: aiohttp's timeouts are both
            return LabelFailure("timeout", f"no answer from {self.endpoint} within {self.timeout:g} s"), True, None
        except aiohttp.ClientError as exc:
            return LabelFailure("connection", f"{self.endpoint}: {type(exc).__name__}: {exc}"), True, None
        if 200 <= status < 300:
            return parse_answer(data), False, None
        return LabelFailure(f"http_{status}", excerpt(data)), status == 429 or status >= 500, wait
