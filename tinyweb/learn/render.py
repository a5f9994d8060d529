"""Generated pages on disk and on screen: the page written beside its own copy of the framework (the link
every training page has, "../semantic-css-framework.css", pointed at the copy), its class names, and
full-page screenshots in headless Chromium with scripts off and the network blocked."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tinyweb.errors import BrowserError
from tinyweb.layout import FRAMEWORK_CSS, FRAMEWORK_HREF
from tinyweb.learn.design import DesignStats
from tinyweb.placeholder import PLACEHOLDER, PLACEHOLDER_FILE

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # called with the number of pages just rendered
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(["']?)([^"'\s>]*)\2""", re.IGNORECASE)
_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)
PAGE_TIMEOUT_S = 30  # to load and screenshot one generated page
MAX_SCREENSHOT_HEIGHT = 8000  # px: a runaway page (thousands of repeated rows) is cut here


# --- the page on disk -----------------------------------------------------------------------------------------


def link_framework(html: str, href: str = FRAMEWORK_CSS) -> str:
    """The page with its link to the framework pointed at `href`: the training link ("../semantic-css-framework.css")
    is rewritten, nothing else is touched; a page without a link to the framework gets one at the start of <head>
    (or, without a <head>, after <html> or the doctype: the parser puts it in the head it makes)."""
    found = False

    def retarget(tag: re.Match[str]) -> str:
        nonlocal found

        def swap(attr: re.Match[str]) -> str:
            nonlocal found
            if attr.group(3) == FRAMEWORK_HREF:
                found = True
                quote = attr.group(2) or '"'
                return f"{attr.group(1)}{quote}{href}{quote}"
            if attr.group(3) == href:
                found = True
            return attr.group(0)

        return _HREF.sub(swap, tag.group(0), count=1)

    html = _LINK_TAG.sub(retarget, html)
    if found:
        return html
    link = f'<link rel="stylesheet" href="{href}">'
    opening = _HEAD_OPEN.search(html) or _HTML_OPEN.search(html) or _DOCTYPE.match(html)
    at = opening.end() if opening else 0
    return html[:at] + link + html[at:]


def write_page(html: str, out_html: Path, css_text: str) -> Path:
    """Write the page, a copy of the framework and the image placeholder beside it (the page's link pointed at
    the copy); return the CSS path."""
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    css_path = out_html.parent / FRAMEWORK_CSS
    css_path.write_text(css_text, encoding="utf-8")
    shutil.copyfile(PLACEHOLDER_FILE, out_html.parent / PLACEHOLDER)
    out_html.write_text(link_framework(html), encoding="utf-8")
    return css_path


_FRAMEWORK_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:\.\./)?" + re.escape(FRAMEWORK_CSS) + r"[^>]*>", re.I)
_PLACEHOLDER_REF = re.compile(r"(?<=[\"'(\s=])" + re.escape(PLACEHOLDER) + r"(?=[\"')\s>])")
_CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


def used_rules(css: str, classes: set[str]) -> str:
    """The framework's rules a page needs: those whose selector names a class it uses (inside @media blocks too,
    a block kept only if a rule of it is), and every other at-rule as it is."""
    import tinycss2

    kept = []
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type == "qualified-rule":
            if set(_CLASS_SELECTOR.findall(tinycss2.serialize(rule.prelude))) & classes:
                kept.append(tinycss2.serialize([rule]))
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content is not None:
            inner = used_rules(tinycss2.serialize(rule.content), classes)
            if inner:
                kept.append(f"@media {tinycss2.serialize(rule.prelude).strip()}{{\n{inner}\n}}")
        elif rule.type == "at-rule":
            kept.append(tinycss2.serialize([rule]))
    return "\n".join(kept)


def standalone_page(html: str, css: str) -> str:
    """The page as one file: its link to the framework replaced by the framework rules it uses, inline, and the
    image placeholder as a data URL."""
    import base64

    style = "<style>\n" + used_rules(css, set(page_classes(html))).replace("</", "<\\/") + "\n</style>"
    page = _FRAMEWORK_LINK.sub(lambda _: style, html, count=1)
    if page == html:  # no link to replace: the rules go where link_framework would put one
        page = link_framework(html).replace(f'<link rel="stylesheet" href="{FRAMEWORK_CSS}">', style, 1)
    data = "data:image/svg+xml;base64," + base64.b64encode(PLACEHOLDER_FILE.read_bytes()).decode()
    return _PLACEHOLDER_REF.sub(data, page)


def page_classes(html: str) -> list[str]:
    """Every class name the page's elements carry, once each, in order of first use."""
    from lxml import etree
    from lxml import html as lxml_html

    if not html.strip():
        return []
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # a document with no element at all
        return []
    names: dict[str, None] = {}
    for element in root.iter():
        value = element.get("class") if isinstance(element.tag, str) else None
        for name in (value or "").split():
            names.setdefault(name, None)
    return list(names)


def unknown_classes(html: str, classes: set[str]) -> list[str]:
    """Class names used in the page that the framework does not define (sorted, unique)."""
    return sorted(name for name in page_classes(html) if name not in classes)


# --- rendering --------------------------------------------------------------------------------------------------


def screenshot_pages(
    pages: Sequence[tuple[Path, Path]], viewport: tuple[int, int] = (1280, 800), progress: Progress | None = None
) -> list[Path | None]:
    """Full-page PNGs of local HTML files in one headless Chromium: (html_path, png_path) each.

    Scripts are disabled and every request that is not a local file is blocked, so a generated page can
    neither hang the browser nor reach the network. Returns each PNG path, or None for a page that could not
    be rendered (logged). Pages taller than MAX_SCREENSHOT_HEIGHT are cut there.

    Raises:
        BrowserError: Chromium could not be found or started.
    """
    return [r[0] if r else None for r in asyncio.run(_screenshot_pages(list(pages), viewport, progress, False))]


def render_pages(
    pages: Sequence[tuple[Path, Path]], progress: Progress | None = None
) -> list[tuple[Path, DesignStats] | None]:
    """As screenshot_pages at 1280×800, each page's design statistics (tinyweb.learn.design) beside its PNG."""
    return asyncio.run(_screenshot_pages(list(pages), (1280, 800), progress, True))


def screenshot_page(html_path: Path, png_path: Path, viewport: tuple[int, int] = (1280, 800)) -> Path:
    """A full-page PNG of one local HTML file (see screenshot_pages); raises BrowserError if it fails."""
    [done] = screenshot_pages([(html_path, png_path)], viewport)
    if done is None:
        raise BrowserError(f"Chromium could not render {html_path}")
    return done


async def _screenshot_pages(
    pages: list[tuple[Path, Path]], viewport: tuple[int, int], progress: Progress | None, design: bool
) -> list[tuple[Path, DesignStats | None] | None]:
    from playwright.async_api import Error as PlaywrightError

    from tinyweb.capture.browser import Browser, BrowserOptions
    from tinyweb.snapshot import Viewport

    width, height = viewport
    results: list[tuple[Path, DesignStats | None] | None] = []
    async with Browser(BrowserOptions(viewport=Viewport(width=width, height=height))) as browser:
        assert browser.context is not None
        await browser.context.route("**/*", _local_files_only)
        for html_path, png_path in pages:
            try:
                results.append(await _shoot(browser, Path(html_path), Path(png_path), width, design))
            except PlaywrightError as exc:
                log.warning("could not render %s: %s", html_path, exc.message.splitlines()[0])
                results.append(None)
            if progress:
                progress(1)
    return results


async def _local_files_only(route: Any) -> None:
    if route.request.url.startswith(("file:", "data:", "about:", "blob:")):
        await route.continue_()
    else:
        await route.abort("blockedbyclient")


async def _shoot(
    browser: Any, html_path: Path, png_path: Path, width: int, design: bool
) -> tuple[Path, DesignStats | None]:
    from tinyweb.fidelity import screenshot
    from tinyweb.learn.design import measure

    page = await browser.new_page()
    try:
        cdp = await browser.context.new_cdp_session(page)
        await cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
        page.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        await page.goto(html_path.resolve().as_uri(), wait_until="load")
        full = await page.evaluate("() => document.documentElement.scrollHeight")
        if full > MAX_SCREENSHOT_HEIGHT:
            png = await page.screenshot(
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": MAX_SCREENSHOT_HEIGHT},
                animations="disabled",
                caret="hide",
            )
        else:
            png = await screenshot(page)
        stats = await measure(page) if design else None
    finally:
        await page.close()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(png)
    return png_path, stats
