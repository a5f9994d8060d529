"""Do sections render alone like they do in their page? The check behind the sections' ancestor chains.

For each page checked, the semantic page is rendered whole at 1280×800 in headless Chromium, and each of its
sections alone (its whole text, before trimming or condensing, in the page's shell: what the chain promises).
Both are served from the page's own origin by a route, so its images and fonts load as they did for the
snapshot. Each section's roots carry a marker attribute (the framework selects by class only, so it changes
nothing drawn); the region compared is the box around a section's roots, in each render its own, and the score
is tinyweb.fidelity's: the share of equal pixels (channel tolerance 8) over the larger of the two crops, so a
section whose height changed alone loses the difference. A section with nothing drawn at this width (a box
`display: none` on desktop) is not scored.
"""

from __future__ import annotations

import asyncio
import io
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from lxml import html as lxml_html
from PIL import Image

from tinyweb.capture.browser import Browser, BrowserOptions
from tinyweb.dataset.sections import PageSections, write_whole
from tinyweb.fidelity import decode_png, diff_image, open_files, pixel_share, screenshot
from tinyweb.layout import FRAMEWORK_CSS, PAGES_DIR

PREFIX = "/__tinyweb_sections__/"
MARK = "data-tw-section"
WIDTH, HEIGHT = 1280, 800
MAX_HEIGHT = 16000  # px of a full-page screenshot: taller pages are compared in their first 16 000 px
BOXES_JS = """(mark) => {
  const boxes = {};
  for (const el of document.querySelectorAll('[' + mark + ']')) {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;  // nothing drawn
    const k = el.getAttribute(mark);
    const [x, y] = [r.left + scrollX, r.top + scrollY];
    const b = boxes[k] || [x, y, x + r.width, y + r.height];
    boxes[k] = [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x + r.width), Math.max(b[3], y + r.height)];
  }
  return boxes;
}"""


@dataclass
class SectionCheck:
    page_id: str
    url: str
    index: int
    label: str
    pixel_share: float | None  # None: nothing of it is drawn at this width
    page_box: list[int] | None
    alone_box: list[int] | None


def marked(cut: PageSections) -> tuple[str, list[str]]:
    """The page with each section's roots marked, and each section's whole text, marked alike."""
    root = None
    for section in cut.sections:
        for el in section.elements:
            el.set(MARK, str(section.index))
            root = el.getroottree()
    texts = [cut.shell.document(write_whole(section.blocks)) for section in cut.sections]
    page = "<!DOCTYPE html>\n" + lxml_html.tostring(root, encoding="unicode") if root is not None else ""
    for section in cut.sections:
        for el in section.elements:
            del el.attrib[MARK]
    return page, texts


async def _shoot(browser: Browser, origin: str, document: str, css: str) -> tuple[bytes, dict[str, list[float]]]:
    files = {
        f"{PAGES_DIR}/page.html": (document, "text/html; charset=utf-8"),
        FRAMEWORK_CSS: (css, "text/css; charset=utf-8"),
    }
    tab = await browser.new_page()
    try:
        await tab.set_viewport_size({"width": WIDTH, "height": HEIGHT})
        await open_files(tab, origin, PREFIX, files, f"{PAGES_DIR}/page.html")
        boxes = await tab.evaluate(BOXES_JS, MARK)
        return await screenshot(tab), boxes
    finally:
        await tab.close()


def _crop(png: bytes, box: list[float]) -> bytes:
    image = Image.open(io.BytesIO(png))
    left, top = max(0, round(box[0])), max(0, round(box[1]))
    right, bottom = min(image.width, round(box[2])), min(image.height, round(box[3]), top + MAX_HEIGHT)
    buffer = io.BytesIO()
    image.crop((left, top, max(left + 1, right), max(top + 1, bottom))).save(buffer, format="PNG")
    return buffer.getvalue()


async def check_page(
    browser: Browser, page: dict[str, Any], cut: PageSections, css: str
) -> list[tuple[SectionCheck, bytes | None]]:
    """Each section of one page, scored, with its side-by-side PNG (page | alone | differences)."""
    whole, alone = marked(cut)
    page_png, page_boxes = await _shoot(browser, page["url"], whole, css)
    out = []
    for section, document in zip(cut.sections, alone, strict=True):
        key = str(section.index)
        png, boxes = await _shoot(browser, page["url"], document, css)
        in_page, by_itself = page_boxes.get(key), boxes.get(key)
        check = SectionCheck(
            page["id"], page["url"], section.index, section.label, None, _ints(in_page), _ints(by_itself)
        )
        strip = None
        if in_page and by_itself:
            a, b = _crop(page_png, in_page), _crop(png, by_itself)
            check.pixel_share = pixel_share(decode_png(a), decode_png(b))
            buffer = io.BytesIO()
            diff_image(a, b).save(buffer, format="PNG")
            strip = buffer.getvalue()
        out.append((check, strip))
    return out


def page_with_boxes(page: dict[str, Any], cut: PageSections, css: str) -> tuple[bytes, dict[str, list[int]]]:
    """The page's full screenshot and each section's box in it (by index), for pictures of a cut."""

    async def run() -> tuple[bytes, dict[str, list[float]]]:
        async with Browser(BrowserOptions()) as browser:
            return await _shoot(browser, page["url"], marked(cut)[0], css)

    png, boxes = asyncio.run(run())
    return png, {k: _ints(v) for k, v in boxes.items()}


def _ints(box: list[float] | None) -> list[int] | None:
    return [round(v) for v in box] if box else None


def check_sections(
    pages: list[tuple[dict[str, Any], PageSections]],
    css: str,
    progress: Callable[[SectionCheck], None] | None = None,
) -> list[tuple[SectionCheck, bytes | None]]:
    """The check's entry point: (cleaned page, its sections) pairs and the framework in; every section's check
    with its side-by-side PNG out."""

    async def run() -> list[tuple[SectionCheck, bytes | None]]:
        out = []
        async with Browser(BrowserOptions()) as browser:
            for page, cut in pages:
                for check in await check_page(browser, page, cut, css):
                    out.append(check)
                    if progress:
                        progress(check[0])
        return out

    return asyncio.run(run())


def summary(checks: list[SectionCheck]) -> dict[str, Any]:
    """The figures: median share of equal pixels over the sections drawn, how many reach 95 %, per page too."""
    scored = sorted(c.pixel_share for c in checks if c.pixel_share is not None)
    pages = {c.page_id for c in checks}
    return {
        "pages": len(pages),
        "sections": len(checks),
        "scored": len(scored),
        "not_drawn": len(checks) - len(scored),
        "median_pixel_share": statistics.median(scored) if scored else None,
        "p25_pixel_share": scored[len(scored) // 4] if scored else None,
        "at_95": sum(s >= 0.95 for s in scored),
        "share_at_95": round(sum(s >= 0.95 for s in scored) / len(scored), 4) if scored else None,
        "checks": [asdict(c) for c in checks],
    }
