"""Benchmark tinyweb's capture against SingleFile's CLI on the same pages.

Run from the repository root: `python -m bench.capture [--pages N] [--out bench/results]`. Prints a per-page
table and a summary, and writes capture.json (every figure) and capture.png (a bar chart) into --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from bench import singlefile
from bench.chart import Panel, write_chart
from bench.pages import BLANK_PATH, CORPUS, BenchPage, read_corpus, select_pages, write_synthetic_site
from tinyweb.capture.browser import Browser, BrowserOptions, capture_url, chromium_path
from tinyweb.errors import TinywebError
from tinyweb.fidelity import decode_png, measure, pixel_share, render_snapshot, screenshot
from tinyweb.staticserver import StaticServer

GOAL_CAPTURE_MS = 150
GOAL_SECONDS_RATIO = 1 / 4
FAILURES = (TinywebError, PlaywrightError)


@dataclass
class ToolFigures:
    """What one tool did on one page: end-to-end seconds, output bytes, pixel fidelity, or why it failed."""

    seconds: float | None = None
    bytes: int | None = None
    fidelity: float | None = None
    error: str | None = None
    retried: list[str] = field(default_factory=list)  # errors of failed attempts before the one measured


@dataclass
class PageFigures:
    """Both tools on one page, plus tinyweb's own statistics of its capture."""

    id: str
    source: str
    url: str
    elements: int | None = None
    capture_ms: float | None = None
    seed_format_ms: float | None = None
    raw_html_bytes: int | None = None
    seed_format_bytes: int | None = None
    # The same capture in a fresh tab (a new renderer process, as after a cross-site navigation).
    fresh_seconds: float | None = None
    fresh_capture_ms: float | None = None
    tinyweb: ToolFigures = field(default_factory=ToolFigures)
    singlefile: ToolFigures = field(default_factory=ToolFigures)

    @property
    def styled_ratio(self) -> float | None:
        """Snapshot bytes over the page's own HTML bytes."""
        if self.tinyweb.bytes is None or not self.raw_html_bytes:
            return None
        return self.tinyweb.bytes / self.raw_html_bytes

    @property
    def seconds_ratio(self) -> float | None:
        """tinyweb's end-to-end time over SingleFile's."""
        if self.tinyweb.seconds is None or not self.singlefile.seconds:
            return None
        return self.tinyweb.seconds / self.singlefile.seconds


# --- measuring ---------------------------------------------------------------------------------------


async def time_tinyweb(tab: Page, figures: PageFigures) -> None:
    """End to end as the crawler does it, in its tab of the running browser: load the next URL, settle,
    capture."""
    start = time.perf_counter()
    try:
        snap = await capture_url(tab, figures.url)
        figures.tinyweb.seconds = time.perf_counter() - start
    except FAILURES as exc:
        figures.tinyweb.error = f"capture: {exc}"
        return
    figures.tinyweb.bytes = len(snap.html.encode("utf-8"))
    figures.capture_ms = snap.stats.capture_ms
    figures.seed_format_ms = snap.stats.seed_format_ms
    figures.elements = snap.stats.element_count
    figures.raw_html_bytes = snap.stats.raw_html_bytes
    figures.seed_format_bytes = snap.stats.seed_format_bytes


async def time_fresh_tab(browser: Browser, figures: PageFigures) -> None:
    """The same capture in a new tab of a second running browser that has no other tab open: the page gets
    a new renderer process, as a page of another site does after a cross-site navigation (the crawler's tab
    keeps its renderer from one page of a site to the next). A failure leaves the figures empty."""
    start = time.perf_counter()
    try:
        tab = await browser.new_page()
        try:
            snap = await capture_url(tab, figures.url)
            figures.fresh_seconds = time.perf_counter() - start
            figures.fresh_capture_ms = snap.stats.capture_ms
        finally:
            await tab.close()
    except FAILURES:
        return


async def time_singlefile(figures: PageFigures, workdir: Path) -> Path | None:
    """The whole SingleFile process on the page (Chromium start included); returns the file it wrote.

    The time is that of the attempt that wrote the file; failed attempts before it are listed, not timed.
    """
    run = await singlefile.capture(figures.url, workdir / f"{figures.id}.html")
    figures.singlefile.retried = run.earlier_errors
    if run.output is None:
        figures.singlefile.error = run.error
        return None
    figures.singlefile.seconds = run.seconds
    figures.singlefile.bytes = run.output.stat().st_size
    return run.output


async def render_share(browser: Browser, html: str, origin_url: str, live_png: bytes) -> float:
    """Render `html` from the page's origin like a tinyweb snapshot and score it against the live screenshot."""
    page = await browser.new_page()
    try:
        await render_snapshot(page, html, origin_url)
        png = await screenshot(page)
    finally:
        await page.close()
    return pixel_share(decode_png(live_png), decode_png(png))


async def score(browser: Browser, figures: PageFigures, singlefile_html: Path | None) -> None:
    """Pixel fidelity of both outputs against the same live screenshot, the one tinyweb's measure() takes."""
    try:
        fidelity = await measure(browser, figures.url)
    except FAILURES as exc:
        figures.tinyweb.error = figures.tinyweb.error or f"fidelity: {exc}"
        return
    figures.tinyweb.fidelity = fidelity.pixel_share
    if singlefile_html is None:
        return
    html = singlefile_html.read_text(encoding="utf-8", errors="replace")
    try:
        figures.singlefile.fidelity = await render_share(browser, html, figures.url, fidelity.live_png)
    except FAILURES as exc:
        figures.singlefile.error = f"fidelity: {exc}"


async def bench_page(
    browser: Browser, tab: Page, fresh: Browser, page: BenchPage, url: str, workdir: Path
) -> PageFigures:
    """Time tinyweb, then SingleFile, then score both; a failure of either is recorded on the figures."""
    figures = PageFigures(id=page.id, source=page.source, url=url)
    await time_tinyweb(tab, figures)
    await time_fresh_tab(fresh, figures)
    output = await time_singlefile(figures, workdir)
    await score(browser, figures, output)
    if output is not None:
        output.unlink()
    return figures


async def run_all(targets: list[tuple[BenchPage, str]], warm_up_url: str, workdir: Path) -> list[PageFigures]:
    """Warm both tools up on a blank page (not counted), then benchmark every (page, url) in turn."""
    results = []
    options = BrowserOptions(block_external=True)
    async with Browser(options) as browser, Browser(options) as fresh:
        tab = await browser.new_page()
        await time_tinyweb(tab, PageFigures(id="warm-up", source="", url=warm_up_url))
        await time_fresh_tab(fresh, PageFigures(id="warm-up", source="", url=warm_up_url))
        await singlefile.capture(warm_up_url, workdir / "warm-up.html")
        for number, (page, url) in enumerate(targets, 1):
            figures = await bench_page(browser, tab, fresh, page, url, workdir)
            print(f"[{number}/{len(targets)}] {progress_line(figures)}", flush=True)
            results.append(figures)
    return results


def benchmark(count: int) -> list[PageFigures]:
    """Serve the corpus and the generated pages on loopback and benchmark `count` corpus pages plus those."""
    pages = select_pages(read_corpus(), count)
    with tempfile.TemporaryDirectory(prefix="tinyweb-bench-") as tmp:
        synthetic_root, workdir = Path(tmp, "site"), Path(tmp, "out")
        synthetic_root.mkdir()
        workdir.mkdir()
        synthetic = write_synthetic_site(synthetic_root)
        with StaticServer(CORPUS) as corpus_server, StaticServer(synthetic_root) as synthetic_server:
            targets = [(page, corpus_server.url + page.path) for page in pages]
            targets += [(page, synthetic_server.url + page.path) for page in synthetic]
            return asyncio.run(run_all(targets, synthetic_server.url + BLANK_PATH, workdir))


# --- summarising and reporting -------------------------------------------------------------------------


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None, or None when there are none."""
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def tool_summary(results: list[PageFigures], tool: str) -> dict:
    """Medians, the worst fidelity and its page, and the failed pages of one tool ("tinyweb" or "singlefile")."""
    figures = [(result.id, getattr(result, tool)) for result in results]
    scored = [(tool_figures.fidelity, page) for page, tool_figures in figures if tool_figures.fidelity is not None]
    worst = min(scored, default=(None, None))
    return {
        "seconds_median": median(tool_figures.seconds for _, tool_figures in figures),
        "bytes_median": median(tool_figures.bytes for _, tool_figures in figures),
        "fidelity_median": median(tool_figures.fidelity for _, tool_figures in figures),
        "fidelity_worst": worst[0],
        "fidelity_worst_page": worst[1],
        "failures": {page: tool_figures.error for page, tool_figures in figures if tool_figures.error},
        "retried": {page: tool_figures.retried for page, tool_figures in figures if tool_figures.retried},
    }


def summarise(results: list[PageFigures]) -> dict:
    """The summary over the corpus pages only; the generated pages are reported on their own rows."""
    corpus = [result for result in results if result.source != "synthetic"]
    tinyweb, other = tool_summary(corpus, "tinyweb"), tool_summary(corpus, "singlefile")
    capture_ms = median(result.capture_ms for result in corpus)
    ratio = None
    if tinyweb["seconds_median"] is not None and other["seconds_median"]:
        ratio = tinyweb["seconds_median"] / other["seconds_median"]
    return {
        "pages": len(corpus),
        "capture_ms_median": capture_ms,
        "seed_format_ms_median": median(result.seed_format_ms for result in corpus),
        "capture_ms_goal_met": capture_ms is not None and capture_ms <= GOAL_CAPTURE_MS,
        "seconds_ratio": ratio,
        "seconds_ratio_goal_met": ratio is not None and ratio <= GOAL_SECONDS_RATIO,
        "styled_ratio_median": median(result.styled_ratio for result in corpus),
        "fresh_tab": {
            "seconds_median": median(result.fresh_seconds for result in corpus),
            "capture_ms_median": median(result.fresh_capture_ms for result in corpus),
            "seconds_ratio": ratio_of(median(result.fresh_seconds for result in corpus), other["seconds_median"]),
        },
        "tinyweb": tinyweb,
        "singlefile": other,
    }


def ratio_of(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def cell(value: float | None, spec: str, width: int) -> str:
    """One right-aligned table cell; "-" for a missing value."""
    return (format(value, spec) if value is not None else "-").rjust(width)


TABLE_HEADER = (
    f"{'page':<44} {'elems':>6} {'cap ms':>7} {'tw s':>6} {'SF s':>6} {'tw/SF':>6} "
    f"{'tw KB':>7} {'SF KB':>7} {'tw/raw':>6} {'tw fid':>7} {'SF fid':>7}"
)


def table_row(result: PageFigures) -> str:
    """One page's figures as a table row (KB are 1000 bytes, fidelity in % of pixels)."""
    tinyweb, other = result.tinyweb, result.singlefile
    kilobytes = [None if tool.bytes is None else tool.bytes / 1000 for tool in (tinyweb, other)]
    percents = [None if tool.fidelity is None else tool.fidelity * 100 for tool in (tinyweb, other)]
    return " ".join(
        [
            result.id[:44].ljust(44),
            cell(result.elements, "d", 6),
            cell(result.capture_ms, ".0f", 7),
            cell(tinyweb.seconds, ".2f", 6),
            cell(other.seconds, ".2f", 6),
            cell(result.seconds_ratio, ".2f", 6),
            cell(kilobytes[0], ".1f", 7),
            cell(kilobytes[1], ".1f", 7),
            cell(result.styled_ratio, ".2f", 6),
            cell(percents[0], ".2f", 7),
            cell(percents[1], ".2f", 7),
        ]
    )


def format_table(results: list[PageFigures]) -> str:
    """Corpus rows, then the generated pages' rows, then any failure messages."""
    lines = [TABLE_HEADER, "-" * len(TABLE_HEADER)]
    lines += [table_row(result) for result in results if result.source != "synthetic"]
    lines += ["-" * len(TABLE_HEADER), *(table_row(result) for result in results if result.source == "synthetic")]
    for result in results:
        for name, tool in (("tinyweb", result.tinyweb), ("SingleFile", result.singlefile)):
            lines += [f"  {name} needed another try on {result.id}: {error}" for error in tool.retried]
            if tool.error:
                lines.append(f"  {name} failed on {result.id}: {tool.error}")
    return "\n".join(lines)


def goal(met: bool) -> str:
    """How the summary marks a goal."""
    return "met" if met else "MISSED"


def format_summary(summary: dict) -> str:
    """The medians and worst cases of both tools side by side, with the goals."""
    tinyweb, other, fresh = summary["tinyweb"], summary["singlefile"], summary["fresh_tab"]

    def pair(key: str, spec: str, scale: float = 1) -> str:
        values = [None if tool[key] is None else tool[key] * scale for tool in (tinyweb, other)]
        return cell(values[0], spec, 12) + cell(values[1], spec, 12)

    return "\n".join(
        [
            f"Summary over {summary['pages']} corpus pages (generated pages not included)",
            f"{'':34}{'tinyweb':>12}{'SingleFile':>12}",
            f"{'end to end, median (s)':34}{pair('seconds_median', '.2f')}"
            f"   tinyweb/SingleFile {cell(summary['seconds_ratio'], '.2f', 0)}"
            f" (goal <= 0.25: {goal(summary['seconds_ratio_goal_met'])})",
            f"{'in-page capture, median (ms)':34}{cell(summary['capture_ms_median'], '.0f', 12)}{'':12}"
            f"   (goal <= {GOAL_CAPTURE_MS}: {goal(summary['capture_ms_goal_met'])})",
            f"{'  + prototype-format measure (ms)':34}{cell(summary['seed_format_ms_median'], '.0f', 12)}",
            f"{'in a fresh tab per page:':34}",
            f"{'  end to end, median (s)':34}{cell(fresh['seconds_median'], '.2f', 12)}{'':12}"
            f"   tinyweb/SingleFile {cell(fresh['seconds_ratio'], '.2f', 0)}",
            f"{'  in-page capture, median (ms)':34}{cell(fresh['capture_ms_median'], '.0f', 12)}",
            f"{'pixel fidelity, median (%)':34}{pair('fidelity_median', '.2f', 100)}",
            f"{'pixel fidelity, worst (%)':34}{pair('fidelity_worst', '.2f', 100)}"
            f"   worst pages: tinyweb {tinyweb['fidelity_worst_page']}, SingleFile {other['fidelity_worst_page']}",
            f"{'output, median (KB)':34}{pair('bytes_median', '.1f', 1 / 1000)}",
            f"{'snapshot / page HTML, median':34}{cell(summary['styled_ratio_median'], '.2f', 12)}",
            f"{'failed pages':34}{len(tinyweb['failures']):>12}{len(other['failures']):>12}",
            f"{'pages that needed another try':34}{len(tinyweb['retried']):>12}{len(other['retried']):>12}",
        ]
    )


def progress_line(figures: PageFigures) -> str:
    """A short line per finished page, printed while the benchmark runs."""
    tinyweb, other = figures.tinyweb, figures.singlefile
    return (
        f"{figures.id}: tinyweb {cell(tinyweb.seconds, '.2f', 0)} s, fidelity {cell(tinyweb.fidelity, '.4f', 0)}; "
        f"SingleFile {cell(other.seconds, '.2f', 0)} s, fidelity {cell(other.fidelity, '.4f', 0)}"
    )


def environment() -> dict:
    """The versions the figures were measured with."""
    version = subprocess.run([chromium_path(), "--version"], capture_output=True, text=True, check=False)
    package = json.loads((singlefile.BENCH_DIR / "node_modules/single-file-cli/package.json").read_text())
    return {"chromium": version.stdout.strip(), "single_file_cli": package["version"]}


def write_json(path: Path, results: list[PageFigures], summary: dict) -> Path:
    """Every figure, per page and summarised, with the date and versions."""
    pages = [{**asdict(result), "styled_ratio": result.styled_ratio} for result in results]
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "summary": summary,
        "pages": pages,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def chart_panels(results: list[PageFigures]) -> list[Panel]:
    """End-to-end seconds, pixel fidelity and output size, per page, for both tools."""

    def pairs(key: str, scale: float = 1) -> list[tuple[float | None, float | None]]:
        def scaled(tool: ToolFigures) -> float | None:
            value = getattr(tool, key)
            return None if value is None else value * scale

        return [(scaled(result.tinyweb), scaled(result.singlefile)) for result in results]

    def largest(values: list[tuple[float | None, float | None]]) -> float:
        return max((value for pair in values for value in pair if value), default=1.0)

    seconds, kilobytes = pairs("seconds"), pairs("bytes", 1 / 1000)
    return [
        Panel("end to end (s)", seconds, 0, largest(seconds), "{:.2f}"),
        Panel("pixel fidelity (%, axis from 80)", pairs("fidelity", 100), 80, 100, "{:.1f}"),
        Panel("output (KB)", kilobytes, 0, largest(kilobytes), "{:.0f}"),
    ]


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run the benchmark, print the table and summary, write JSON and PNG."""
    parser = argparse.ArgumentParser(prog="python -m bench.capture", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="corpus pages to benchmark (default 20)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="folder for JSON and PNG")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    singlefile.ensure_installed()
    results = benchmark(args.pages)
    summary = summarise(results)
    print()
    print(format_table(results))
    print()
    print(format_summary(summary))
    args.out.mkdir(parents=True, exist_ok=True)
    written = [write_json(args.out / "capture.json", results, summary)]
    written.append(write_chart(args.out / "capture.png", [r.id for r in results], chart_panels(results)))
    print("\nwrote " + ", ".join(str(path) for path in written))


if __name__ == "__main__":
    main()
