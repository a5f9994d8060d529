"""Crawler mode: headless Chromium runs the same capture script over a seed list, breadth-first.

robots.txt and a per-host delay are respected by default; URLs are de-duplicated in normalised form; the
frontier lives in the store, so an interrupted crawl resumes where it stopped when run again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from playwright.async_api import Page

from tinyweb.capture.browser import Browser, BrowserOptions, capture_url
from tinyweb.capture.responsive import DEFAULT_VIEWPORTS
from tinyweb.errors import CaptureError, UsageError
from tinyweb.snapshot import Viewport
from tinyweb.store import Store
from tinyweb.urls import is_http_url, normalize_url, same_site

USER_AGENT_TOKEN = "tinyweb"
# Links to these are not pages: skipped without a visit.
NON_HTML_SUFFIXES = (
    ".pdf",
    ".zip",
    ".gz",
    ".tar",
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".svg",
    ".ico",
    ".mp4",
    ".webm",
    ".mp3",
    ".wav",
    ".css",
    ".js",
    ".json",
    ".xml",
    ".txt",
    ".woff",
    ".woff2",
    ".ttf",
    ".dmg",
    ".exe",
    ".csv",
)

LINKS_JS = "() => Array.from(document.links, (a) => a.href)"


def viewports_field() -> Any:
    """The widths to capture, widest first (the page is captured there, then at each narrower one)."""
    return field(
        default=DEFAULT_VIEWPORTS,
        metadata={
            "help": "Viewport WxH; give it several times to capture each width (the widest holds the inline "
            "styles, the others become @media rules). One --viewport captures one width.",
            "flag": "--viewport",
            "multiple": Viewport.parse_all,
        },
    )


def seed_format_field() -> Any:
    """ "size" (the prototype format's size only) or "text" (its text too)."""
    return field(
        default="size",
        metadata={
            "help": "Keep the prototype-format text, not only its size.",
            "flag": "--seed-format-text",
            "flag_value": "text",
        },
    )


@dataclass
class CrawlOptions:
    max_pages: int = field(default=50, metadata={"help": "Pages to visit in this crawl, in all."})
    max_per_domain: int = field(default=0, metadata={"help": "Pages per host (0: no limit)."})
    max_depth: int = field(default=2, metadata={"help": "Link depth from the seeds."})
    same_site: bool = field(
        default=True,
        metadata={"help": "Follow links only within each seed's site, or anywhere.", "flag": "--same-site/--external"},
    )
    concurrency: int = field(default=2, metadata={"help": "Pages captured at once."})
    respect_robots: bool = field(
        default=True, metadata={"help": "Read robots.txt (or not).", "flag": "--respect-robots/--ignore-robots"}
    )
    delay_s: float = field(default=0.5, metadata={"help": "Seconds between requests to one host.", "flag": "--delay"})
    page_timeout_s: float = field(
        default=30.0, metadata={"help": "Per-page load timeout in seconds.", "flag": "--timeout"}
    )
    # Widest first: the page is loaded at the first, captured there, then at each narrower width (@media rules).
    viewports: tuple[Viewport, ...] = viewports_field()
    block_external: bool = field(
        default=False, metadata={"help": "Abort every request that leaves 127.0.0.1/localhost."}
    )
    seed_format: str = seed_format_field()


@dataclass
class SeedError:
    line_no: int
    line: str
    reason: str


@dataclass
class CrawlSummary:
    crawl_id: str
    captured: int = 0
    duplicates: int = 0
    failed: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    snapshot_ids: list[str] = field(default_factory=list)

    @property
    def visited(self) -> int:
        return self.captured + self.duplicates + sum(self.failed.values())


def read_seeds(path: Path) -> tuple[list[str], list[SeedError]]:
    """Seed URLs from a file: one per line, `#` comments and blank lines ignored; bad lines reported."""
    seeds, errors = [], []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if is_http_url(line) and " " not in line:
            seeds.append(line)
        else:
            errors.append(SeedError(number, line, "not an http(s) URL"))
    return seeds, errors


def crawl_id_for(seeds: list[str], options: CrawlOptions) -> str:
    """The same seeds and scope make the same crawl, which is what resuming means."""
    scope = {
        "seeds": sorted(normalize_url(s) for s in seeds),
        "depth": options.max_depth,
        "same_site": options.same_site,
    }
    return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:16]


class HostGate:
    """Per-host politeness: at most one request to a host every `delay_s` seconds."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, url: str) -> None:
        host = urlsplit(url).netloc
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + self.delay_s
        if start > now:
            await asyncio.sleep(start - now)


class Robots:
    """robots.txt per origin, fetched once through the browser context (same proxy, same UA)."""

    def __init__(self, browser: Browser, agent: str):
        self.browser = browser
        self.agent = agent
        self._parsers: dict[str, RobotFileParser | None] = {}

    async def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._parsers:
            self._parsers[origin] = await self._fetch(origin)
        parser = self._parsers[origin]
        return parser is None or parser.can_fetch(self.agent, url)

    async def _fetch(self, origin: str) -> RobotFileParser | None:
        assert self.browser.context is not None
        try:
            response = await self.browser.context.request.get(urljoin(origin, "/robots.txt"), timeout=10_000)
        except Exception:  # unreachable host: the page visit reports it
            return None
        if response.status >= 400:
            return None  # no robots.txt: everything is allowed
        parser = RobotFileParser()
        parser.parse((await response.text()).splitlines())
        return parser


ProgressHook = Callable[[str, str, CrawlSummary], None]


class Crawler:
    def __init__(self, store: Store, options: CrawlOptions, progress: ProgressHook | None = None):
        self.store = store
        self.options = options
        self.progress = progress or (lambda url, outcome, summary: None)

    async def crawl(self, seeds: list[str]) -> CrawlSummary:
        if not seeds:
            raise UsageError("no seed URLs: give URLs or --seeds-file")
        opts = self.options
        crawl_id = crawl_id_for(seeds, opts)
        summary = CrawlSummary(crawl_id=crawl_id)
        started = time.monotonic()
        for seed in seeds:
            self.store.enqueue(crawl_id, seed, 0)
        done = self.store.crawl_pages(crawl_id)
        per_domain = Counter(urlsplit(p.url).hostname for p in done if p.state in ("done", "failed"))
        visited = sum(per_domain.values())
        browser_opts = BrowserOptions(viewport=opts.viewports[0], block_external=opts.block_external)
        async with Browser(browser_opts) as browser:
            robots = Robots(browser, USER_AGENT_TOKEN)
            gate = HostGate(opts.delay_s)
            in_flight: set[str] = set()
            lock = asyncio.Lock()

            async def claim():
                nonlocal visited
                async with lock:
                    while visited < opts.max_pages:
                        pages = self.store.next_queued(crawl_id, 20, in_flight)
                        if not pages:
                            return None
                        for page in pages:
                            host = urlsplit(page.url).hostname
                            if opts.max_per_domain and per_domain[host] >= opts.max_per_domain:
                                self._finish(crawl_id, page.url, "skipped", "max_per_domain", summary)
                                continue
                            per_domain[host] += 1
                            visited += 1
                            in_flight.add(normalize_url(page.url))
                            return page
                    return None

            async def worker() -> None:
                tab = await browser.new_page()
                try:
                    while True:
                        page = await claim()
                        if page is None:
                            if not in_flight:
                                return
                            await asyncio.sleep(0.05)  # others may still discover links
                            continue
                        try:
                            await self._visit(tab, page.url, page.depth, crawl_id, robots, gate, summary)
                        finally:
                            in_flight.discard(normalize_url(page.url))
                finally:
                    await tab.close()

            await asyncio.gather(*(worker() for _ in range(max(1, opts.concurrency))))
        summary.seconds = time.monotonic() - started
        return summary

    async def _visit(
        self, tab: Page, url: str, depth: int, crawl_id: str, robots: Robots, gate: HostGate, summary: CrawlSummary
    ) -> None:
        opts = self.options
        if opts.respect_robots and not await robots.allowed(url):
            self._finish(crawl_id, url, "skipped", "robots_txt", summary)
            return
        await gate.wait(url)
        try:
            snap = await asyncio.wait_for(
                capture_url(
                    tab, url, timeout_s=opts.page_timeout_s, viewports=opts.viewports, seedFormat=opts.seed_format
                ),
                timeout=opts.page_timeout_s * 2,
            )
        except (TimeoutError, CaptureError) as exc:
            reason = exc.reason if isinstance(exc, CaptureError) else "timeout"
            detail = str(exc) or "the capture did not finish in time"
            self.store.record_failure(url, reason, detail)
            self._finish(crawl_id, url, "failed", reason, summary)
            return
        snapshot_id, created = await asyncio.to_thread(self.store.add, snap)
        if created:
            summary.captured += 1
        else:
            summary.duplicates += 1
        summary.snapshot_ids.append(snapshot_id)
        self.store.finish_page(crawl_id, url, "done", None, snapshot_id)
        self.progress(url, "captured" if created else "duplicate", summary)
        if depth < opts.max_depth:
            for link in await tab.evaluate(LINKS_JS):
                if self._follow(snap.url, link):
                    self.store.enqueue(crawl_id, link.split("#")[0], depth + 1)

    def _follow(self, page_url: str, link: str) -> bool:
        if not is_http_url(link):
            return False
        if urlsplit(link).path.lower().endswith(NON_HTML_SUFFIXES):
            return False
        return same_site(page_url, link) or not self.options.same_site

    def _finish(self, crawl_id: str, url: str, state: str, reason: str, summary: CrawlSummary) -> None:
        self.store.finish_page(crawl_id, url, state, reason)
        (summary.failed if state == "failed" else summary.skipped)[reason] += 1
        self.progress(url, f"{state}: {reason}", summary)


def crawl(store: Store, seeds: list[str], options: CrawlOptions, progress: ProgressHook | None = None) -> CrawlSummary:
    """Crawl `seeds` into `store` (the library entry point; the CLI wraps it)."""
    return asyncio.run(Crawler(store, options, progress).crawl(seeds))
