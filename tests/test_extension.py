"""The browser extension in real Chromium, sending to a real `tinyweb serve` on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from playwright.async_api import BrowserContext, Page, Worker, async_playwright, expect

from tests.server_process import ServeProcess, free_port
from tests.test_server import make_snapshot
from tinyweb.capture.browser import CHROMIUM_ARGS, Browser, BrowserOptions, chromium_path, load, settle
from tinyweb.fidelity import decode_png, pixel_share, render_snapshot, screenshot
from tinyweb.snapshot import Viewport

EXTENSION = Path(__file__).resolve().parents[1] / "extension"
WAIT_S = 60  # longest wait for something the extension does on its own (an alarm, an auto-capture)


async def start(server: ServeProcess) -> ServeProcess:
    await asyncio.to_thread(server.start)
    return server


async def server_snapshots(server: ServeProcess) -> list[dict]:
    """Every snapshot the server holds, whole, through its API."""
    headers = {"Authorization": f"Bearer {server.token}"}
    async with ClientSession(server.url, headers=headers) as session:
        async with session.get("/api/snapshots?limit=500") as response:
            assert response.status == 200
            rows = (await response.json())["items"]
        out = []
        for row in rows:
            async with session.get(f"/api/snapshots/{row['id']}") as response:
                out.append(await response.json())
        return out


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory) -> Path:
    """The Chromium build of the extension, made by the same script as `make extension`."""
    if shutil.which("node") is None:
        pytest.fail("node is needed to build the extension (make setup installs the npm tools)")
    out = tmp_path_factory.mktemp("extension")
    subprocess.run(
        ["node", str(EXTENSION / "scripts" / "build.js"), "--browser", "chromium", "--out", str(out)], check=True
    )
    return out / "chromium"


class Extension:
    """A persistent Chromium profile with the unpacked extension loaded; talks to its worker and popup."""

    def __init__(self, context: BrowserContext, worker: Worker):
        self.context = context
        self.worker = worker
        self.id = worker.url.split("/")[2]

    @property
    def base(self) -> str:
        return f"chrome-extension://{self.id}"

    async def configure(self, **settings) -> dict:
        return await self.worker.evaluate("s => tinywebSettings.saveSettings(s)", settings)

    async def open(self, url: str) -> Page:
        page = await self.context.new_page()
        await page.goto(url, wait_until="load")
        return page

    async def tab_id(self, url: str) -> int:
        tabs = await self.worker.evaluate("u => chrome.tabs.query({url: u})", url)
        assert len(tabs) == 1, tabs
        return tabs[0]["id"]

    async def popup(self, tab_id: int | None = None) -> Page:
        page = await self.context.new_page()
        query = f"?tab={tab_id}" if tab_id is not None else ""
        await page.goto(f"{self.base}/popup.html{query}")
        await expect(page.locator("#serverUrl")).not_to_have_value("")
        return page

    async def message(self, message: dict) -> dict:
        """Send a message the way the popup does (the worker answers extension pages only)."""
        page = await self.context.new_page()
        await page.goto(f"{self.base}/options.html")
        try:
            return await page.evaluate("m => chrome.runtime.sendMessage(m)", message)
        finally:
            await page.close()

    async def storage(self) -> dict:
        return await self.worker.evaluate("chrome.storage.local.get(null)")

    async def queued(self) -> list[dict]:
        return [v for k, v in (await self.storage()).items() if k.startswith("queue:")]


@contextlib.asynccontextmanager
async def chromium_with_extension(extension_dir: Path, profile: Path):
    args = [*CHROMIUM_ARGS, f"--disable-extensions-except={extension_dir}", f"--load-extension={extension_dir}"]
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path(), headless=True, args=args
        )
        try:
            worker = (
                context.service_workers[0]
                if context.service_workers
                else await context.wait_for_event("serviceworker", timeout=30_000)
            )
            yield Extension(context, worker)
        finally:
            await context.close()


async def wait_for(predicate, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.25)


def run(coro):
    return asyncio.run(coro)


def test_popup_pairs_and_captures_a_page_into_the_store(extension_dir, fixture_site, tmp_path):
    """Pair in the popup, press "Capture this page": the scrubbed snapshot is in the server's store."""

    async def scenario():
        server = await start(ServeProcess(tmp_path / "data"))
        try:
            async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
                page_url = fixture_site.url + "contact.html"
                page = await ext.open(page_url)
                await page.fill("#email", "typed.secret@private.example")
                popup = await ext.popup(await ext.tab_id(page_url))
                assert await popup.text_content("#target") == "Contact the bakery"
                await popup.fill("#serverUrl", server.url)
                await popup.fill("#token", server.token)
                await popup.click("button[type=submit]")
                await expect(popup.locator("#form-message")).to_have_text("Saved.")
                await popup.click("#capture")
                await expect(popup.locator("#sent")).to_have_text("1", timeout=30_000)
                assert await popup.text_content("#pending") == "0"
                assert await popup.text_content("#last-error") == "none"
                assert (await popup.text_content("#capture-result")).startswith("Captured")
                return await server_snapshots(server), await ext.queued()
        finally:
            server.stop()

    stored, queued = run(scenario())
    assert queued == []
    assert len(stored) == 1
    snap = stored[0]
    assert snap["source"] == "extension"
    # A capture from the popup also captures the phone width (Chromium: the debugger's device emulation).
    assert [(v["width"], v["height"]) for v in snap["viewports"]] == [(1280, 720), (390, 844)]
    assert snap["single_width"] is None
    assert snap["url"] == fixture_site.url + "contact.html"
    assert snap["title"] == "Contact the bakery"
    assert snap["stats"]["element_count"] > 10 and snap["stats"]["seed_format_bytes"] > 0
    html = snap["html"]
    assert "Crumb Bakery" in html and "style=" in html
    assert "<script" not in html
    # Personal data is replaced by same-length placeholders before it leaves the browser.
    for secret in ("orders@crumb-bakery.example", "jane.doe", "555-201-7788", "7946 0958", "15552017788"):
        assert secret not in html and secret not in snap["text"], secret
    assert "xxxxxx@xxxxx-xxxxxx.xxxxxxx" in html
    assert "+0 (000) 000-0000" in html and "000 0000 0000" in html and 'href="tel:+00000000000"' in html
    assert "555-201-7788" not in snap["description"]
    # Dates, versions, addresses and prices are not phone numbers.
    assert "2019-04-12" in html and "3.11.2" in html and "192.168.10.20" in html and "$4.50" in html
    # Typed form values are never captured.
    assert "typed.secret" not in html


async def fidelity_at(url: str, html: str, viewport: Viewport) -> float:
    """The share of equal pixels between the live page and the snapshot `html`, both at `viewport`."""
    async with Browser(BrowserOptions(viewport=viewport, block_external=True)) as browser:
        live = await browser.new_page()
        await load(live, url, 30)
        await settle(live)
        snap = await browser.new_page()
        await render_snapshot(snap, html, url)
        return pixel_share(decode_png(await screenshot(live)), decode_png(await screenshot(snap)))


def test_popup_capture_keeps_the_phone_width_and_leaves_the_page_as_it_was(extension_dir, fixture_site, tmp_path):
    """A responsive page captured from the popup: the snapshot renders the desktop and the phone width like
    the live page, pixel for pixel; the reader's tab is back at its width with no trace of the capture."""
    page_url = fixture_site.url + "responsive.html"

    async def scenario():
        server = await start(ServeProcess(tmp_path / "data"))
        try:
            async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
                await ext.configure(serverUrl=server.url, token=server.token)
                page = await ext.open(page_url)
                before = await page.evaluate("[innerWidth, document.documentElement.outerHTML]")
                popup = await ext.popup(await ext.tab_id(page_url))
                await popup.click("#capture")
                await expect(popup.locator("#sent")).to_have_text("1", timeout=30_000)
                message = await popup.text_content("#capture-result")
                after = await page.evaluate("[innerWidth, document.documentElement.outerHTML]")
                # A page whose scripts change its DOM when resized keeps its window's width, and says why.
                moving_url = fixture_site.url + "resize-handler.html"
                await ext.open(moving_url)
                moving = await ext.message({"type": "capture", "tabId": await ext.tab_id(moving_url)})
                await ext.configure(phoneWidth="never")
                single = await ext.message({"type": "capture", "tabId": await ext.tab_id(page_url)})

                async def all_three() -> list[dict] | None:
                    found = await server_snapshots(server)
                    return found if len(found) == 3 else None

                return await wait_for(all_three, "the other captures"), message, before, after, single, moving
        finally:
            server.stop()

    stored, message, before, after, single, moving = run(scenario())
    assert message.endswith("at desktop and phone widths.")
    assert after == before, "the tab is back at its width, its DOM as it was (no element numbers left)"
    (snap,) = [s for s in stored if len(s["viewports"]) == 2]
    assert [(v["width"], v["height"]) for v in snap["viewports"]] == [(1280, 720), (390, 844)]
    assert snap["single_width"] is None
    assert "<style data-tw-media>" in snap["html"] and "@media (max-width: 575.98px)" in snap["html"]
    assert "data-tw-i" not in snap["html"]
    for vp in snap["viewports"]:
        share = run(fidelity_at(page_url, snap["html"], Viewport(**vp)))
        assert share == 1.0, f"{vp}: {share:.5f} of pixels equal"
    # Turned off in the options: the window's width alone, and the record says why.
    assert single["ok"] is True and single["widths"] == 1
    (other,) = [s for s in stored if s is not snap and s["url"] == page_url]
    assert [v["width"] for v in other["viewports"]] == [1280]
    assert other["single_width"] == "extension: the phone width is turned off in the options"
    assert "data-tw-media" not in other["html"]
    assert moving["ok"] is True and moving["widths"] == 1
    (moved,) = [s for s in stored if s["url"].endswith("resize-handler.html")]
    assert moved["single_width"].startswith("dom_changed: the page changed when resized to 390x844")
    assert "data-tw-i" not in moved["html"] and "data-tw-media" not in moved["html"]


def test_auto_capture_only_on_allowlisted_domains_never_on_denied(extension_dir, fixture_site, tmp_path):
    """Auto-capture runs on 127.0.0.1 (allowlisted), not on localhost: first not listed, then denied."""
    local = fixture_site.url.replace("127.0.0.1", "localhost")

    async def scenario():
        server = await start(ServeProcess(tmp_path / "data"))
        try:
            async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
                await ext.configure(serverUrl=server.url, token=server.token, autoCapture=True, allowlist=["127.0.0.1"])

                async def urls() -> set[str]:
                    return {s["url"] for s in await server_snapshots(server)}

                # Each step ends with an allowlisted page: once it is stored, the page before it was seen too.
                await ext.open(fixture_site.url + "basics.html")
                await wait_for(lambda: _has(urls, fixture_site.url + "basics.html"), "basics.html")
                await ext.open(local + "fonts.html")  # not allowlisted
                await ext.open(fixture_site.url + "contact.html")
                await wait_for(lambda: _has(urls, fixture_site.url + "contact.html"), "contact.html")

                await ext.configure(allowlist=["127.0.0.1", "localhost"], denylist=["localhost"])
                await ext.open(local + "quirks.html")  # allowlisted but denied
                await ext.open(fixture_site.url + "canvas-svg.html")
                await wait_for(lambda: _has(urls, fixture_site.url + "canvas-svg.html"), "canvas-svg.html")
                # A denied page cannot be captured by hand either.
                denied = await ext.message({"type": "capture", "tabId": await ext.tab_id(local + "quirks.html")})
                popup = await ext.popup(await ext.tab_id(local + "quirks.html"))
                target = await popup.text_content("#target")
                disabled = await popup.is_disabled("#capture")
                return await urls(), denied, target, disabled
        finally:
            server.stop()

    stored, denied, target, disabled = run(scenario())
    names = {url.rsplit("/", 1)[-1] for url in stored}
    assert names == {"basics.html", "contact.html", "canvas-svg.html"}
    assert all(url.startswith(fixture_site.url) for url in stored)
    assert denied["ok"] is False and denied["refused"] is True and "denylist" in denied["error"]
    assert "denylist" in target and disabled


async def _has(urls, url: str) -> bool:
    return url in await urls()


def test_server_down_queue_survives_worker_restart_then_delivered_once(extension_dir, fixture_site, tmp_path):
    """Captured while the server is down: queued in storage, kept across a worker restart, sent once when up."""
    server = ServeProcess(tmp_path / "data")

    async def scenario():
        try:
            async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
                # Pair with the token the server will use (made now, in the data directory, as on first start).
                from tinyweb_server.config import load_or_create_token

                token = load_or_create_token(server.data_dir)
                await ext.configure(serverUrl=server.url, token=token)
                page_url = fixture_site.url + "basics.html"
                await ext.open(page_url)
                result = await ext.message({"type": "capture", "tabId": await ext.tab_id(page_url)})
                assert result["ok"] and result["queued"], result
                await wait_for(lambda: _attempted(ext), "a failed delivery attempt")
                (item,) = await ext.queued()
                assert "not reachable" in item["lastError"]
                status = (await ext.storage())["status"]
                assert "not reachable" in status["lastError"]

                # Stop the worker: the next event starts a fresh one, which must find the queue in storage.
                await ext.worker.evaluate("globalThis.restartMarker = 1")
                cdp = await ext.context.new_cdp_session(await ext.open(fixture_site.url + "fonts.html"))
                await cdp.send("ServiceWorker.enable")
                await cdp.send("ServiceWorker.stopAllWorkers")
                await start(server)
                # Nothing here touches the extension: the backoff's alarm wakes the worker, which sends the page.
                await wait_for(lambda: _stored(server), "the queued page at the server")
                assert await ext.worker.evaluate("globalThis.restartMarker") is None, "the worker was not restarted"
                await wait_for(lambda: _empty_queue(ext), "the queue to drain")
                # Ask for another send: nothing is left to send, so nothing is stored twice.
                await ext.message({"type": "flush"})
                return await server_snapshots(server), (await ext.storage())["status"]
        finally:
            server.stop()

    stored, status = run(scenario())
    assert [s["url"] for s in stored] == [fixture_site.url + "basics.html"]
    assert status["sent"] == 1 and status["lastError"] is None


async def _stored(server: ServeProcess) -> bool:
    return bool(await server_snapshots(server))


async def _attempted(ext: Extension) -> bool:
    return any(item["attempts"] >= 1 for item in await ext.queued())


async def _empty_queue(ext: Extension) -> bool:
    return not await ext.queued()


def test_refused_record_is_set_aside_not_lost(extension_dir, tmp_path):
    """A record the server refuses (422) moves to the failed list, shown in the popup, until discarded."""

    async def scenario():
        server = await start(ServeProcess(tmp_path / "data"))
        try:
            async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
                await ext.configure(serverUrl=server.url, token=server.token)
                await ext.worker.evaluate("tinywebQueue.enqueue({url: 'https://example.com/', html: ''})")
                await ext.message({"type": "flush"})
                storage = await ext.storage()
                failed = [v for k, v in storage.items() if k.startswith("failed:")]
                popup = await ext.popup()
                await expect(popup.locator("#failed")).to_have_text("1")
                shown = await popup.text_content("#last-error")
                await popup.click("#discard-failed")
                await expect(popup.locator("#failed")).to_have_text("0")
                return failed, shown, await ext.storage(), await server_snapshots(server)
        finally:
            server.stop()

    failed, shown, storage, stored = run(scenario())
    assert len(failed) == 1 and "422" in failed[0]["lastError"]
    assert "422" in shown and "https://example.com/" in shown
    assert not any(k.startswith(("failed:", "queue:")) for k in storage)
    assert stored == []


NOT_PERSONAL = "on 2024-01-15 at 10:30, v3.11.2, 10.0.0.1, $1,299.00, +5 %"
SCRUB_CASES = {
    "write to ann.lee+news@mail.example.org today": "write to xxx.xxx+xxxx@xxxx.xxxxxxx.xxx today",
    "call +44 20 7946 0958 or (555) 123-4567": "call +00 00 0000 0000 or (000) 000-0000",
    "fax 555.123.4567, desk 0171 234 5678": "fax 000.000.0000, desk 0000 000 0000",
    # Dates, times, versions, IP addresses, prices and percentages stay as they are.
    NOT_PERSONAL: NOT_PERSONAL,
}


def test_privacy_and_settings_rules_in_the_worker(extension_dir, tmp_path):
    """The worker's own scrubbing and refusal rules, evaluated where they run."""

    async def scenario():
        async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
            scrubbed = await ext.worker.evaluate("c => c.map(t => tinywebPrivacy.scrubText(t))", list(SCRUB_CASES))
            html = (
                '<p style="margin: 0px 555-123-4567" title="bo@x.io">Mail bo@x.io</p>'
                '<style>[data-tw="1"]::before { content: "a@b.cd 555-123-4567"; }</style>'
            )
            scrubbed_html = await ext.worker.evaluate("h => tinywebPrivacy.scrubHtml(h)", html)
            checks = await ext.worker.evaluate(
                """() => {
                  const S = tinywebSettings;
                  const settings = {denylist: S.DEFAULT_DENYLIST, allowlist: ["example.com"], autoCapture: true};
                  const refuse = (url, incognito) => S.refusal(url, incognito, settings);
                  const server = (url) => { try { return S.normalizeServerUrl(url); } catch (e) { return "refused"; } };
                  return {
                    chrome: refuse("chrome://settings/", false),
                    extension: refuse("chrome-extension://abc/popup.html", false),
                    incognito: refuse("https://example.com/", true),
                    gmail: refuse("https://mail.google.com/mail/u/0/", false),
                    bank: refuse("https://online.mybank.bank/", false),
                    fine: refuse("https://www.example.com/a", false),
                    autoSub: S.autoCaptures("https://blog.example.com/", false, settings),
                    autoOther: S.autoCaptures("https://example.org/", false, settings),
                    autoOff: S.autoCaptures("https://example.com/", false, {...settings, autoCapture: false}),
                    origins: S.allowlistOrigins(["example.com", "127.0.0.1", "10.0.0.2"]),
                    local: server("http://localhost:8765/path"),
                    remote: server("http://192.168.1.5:8765"),
                    remoteName: server("https://example.com"),
                    domains: S.parseDomainList(
                      "*.Example.com\\nhttps://shop.example.org/cart\\n# note\\n\\nexample.com"),
                    widths: [
                      S.secondWidthSkip({phoneWidth: "manual"}, "manual", 1280, true),
                      S.secondWidthSkip({phoneWidth: "manual"}, "auto", 1280, true),
                      S.secondWidthSkip({phoneWidth: "always"}, "auto", 1280, true),
                      S.secondWidthSkip({phoneWidth: "always"}, "manual", 1280, false),
                      S.secondWidthSkip({phoneWidth: "always"}, "manual", 390, true),
                      S.secondWidthSkip({phoneWidth: "never"}, "manual", 1280, true),
                    ],
                  };
                }"""
            )
            bad_mode = await ext.worker.evaluate(
                "tinywebSettings.saveSettings({phoneWidth: 'sometimes'}).then(() => 'saved', (e) => e.message)"
            )
            manifest = json.loads((extension_dir / "manifest.json").read_text())
            return scrubbed, scrubbed_html, checks, manifest, bad_mode

    scrubbed, scrubbed_html, checks, manifest, bad_mode = run(scenario())
    assert scrubbed == list(SCRUB_CASES.values())
    assert scrubbed_html == (
        '<p style="margin: 0px 555-123-4567" title="xx@x.xx">Mail xx@x.xx</p>'
        '<style>[data-tw="1"]::before { content: "a@b.cd 555-123-4567"; }</style>'
    )
    assert "browser-internal" in checks["chrome"] and "browser-internal" in checks["extension"]
    assert "private" in checks["incognito"]
    assert "denylist" in checks["gmail"] and "denylist" in checks["bank"]
    assert checks["fine"] is None
    assert checks["autoSub"] is True and checks["autoOther"] is False and checks["autoOff"] is False
    # Auto-capture asks for each allowlisted site and its subdomains, never for the server's own hosts.
    assert checks["origins"] == ["*://example.com/*", "*://*.example.com/*", "*://10.0.0.2/*"]
    assert checks["local"] == "http://localhost:8765"
    assert checks["remote"] == "refused" and checks["remoteName"] == "refused"
    assert checks["domains"] == ["example.com", "shop.example.org"]
    manual, auto, always, firefox, narrow, never = checks["widths"]
    assert manual is None and always is None, "the phone width is captured"
    assert "auto-captures keep the page at the window's width" in auto
    assert "this browser cannot show a page at a second width" in firefox
    assert narrow == "extension: the window is 390 px wide, a phone width already"
    assert never == "extension: the phone width is turned off in the options"
    assert bad_mode == "the phone width setting must be one of manual, always, never, not sometimes"
    assert manifest["incognito"] == "not_allowed"
    assert set(manifest["host_permissions"]) == {"http://127.0.0.1/*", "http://localhost/*"}


def test_make_extension_builds_both_browsers(tmp_path):
    """The build script writes a loadable folder and a zip per browser; Firefox gets an event page."""
    subprocess.run(["node", str(EXTENSION / "scripts" / "build.js"), "--out", str(tmp_path), "--zip"], check=True)
    version = json.loads((EXTENSION / "src" / "manifest.json").read_text())["version"]
    for browser in ("chromium", "firefox"):
        with zipfile.ZipFile(tmp_path / f"tinyweb-{browser}-{version}.zip") as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("manifest.json"))
        assert {"background.js", "capture/capture.js", "capture/widths.js", "popup.html", "lib/queue.js"} <= names
        if browser == "chromium":
            assert manifest["background"] == {"service_worker": "background.js"}
            assert "debugger" in manifest["permissions"], "Chromium shows the page at phone width with it"
            assert "lib/phone.js" in names
        else:
            assert manifest["background"]["scripts"][-1] == "background.js"
            assert "capture/widths.js" in manifest["background"]["scripts"]
            assert manifest["browser_specific_settings"]["gecko"]["id"]
            assert "debugger" not in manifest["permissions"], "Firefox has no debugger API for extensions"
            assert "lib/phone.js" not in names
    # The extension injects the very capture scripts the crawler uses.
    for name in ("capture.js", "widths.js"):
        shipped = (tmp_path / "chromium" / "capture" / name).read_text()
        assert shipped == (EXTENSION / "src" / "capture" / name).read_text()


async def impostor(received: list[dict]) -> tuple[web.AppRunner, str]:
    """A program on another loopback port that answers like tinyweb serve but does not hold the token: it
    records every request it gets."""

    async def record(request: web.Request) -> web.Response:
        received.append({"path": request.path, "headers": dict(request.headers), "body": await request.text()})
        if request.path == "/api/health":
            return web.json_response({"status": "ok", "version": "0.1.0", "proof": "made-up"})
        return web.json_response({"id": "0" * 32, "created": True}, status=201)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def test_token_and_snapshots_go_only_to_the_paired_server(extension_dir, tmp_path):
    """Another listener on the server's port (here: another port, named in the settings) gets neither the token
    nor the queue: it cannot prove it holds the token. The paired server then gets the snapshot."""

    async def scenario():
        received: list[dict] = []
        runner, url = await impostor(received)
        server = await start(ServeProcess(tmp_path / "data"))
        try:
            async with chromium_with_extension(extension_dir, tmp_path / "profile") as ext:
                await ext.configure(serverUrl=url, token=server.token)
                record = make_snapshot(7).model_dump(mode="json")
                await ext.worker.evaluate("r => tinywebQueue.enqueue(r)", record)
                await ext.message({"type": "flush"})
                refused = await ext.message({"type": "testConnection"})
                queued_after_impostor = await ext.queued()
                await ext.configure(serverUrl=server.url.rstrip("/"))
                connected = await ext.message({"type": "testConnection"})
                await ext.message({"type": "flush"})
                stored = [snap["url"] for snap in await server_snapshots(server)]
                return received, refused, queued_after_impostor, connected, await ext.storage(), stored
        finally:
            server.stop()
            await runner.cleanup()

    received, refused, queued_after_impostor, connected, storage, stored = run(scenario())
    assert received and all(r["path"] == "/api/health" for r in received), [r["path"] for r in received]
    assert not any("authorization" in {k.lower() for k in r["headers"]} for r in received)
    assert all(r["body"] == "" for r in received)
    assert (
        len(queued_after_impostor) == 1
        and "could not prove it holds the token" in queued_after_impostor[0]["lastError"]
    )
    assert refused["ok"] is False and "could not prove" in refused["error"]
    assert connected["ok"] is True
    assert not any(k.startswith(("queue:", "failed:")) for k in storage)
    assert stored == [make_snapshot(7).url], "the paired server got the snapshot"
