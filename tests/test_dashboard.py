"""The dashboard at / driven in real Chromium against `tinyweb serve` on 127.0.0.1 with three stored snapshots."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, Route, async_playwright, expect

from tests.server_process import ServeProcess
from tinyweb.capture.browser import CHROMIUM_ARGS, chromium_path
from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.store import Store

NOT_RUN = "the page's script did not run"
RAN = "the page's script ran"
TITLES = ["Alpha page", "Beta page", "Gamma page"]


def page_snapshot(title: str) -> Snapshot:
    """A stored page whose inline script, if it ran, would rewrite the marker paragraph."""
    html = (
        f"<html><head><title>{title}</title></head><body><h1>{title} heading</h1>"
        f'<p id="marker">{NOT_RUN}</p>'
        f"<script>document.getElementById('marker').textContent = {RAN!r};</script></body></html>"
    )
    url = f"https://example.com/{title.split()[0].lower()}"
    return Snapshot(
        url=url, html=html, title=title, stats=CaptureStats(element_count=5, raw_html_bytes=0, capture_ms=1)
    )


def row(page: Page, title: str):
    return page.locator("#rows tr").filter(has_text=title)


async def without_csp(route: Route) -> None:
    """The control: the same page with the server's Content-Security-Policy header taken off."""
    response = await route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    await route.fulfill(response=response, headers=headers)


async def drive_dashboard(server: ServeProcess, snaps: dict[str, Snapshot]) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(server.url)

            await page.fill("#token", "not-the-token")
            await page.click("#load")
            await expect(page.locator("#error")).to_contain_text("wrong token")
            await expect(page.locator("#rows tr")).to_have_count(0)

            await page.fill("#token", server.token)
            await page.click("#load")
            await expect(page.locator("#rows tr")).to_have_count(3)
            await expect(page.locator("#error")).to_have_text("")
            await expect(page.locator("#rows tr td:first-child")).to_have_text(TITLES[::-1])  # newest first
            await expect(page.locator("#stats")).to_contain_text("3 snapshots")
            await expect(page.locator("#stats")).to_contain_text("1 domains")

            beta = snaps["Beta page"]
            await row(page, "Beta page").get_by_role("button", name="preview").click()
            preview = page.frame_locator("#preview")
            await expect(preview.locator("h1")).to_have_text("Beta page heading")
            await expect(preview.locator("#marker")).to_have_text(NOT_RUN)
            frame_url = await page.locator("#preview").get_attribute("src")
            assert frame_url.startswith(f"/api/snapshots/{beta.id}/html?token=")

            # The server's CSP alone keeps the script from running, outside the dashboard's sandboxed iframe too;
            # without that header the same page's script does run, so the marker really tells.
            html_url = f"{server.url}api/snapshots/{beta.id}/html?token={server.token}"
            direct = await browser.new_page()
            await direct.goto(html_url)
            await expect(direct.locator("#marker")).to_have_text(NOT_RUN)
            await direct.route(html_url, without_csp)
            await direct.reload()
            await expect(direct.locator("#marker")).to_have_text(RAN)

            await row(page, "Alpha page").get_by_role("button", name="delete").click()
            await expect(page.locator("#rows tr")).to_have_count(2)
            await expect(page.locator("#rows tr td:first-child")).to_have_text(["Gamma page", "Beta page"])
            await expect(page.locator("#stats")).to_contain_text("2 snapshots")
            assert errors == []
        finally:
            await browser.close()


def test_dashboard_lists_previews_and_deletes(tmp_path):
    data_dir = tmp_path / "data"
    snaps = {title: page_snapshot(title) for title in TITLES}
    with Store(data_dir) as store:
        for snap in snaps.values():  # one at a time, so each has its own stored_at
            store.add(snap)
    with ServeProcess(data_dir) as server:
        asyncio.run(drive_dashboard(server, snaps))
    with Store(data_dir) as store:
        assert store.get(snaps["Alpha page"].id) is None
        assert sorted(store.ids()) == sorted(snaps[t].id for t in ("Beta page", "Gamma page"))
