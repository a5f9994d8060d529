"""Fidelity, defined once: does a snapshot render the same pixels and computed styles as the live page?

A pixel is equal when no colour channel differs by more than PIXEL_TOLERANCE; the score is the share of
equal pixels over the larger of the two full-page screenshots. Both are taken at the capture viewport
with scrollbars hidden (see CHROMIUM_ARGS) and, in tests, every non-loopback request blocked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
from PIL import Image
from playwright.async_api import Page

from tinyweb.capture.browser import Browser, capture_loaded_page, load, resize, settle
from tinyweb.snapshot import Snapshot, Viewport

PIXEL_TOLERANCE = 8
SNAPSHOT_PATH = "/__tinyweb_snapshot__.html"

STYLE_TABLE_JS = """() => {
  const props = globalThis.tinywebCapture.properties().sort();
  const rows = {};
  for (const el of document.querySelectorAll('[data-tw-i]')) {
    const cs = getComputedStyle(el);
    rows[el.getAttribute('data-tw-i')] = props.map((p) => cs.getPropertyValue(p));
  }
  return {props, rows};
}"""


@dataclass
class StyleComparison:
    elements: int
    equal_elements: int
    differing: dict[str, int] = field(default_factory=dict)  # property -> elements where it differs

    @property
    def share(self) -> float:
        return self.equal_elements / self.elements if self.elements else 1.0


@dataclass
class Fidelity:
    url: str
    pixel_share: float
    live_size: tuple[int, int]
    snapshot_size: tuple[int, int]
    styles: StyleComparison
    snapshot: Snapshot | None = None
    live_still: bool = True  # False: the page kept changing itself while it was captured
    live_png: bytes = b""
    snapshot_png: bytes = b""
    viewport: Viewport | None = None  # the width compared, when a snapshot holds several

    def summary(self) -> str:
        return (
            f"{self.pixel_share * 100:7.3f}% pixels, {self.styles.share * 100:6.2f}% elements same style "
            f"({self.styles.elements}), {self.url}"
            + (f" at {self.viewport}" if self.viewport else "")
            + ("" if self.live_still else " (the live page kept changing)")
        )


def decode_png(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def pixel_share(a: np.ndarray, b: np.ndarray, tolerance: int = PIXEL_TOLERANCE) -> float:
    """Share of equal pixels over the larger of the two images (missing area counts as different)."""
    height, width = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    equal = np.all(np.abs(a[:h, :w] - b[:h, :w]) <= tolerance, axis=2)
    return float(equal.sum()) / float(height * width)


def diff_image(a_png: bytes, b_png: bytes, tolerance: int = PIXEL_TOLERANCE, max_height: int = 4000) -> Image.Image:
    """Side by side: first | second | differing pixels in red over a faded first."""
    a, b = decode_png(a_png), decode_png(b_png)
    height, width = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])

    def pad(x: np.ndarray) -> np.ndarray:
        out = np.full((height, width, 3), 255, dtype=np.int16)
        out[: x.shape[0], : x.shape[1]] = x
        return out

    a, b = pad(a), pad(b)
    different = np.any(np.abs(a - b) > tolerance, axis=2)
    marked = (a * 0.3 + 178).astype(np.int16)
    marked[different] = (255, 0, 0)
    strip = np.concatenate([a, np.full((height, 8, 3), 128), b, np.full((height, 8, 3), 128), marked], axis=1)
    return Image.fromarray(strip[:max_height].astype(np.uint8))


def compare_styles(live: dict, snap: dict) -> StyleComparison:
    """Compare computed styles of elements numbered alike (data-tw-i) in both documents."""
    props_live, props_snap = live["props"], snap["props"]
    common = [p for p in props_live if p in set(props_snap)]
    li = {p: i for i, p in enumerate(props_live)}
    si = {p: i for i, p in enumerate(props_snap)}
    differing: dict[str, int] = {}
    equal = 0
    for key, row in live["rows"].items():
        other = snap["rows"].get(key)
        if other is None:
            continue
        diffs = [p for p in common if row[li[p]] != other[si[p]]]
        for p in diffs:
            differing[p] = differing.get(p, 0) + 1
        equal += not diffs
    return StyleComparison(elements=len(live["rows"]), equal_elements=equal, differing=differing)


async def screenshot(page: Page) -> bytes:
    return await page.screenshot(full_page=True, animations="disabled", caret="hide")


async def render_snapshot(page: Page, html: str, origin_url: str) -> None:
    """Open `html` as if served from the page's own origin (so fonts and CORS behave as live)."""
    target = urljoin(origin_url, SNAPSHOT_PATH)

    async def fulfill(route):  # type: ignore[no-untyped-def]
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    await page.route(target, fulfill)
    await page.goto(target, wait_until="load")
    await settle(page, scroll=True)


async def open_files(page: Page, origin_url: str, prefix: str, files: dict[str, tuple[str, str]], path: str) -> None:
    """Open `files[path]` as if served from `origin_url` under `prefix` (so the page's own relative images and
    fonts load from its origin): every request under the prefix is answered from `files` ({relative path:
    (body, content type)}), 404 for any other; then wait for the page to settle."""
    base = urljoin(origin_url, prefix)

    async def fulfill(route):  # type: ignore[no-untyped-def]
        rel = route.request.url[len(base) :].split("?")[0]
        if rel not in files:
            await route.fulfill(status=404, body="")
            return
        body, kind = files[rel]
        await route.fulfill(status=200, content_type=kind, body=body)

    await page.route(base + "**", fulfill)
    await page.goto(base + path, wait_until="load")
    await settle(page, scroll=True)


async def capture_still(page: Page, url: str, tries: int, **capture_options) -> tuple[Snapshot, bytes, bool]:
    """Screenshot, capture, screenshot again: a page that changes itself meanwhile (a carousel on a timer)
    is captured again, up to `tries` times. Returns the snapshot, the screenshot before it, and whether
    the page held still."""
    for _ in range(tries):
        before = await screenshot(page)
        snap = await capture_loaded_page(page, requested_url=url, markElements=True, **capture_options)
        after = await screenshot(page)
        if pixel_share(decode_png(before), decode_png(after)) == 1.0:
            return snap, before, True
        await settle(page, scroll=False)
    return snap, before, False


async def measure(browser: Browser, url: str, timeout_s: float = 30, tries: int = 5, **capture_options) -> Fidelity:
    """Capture `url` at the browser's viewport, then compare the live page, as it was when captured, with its
    rendered snapshot."""
    (fidelity,) = await measure_widths(browser, url, [], timeout_s, tries, **capture_options)
    return fidelity


async def measure_widths(
    browser: Browser, url: str, viewports: list[Viewport], timeout_s: float = 30, tries: int = 5, **capture_options
) -> list[Fidelity]:
    """A capture of `url` at `viewports` (widest first, the browser's own; none: the browser's own alone),
    compared with the live page at each width: one Fidelity per width the snapshot kept."""
    live_page = await browser.new_page()
    try:
        await load(live_page, url, timeout_s)
        await settle(live_page)
        snap, base_png, still = await capture_still(live_page, url, tries, viewports=viewports, **capture_options)
        live = [(base_png, await live_page.evaluate(STYLE_TABLE_JS))]  # the capture script is loaded here
        for vp in snap.viewports[1:]:
            await resize(live_page, vp)
            live.append((await screenshot(live_page), await live_page.evaluate(STYLE_TABLE_JS)))
    finally:
        await live_page.close()
    out = []
    snap_page = await browser.new_page()
    try:
        await render_snapshot(snap_page, snap.html, snap.url)
        for i, vp in enumerate(snap.viewports or [None]):
            if i:
                await resize(snap_page, vp)
            snap_png = await screenshot(snap_page)
            a, b = decode_png(live[i][0]), decode_png(snap_png)
            out.append(
                Fidelity(
                    url=url,
                    pixel_share=pixel_share(a, b),
                    live_size=(a.shape[1], a.shape[0]),
                    snapshot_size=(b.shape[1], b.shape[0]),
                    styles=compare_styles(live[i][1], await snap_page.evaluate(STYLE_TABLE_JS)),
                    snapshot=snap,
                    live_still=still,
                    live_png=live[i][0],
                    snapshot_png=snap_png,
                    viewport=vp,
                )
            )
    finally:
        await snap_page.close()
    return out


def write_side_by_side(fid: Fidelity, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    diff_image(fid.live_png, fid.snapshot_png).save(path)
    return path
