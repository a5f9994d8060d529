"""Verify: does each semantic page render what its snapshot rendered?

Both documents are opened in headless Chromium at each viewport the snapshot was captured at (a responsive
snapshot holds several; the narrower ones are its @media rules) and from the snapshot's own origin
(fulfilled by a route, so fonts and images load as they did for the snapshot), then compared as
tinyweb.fidelity defines it: the share of equal pixels over the larger full-page screenshot, and the share
of elements whose computed style is equal. Elements are matched in document order, skipping subtrees that
do not render (the clean stage removed those from the semantic page). The worst pages come back with a
side-by-side PNG each. The summary gives the figures per width; the top-level ones are the widest's.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from playwright.async_api import Page

from tinyweb import report
from tinyweb.capture.browser import Browser, BrowserOptions
from tinyweb.capture.script import capture_script
from tinyweb.fidelity import (
    STYLE_TABLE_JS,
    compare_styles,
    decode_png,
    diff_image,
    open_files,
    pixel_share,
    screenshot,
)
from tinyweb.layout import FRAMEWORK_CSS, PAGES_DIR
from tinyweb.snapshot import Viewport

PREFIX = "/__tinyweb_verify__/"
WORST_PNGS = 5
# Number the rendered elements of <body> in document order, skipping subtrees that are not rendered.
NUMBER_JS = """() => {
  let i = 0;
  const walk = (el) => {
    if (getComputedStyle(el).display === 'none') return;
    el.setAttribute('data-tw-i', String(++i));
    for (const child of el.children) walk(child);
  };
  walk(document.documentElement);
  return i;
}"""


@dataclass
class PageCheck:
    id: str
    url: str
    pixel_share: float
    style_share: float
    elements: int
    differing: dict[str, int]
    viewport: str = ""  # WxH
    png: str | None = None


async def _render(page: Page, origin_url: str, path: str, files: dict[str, tuple[str, str]]) -> tuple[bytes, Any]:
    """Open `files[path]` as if served from the snapshot's origin; return its screenshot and style table."""
    await open_files(page, origin_url, PREFIX, files, path)
    png = await screenshot(page)
    await page.add_script_tag(content=capture_script())
    await page.evaluate(NUMBER_JS)
    styles = await page.evaluate(STYLE_TABLE_JS)
    return png, styles


def page_viewports(page_record: dict[str, Any]) -> list[Viewport]:
    """The widths a cleaned page was captured at, widest first."""
    sizes = page_record.get("viewports") or [[page_record["viewport_width"], page_record["viewport_height"]]]
    return [Viewport(width=w, height=h) for w, h in sizes]


async def check_page(
    browser: Browser, page_record: dict[str, Any], semantic: str, css: str
) -> list[tuple[PageCheck, bytes]]:
    """One check per captured width."""
    return [await check_width(browser, page_record, semantic, css, vp) for vp in page_viewports(page_record)]


async def check_width(
    browser: Browser, page_record: dict[str, Any], semantic: str, css: str, viewport: Viewport
) -> tuple[PageCheck, bytes]:
    html_type = "text/html; charset=utf-8"
    renders = []
    for files in (
        {"snapshot.html": (page_record["source_html"], html_type)},
        {f"{PAGES_DIR}/page.html": (semantic, html_type), FRAMEWORK_CSS: (css, "text/css; charset=utf-8")},
    ):
        tab = await browser.new_page()
        try:
            await tab.set_viewport_size({"width": viewport.width, "height": viewport.height})
            renders.append(await _render(tab, page_record["url"], next(iter(files)), files))
        finally:
            await tab.close()
    (snap_png, snap_styles), (sem_png, sem_styles) = renders
    styles = compare_styles(snap_styles, sem_styles)
    check = PageCheck(
        id=page_record["id"],
        url=page_record["url"],
        pixel_share=pixel_share(decode_png(snap_png), decode_png(sem_png)),
        style_share=styles.share,
        elements=styles.elements,
        differing=dict(sorted(styles.differing.items(), key=lambda kv: -kv[1])[:10]),
        viewport=str(viewport),
    )
    strip = diff_image(snap_png, sem_png)
    buffer = io.BytesIO()
    strip.save(buffer, format="PNG")
    return check, buffer.getvalue()


def select(pages: list[dict[str, Any]], sample: int | None) -> list[dict[str, Any]]:
    """All pages, or an even spread of `sample` of them over the id order."""
    pages = sorted(pages, key=lambda p: p["id"])
    if not sample or sample >= len(pages):
        return pages
    step = len(pages) / sample
    return [pages[int(i * step)] for i in range(sample)]


@dataclass
class VerifyOptions:
    sample: int | None = field(
        default=None, metadata={"help": "Check an even spread of this many pages (default: all)."}
    )
    sections: int = field(
        default=0,
        metadata={
            "help": "Also check that the sections of an even spread of this many pages render alone as in their page."
        },
    )


async def verify_pages(
    pages: list[dict[str, Any]], semantic: dict[str, str], css: str, progress: Any = None
) -> list[tuple[PageCheck, bytes]]:
    """Every check with its side-by-side PNG, in one Chromium."""
    shots: list[tuple[PageCheck, bytes]] = []
    async with Browser(BrowserOptions()) as browser:
        for record in pages:
            for shot in await check_page(browser, record, semantic[record["id"]], css):
                shots.append(shot)
                if progress:
                    progress(shot[0])
    return shots


def _figures(checks: list[PageCheck]) -> dict[str, Any]:
    shares = sorted(c.pixel_share for c in checks)
    return {
        "checked": len(checks),
        "median_pixel_share": report.median(shares),
        "p5_pixel_share": shares[int(0.05 * (len(shares) - 1))] if shares else None,
        "pages_at_99_5": sum(s >= 0.995 for s in shares),
        "pages_at_99": sum(s >= 0.99 for s in shares),
        "share_of_pages_at_99": report.ratio(sum(s >= 0.99 for s in shares), len(shares)),
        "median_style_share": report.median([c.style_share for c in checks]),
    }


def verify(
    pages: list[dict[str, Any]], semantic: dict[str, str], css: str, progress: Any = None
) -> tuple[list[PageCheck], list[tuple[PageCheck, bytes]]]:
    """The verify stage's entry point: cleaned pages (with their snapshots), their semantic HTML by id and the
    framework's CSS in; every check, and the WORST_PNGS worst with their side-by-side PNGs, out."""
    shots = asyncio.run(verify_pages(pages, semantic, css, progress))
    worst = sorted(shots, key=lambda s: (s[0].pixel_share, s[0].style_share, s[0].id))[:WORST_PNGS]
    return [check for check, _ in shots], worst


def summarize(pages: int, checks: list[PageCheck]) -> dict[str, Any]:
    """Figures per width (widest first), the widest's at the top, the worst pages' PNGs and every check."""
    by_width: dict[str, list[PageCheck]] = {}
    for check in sorted(checks, key=lambda c: -int(c.viewport.split("x")[0])):
        by_width.setdefault(check.viewport, []).append(check)
    widths = {vp: _figures(group) for vp, group in by_width.items()}
    return {
        "pages": pages,
        **(next(iter(widths.values())) if widths else _figures([])),  # the widest width's
        "widths": widths,
        "worst": [c.png for c in sorted(checks, key=lambda c: c.pixel_share) if c.png],
        "checks": [asdict(c) for c in checks],
    }
