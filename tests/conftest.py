"""Shared fixtures: real servers on 127.0.0.1, real Chromium, the shared corpus."""

from __future__ import annotations

import asyncio
import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from aiohttp import web

from tinyweb.capture.browser import Browser, BrowserOptions
from tinyweb.capture.responsive import DEFAULT_VIEWPORTS
from tinyweb.fidelity import Fidelity, measure, measure_widths
from tinyweb.staticserver import StaticServer

TESTS = Path(__file__).parent
FIXTURES = TESTS / "data" / "fixtures"
CORPUS = TESTS.parent.parent / "shared" / "corpus"
FONT_DIR = Path("/usr/share/fonts/truetype/liberation")
# Fixture fonts are copied from Debian's fonts-liberation (installed with Chromium by `make`).
FIXTURE_FONTS = {"display.ttf": "LiberationSansNarrow-Italic.ttf", "icons.ttf": "LiberationMono-Bold.ttf"}
CORPUS_SAMPLE_PER_SOURCE = 3
CORPUS_SAMPLE_MAX_BYTES = 40_000  # keeps the shared sample quick to render twice


def fixture_headers(path: str) -> dict[str, str]:
    """Response headers of the fixture server: the Trusted Types page gets its strict policy."""
    if path.endswith("trusted-types.html"):
        policy = "require-trusted-types-for 'script'; trusted-types 'none'; script-src 'self'"
        return {"Content-Security-Policy": policy}
    return {}


SLOW_SECONDS = 20


async def slow_page(request: web.Request) -> web.Response:
    """A page that answers only after SLOW_SECONDS, for timeouts."""
    await asyncio.sleep(SLOW_SECONDS)
    return web.Response(text="<html><body>late</body></html>", content_type="text/html")


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory: pytest.TempPathFactory):
    """The fixture pages of tests/data/fixtures, served on loopback, with their fonts."""
    root = tmp_path_factory.mktemp("fixtures")
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
    (root / "fonts").mkdir()
    for name, source in FIXTURE_FONTS.items():
        shutil.copy(FONT_DIR / source, root / "fonts" / name)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    with StaticServer(root, headers=fixture_headers, routes=[web.get("/slow", slow_page)]) as server:
        yield server


@pytest.fixture(scope="session")
def corpus_site():
    if not (CORPUS / "pages.tsv").is_file():
        pytest.fail(f"the shared corpus is missing at {CORPUS}")
    with StaticServer(CORPUS) as server:
        yield server


def corpus_sample() -> list[dict[str, str]]:
    """A fixed sample: 3 pages from each source of the corpus, spread over its sorted ids."""
    with (CORPUS / "pages.tsv").open(encoding="utf-8") as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    by_source: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if int(row["bytes"]) <= CORPUS_SAMPLE_MAX_BYTES:
            by_source[row["source"]].append(row)
    sample = []
    for source in sorted(by_source):
        pages = sorted(by_source[source], key=lambda r: r["id"])
        step = max(1, len(pages) // CORPUS_SAMPLE_PER_SOURCE)
        sample += pages[::step][:CORPUS_SAMPLE_PER_SOURCE]
    return sample


def run(coro):
    return asyncio.run(coro)


async def measure_all(base_url: str, paths: list[str], **options) -> dict[str, Fidelity]:
    async with Browser(BrowserOptions(block_external=True, **options)) as browser:
        return {path: await measure(browser, base_url + path) for path in paths}


async def measure_all_widths(base_url: str, paths: list[str]) -> dict[str, list[Fidelity]]:
    async with Browser(BrowserOptions(viewport=DEFAULT_VIEWPORTS[0], block_external=True)) as browser:
        return {path: await measure_widths(browser, base_url + path, list(DEFAULT_VIEWPORTS)) for path in paths}


@pytest.fixture(scope="session")
def corpus_widths(corpus_site) -> dict[str, list[Fidelity]]:
    """Capture the corpus sample once per test run, responsively (desktop and phone widths), compared with
    the live page at each width kept; every test that needs captures shares it."""
    paths = [row["path"] for row in corpus_sample()]
    return run(measure_all_widths(corpus_site.url, paths))


@pytest.fixture(scope="session")
def corpus_fidelity(corpus_widths) -> dict[str, Fidelity]:
    """The corpus sample's fidelity at the desktop width."""
    return {path: fids[0] for path, fids in corpus_widths.items()}


@pytest.fixture(scope="session")
def demo_site():
    from tinyweb.demo import SITE

    with StaticServer(SITE) as server:
        yield server


@pytest.fixture(scope="session")
def demo_store(demo_site, tmp_path_factory):
    """The example site, crawled once with real Chromium (with the prototype-format text)."""
    from tinyweb.capture.crawler import Crawler, CrawlOptions
    from tinyweb.store import Store

    store = Store(tmp_path_factory.mktemp("demo-data"))
    options = CrawlOptions(max_pages=40, max_depth=3, delay_s=0, block_external=True, seed_format="text")
    run(Crawler(store, options).crawl([demo_site.url]))
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_build(demo_store, tmp_path_factory):
    """The whole build of the example site (clean → … → prompts), no page left out for length."""
    from tinyweb.pipeline import BuildOptions, build

    out = tmp_path_factory.mktemp("build")
    summary = build(demo_store, out, BuildOptions.of(max_tokens=0, num_proc=2))
    return out, summary


def tiny_llama(tok, folder: Path | None = None, **overrides):
    """A random Llama small enough to train in milliseconds, for `tok`'s vocabulary; saved with the tokenizer
    like a real model folder when `folder` is given. Real model code, random weights (seed 0)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = {
        "vocab_size": len(tok),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
    }
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**(settings | overrides)))
    if folder is not None:
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
    return model
