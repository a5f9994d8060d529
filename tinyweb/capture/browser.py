"""Headless Chromium, driven by Playwright, and capturing one loaded page with the capture script."""

from __future__ import annotations

import ipaddress
import os
import shutil
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser as PwBrowser
from playwright.async_api import BrowserContext, Page, Playwright, Request, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from tinyweb.capture.probecache import LOOKUP_NAME, ProbeCache
from tinyweb.capture.script import capture_script
from tinyweb.errors import BrowserError, CaptureError
from tinyweb.snapshot import Snapshot, Viewport

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A visible scrollbar narrows the layout by 15 px; captures and comparisons are made without one.
    "--hide-scrollbars",
    "--font-render-hinting=none",
]
# After a resize: let resize handlers (often debounced), media-query transitions and layout finish.
RESIZE_SETTLE_MS = 300
# Runs in every page before the page's own scripts: counts what could react to scrolling (observers of
# intersections, scroll listeners of the window and document), so that settle() scrolls through only the
# pages where something watches (see tinywebSettle in capture.js). The page's objects still work as before.
SCROLL_WATCH_SCRIPT = """(() => {
  const w = window;
  if (w.__tinywebScrollWatch) return;
  const watch = { observers: 0, listeners: 0 };
  Object.defineProperty(w, "__tinywebScrollWatch", { value: watch });
  if (typeof w.IntersectionObserver === "function") {
    w.IntersectionObserver = new Proxy(w.IntersectionObserver, {
      construct(target, args, newTarget) {
        watch.observers++;
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
  const scrollEvents = new Set(["scroll", "scrollend", "wheel"]);
  EventTarget.prototype.addEventListener = new Proxy(EventTarget.prototype.addEventListener, {
    apply(target, self, args) {
      if (scrollEvents.has(args[0]) && (self === w || self === w.document)) watch.listeners++;
      return Reflect.apply(target, self, args);
    },
  });
})();"""
CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"]


def chromium_path() -> str:
    """The Chromium executable: $TINYWEB_CHROMIUM, else Debian's /usr/bin/chromium, else one on PATH."""
    explicit = os.environ.get("TINYWEB_CHROMIUM")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise BrowserError(f"TINYWEB_CHROMIUM={explicit} is not an executable file")
        return explicit
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise BrowserError("Chromium not found: install it (Debian: apt-get install -y chromium) or set TINYWEB_CHROMIUM")


# The probe cache of each context a Browser made, found from a page by run_capture().
_PROBE_CACHES: weakref.WeakKeyDictionary[BrowserContext, ProbeCache] = weakref.WeakKeyDictionary()
# The stylesheet requests of each page of a Browser's context, by URL (the first of a redirect chain): the
# request, or its text once read ("" when it failed). The capture script gets the text of those from other
# origins, whose rules the page may not read (sheet_texts()); a second pass (another width) reads it again.
_SHEETS: weakref.WeakKeyDictionary[Page, dict[str, Request | str]] = weakref.WeakKeyDictionary()
# Bounds what is passed to one capture; past it, the remaining sheets stay unread (all properties read).
MAX_SHEET_TEXT_CHARS = 4_000_000


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class BrowserOptions:
    viewport: Viewport = field(default_factory=lambda: Viewport(width=1280, height=800))
    block_external: bool = False  # abort every request that leaves the loopback interface
    # The capture script must run on pages with a strict CSP or Trusted Types; tests turn this off to
    # exercise the script's own Trusted Types handling.
    bypass_csp: bool = True
    user_agent: str | None = None
    headless: bool = True
    # Carry the browser's default-style probes from one capture to the next (see probecache.py).
    probe_cache: bool = True


class Browser:
    """One Chromium and one browser context; `async with Browser(opts) as b: page = await b.new_page()`."""

    def __init__(self, options: BrowserOptions | None = None):
        self.options = options or BrowserOptions()
        self._pw: Playwright | None = None
        self._browser: PwBrowser | None = None
        self.context: BrowserContext | None = None
        self.probe_cache: ProbeCache | None = None

    async def __aenter__(self) -> Browser:
        executable = chromium_path()
        self._pw = await async_playwright().start()
        try:
            self._browser = await self._pw.chromium.launch(
                executable_path=executable, headless=self.options.headless, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            await self._pw.stop()
            raise BrowserError(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}") from exc
        vp = self.options.viewport
        self.context = await self._browser.new_context(
            viewport={"width": vp.width, "height": vp.height},
            device_scale_factor=1,
            bypass_csp=self.options.bypass_csp,
            service_workers="block",
            user_agent=self.options.user_agent,
        )
        await self.context.add_init_script(SCROLL_WATCH_SCRIPT)
        self.context.on("requestfinished", lambda request: _note_sheet(request, failed=False))
        self.context.on("requestfailed", lambda request: _note_sheet(request, failed=True))
        if self.options.probe_cache:
            cache = self.probe_cache = ProbeCache()
            await self.context.expose_binding(LOOKUP_NAME, lambda _source, scope, keys: cache.lookup(scope, keys))
            _PROBE_CACHES[self.context] = cache
        if self.options.block_external:
            await self.context.route("**/*", _block_non_loopback)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.context is not None:
            await self.context.close()
        if self._browser is not None:
            await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()

    async def new_page(self) -> Page:
        assert self.context is not None, "use Browser as an async context manager"
        return await self.context.new_page()


def _note_sheet(request: Request, *, failed: bool) -> None:
    if request.resource_type != "stylesheet":
        return
    try:
        page = request.frame.page
    except PlaywrightError:
        return  # a service worker's request: no page
    first = request
    while first.redirected_from is not None:
        first = first.redirected_from
    _SHEETS.setdefault(page, {})[first.url] = "" if failed else request


async def sheet_texts(page: Page) -> dict[str, str]:
    """The text of the page's stylesheets from other origins, by URL: "" for one that failed to load or
    was refused. The page cannot read their rules; the capture script reads a copy made from the text."""
    own = urlsplit(page.url)
    sheets = _SHEETS.get(page, {})
    out: dict[str, str] = {}
    size = 0
    for url, known in list(sheets.items()):
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
            continue
        text = known
        if not isinstance(text, str):
            try:
                response = await known.response()
                text = await response.text() if response is not None and response.ok else ""
            except PlaywrightError:
                continue  # the body is gone (the page navigated on): left unread
            sheets[url] = text
        size += len(text)
        if size > MAX_SHEET_TEXT_CHARS:
            break
        out[url] = text
    return out


async def _block_non_loopback(route: Route) -> None:
    url = route.request.url
    if url.startswith(("data:", "blob:", "about:")) or is_loopback_url(url):
        await route.continue_()
    else:
        await route.abort("blockedbyclient")


async def load(page: Page, url: str, timeout_s: float) -> None:
    """Open `url` and check that it is an HTML page; raise CaptureError with a reason otherwise."""
    _SHEETS.pop(page, None)  # the stylesheets of the page the tab showed before
    try:
        response = await page.goto(url, wait_until="load", timeout=timeout_s * 1000)
    except PlaywrightError as exc:
        raise _load_error(exc) from exc
    if response is None:
        return
    if response.status >= 400:
        raise CaptureError(f"http_{response.status}", f"the server answered HTTP {response.status}")
    content_type = (await response.header_value("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in ("text/html", "application/xhtml+xml"):
        raise CaptureError("not_html", f"not an HTML page (Content-Type {content_type})")


def _load_error(exc: PlaywrightError) -> CaptureError:
    message = exc.message.splitlines()[0]
    if "Timeout" in message:
        return CaptureError("timeout", f"the page did not finish loading in time ({message})")
    if "Download is starting" in message:
        return CaptureError("not_html", "not an HTML page (the browser started a download)")
    for marker in (
        "ERR_CONNECTION_REFUSED",
        "ERR_NAME_NOT_RESOLVED",
        "ERR_ADDRESS_UNREACHABLE",
        "ERR_CONNECTION_RESET",
        "ERR_INTERNET_DISCONNECTED",
        "ERR_BLOCKED_BY_CLIENT",
        "ERR_CONNECTION_TIMED_OUT",
        "ERR_TUNNEL_CONNECTION_FAILED",
    ):
        if marker in message:
            return CaptureError("unreachable", f"the host could not be reached ({marker})")
    return CaptureError("load_failed", message)


async def ensure_script(page: Page) -> None:
    if not await page.evaluate("() => typeof globalThis.tinywebCapture === 'function'"):
        await page.evaluate(capture_script())


async def settle(page: Page, scroll: bool = True) -> dict[str, Any]:
    """Scroll through the page (when something on it watches scrolling), wait for lazy images and fonts,
    finish animations (see tinywebSettle in capture.js)."""
    await ensure_script(page)
    return await page.evaluate("opts => globalThis.tinywebSettle(opts)", {"scroll": scroll})


async def resize(page: Page, viewport: Viewport, settle_ms: float = RESIZE_SETTLE_MS) -> None:
    """Give `page` another viewport and let it settle there (layout, resize handlers, transitions)."""
    await page.set_viewport_size({"width": viewport.width, "height": viewport.height})
    await page.wait_for_timeout(settle_ms)
    await settle(page, scroll=False)


async def run_capture(page: Page, **options: Any) -> dict[str, Any]:
    """The capture script's result on the loaded page (`{ok: true, html, meta, stats, ...}`), or CaptureError.
    In a Browser's context, the probes of earlier captures are passed along and this one's kept, and so is
    the text of stylesheets from other origins (unless `sheetTexts` is given)."""
    await ensure_script(page)
    cache = _PROBE_CACHES.get(page.context)
    if cache is not None:
        options = {**options, "probeLookup": LOOKUP_NAME}
    if page in _SHEETS and "sheetTexts" not in options:
        options = {**options, "sheetTexts": await sheet_texts(page)}
    try:
        result = await page.evaluate("opts => globalThis.tinywebCapture(opts)", options)
    except PlaywrightError as exc:
        raise CaptureError("capture_failed", exc.message.splitlines()[0]) from exc
    if cache is not None:
        cache.update(result.pop("probeCache", None))
    if not result.get("ok"):
        error = result.get("error", {})
        raise CaptureError(error.get("code", "capture_failed"), error.get("message", "capture failed"))
    return result


async def capture_loaded_page(
    page: Page,
    *,
    source: str = "crawler",
    requested_url: str | None = None,
    viewports: Sequence[Viewport] = (),
    **options: Any,
) -> Snapshot:
    """Run the capture script on an already loaded and settled page and return its Snapshot. With several
    `viewports` (widest first, the page's current one), the page is captured at each width and the narrower
    ones become @media rules (widths.js, the merge the extension uses too)."""
    if requested_url is not None:  # without the credentials it may carry, as the script does the page's own URL
        await ensure_script(page)
        requested_url = await page.evaluate("u => globalThis.tinywebCapture.pageUrl(u)", requested_url)
    if len(viewports) < 2:
        result = await run_capture(page, **options)
        return Snapshot.from_capture(result, source=source, requested_url=requested_url, viewports=list(viewports))
    keep_marks = bool(options.get("markElements"))
    first = await run_capture(page, **{**options, "markElements": True})
    passes = [{"html": first["html"], "marks": first.pop("marks")}]
    single_width = None
    try:
        for vp in viewports[1:]:
            await page.evaluate("() => globalThis.tinywebWatchMutations()")
            await resize(page, vp)
            changed = await page.evaluate("() => globalThis.tinywebStopWatching()")
            if changed:
                single_width = f"dom_changed: the page changed when resized to {vp} ({', '.join(changed[:3])})"
                break
            other = await run_capture(page, **{**options, "markElements": True, "seedFormat": "none"})
            passes.append({"html": other["html"], "marks": other["marks"]})
        if single_width is not None:
            passes = passes[:1]
        merged = await page.evaluate(
            "([passes, widths, keepMarks]) => globalThis.tinywebMergeWidths(passes, widths, {keepMarks})",
            [passes, [v.width for v in viewports[: len(passes)]], keep_marks],
        )
    except PlaywrightError as exc:
        raise CaptureError("capture_failed", f"capturing at another width: {exc.message.splitlines()[0]}") from exc
    finally:
        base = viewports[0]
        await page.set_viewport_size({"width": base.width, "height": base.height})
    first["html"] = merged["html"]
    single_width = single_width or merged["singleWidth"]
    kept = list(viewports) if single_width is None else [viewports[0]]
    return Snapshot.from_capture(
        first, source=source, requested_url=requested_url, viewports=kept, single_width=single_width
    )


async def capture_url(
    page: Page,
    url: str,
    *,
    timeout_s: float = 30,
    source: str = "crawler",
    viewports: Sequence[Viewport] = (),
    **options: Any,
) -> Snapshot:
    """Load, settle and capture one page (at each of `viewports`, widest first, when several are given)."""
    await load(page, url, timeout_s)
    try:
        await settle(page)
    except PlaywrightError as exc:
        raise CaptureError("capture_failed", f"the page could not be settled: {exc.message.splitlines()[0]}") from exc
    return await capture_loaded_page(page, source=source, requested_url=url, viewports=viewports, **options)
