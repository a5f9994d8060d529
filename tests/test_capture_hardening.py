"""What the capture script keeps out of a snapshot (issue 20), in real Chromium: text typed into editable
regions, credentials in URLs, and every way of spelling a script URL, inside SVG as outside."""

from __future__ import annotations

import re

from lxml import html as lxml_html

from tests.conftest import run
from tinyweb.capture.browser import Browser, BrowserOptions, capture_loaded_page, capture_url, load, settle

TYPED = ["TYPED-COMPOSE-1", "TYPED-NESTED-2", "TYPED-PLAIN-3", "TYPED-ISLAND-4", "TYPED-FRAME-5"]


def test_text_typed_into_editable_regions_is_never_captured(fixture_site):
    async def go():
        async with Browser(BrowserOptions(block_external=True)) as browser:
            page = await browser.new_page()
            await load(page, fixture_site.url + "editable.html", 30)
            for selector, text in zip(("#compose", "#nested", "#plain", "#island"), TYPED, strict=False):
                await page.click(selector)
                await page.keyboard.press("End")
                await page.keyboard.type(" " + text + "\nsecond line")
            frame = page.frame_locator("#frame")
            await frame.locator("body").click()
            await page.keyboard.type(TYPED[4])
            await settle(page)
            typed = await page.evaluate("() => document.body.innerText + frames[0].document.body.innerText")
            box = await page.evaluate("() => { const s = getComputedStyle(compose); return [s.width, s.height]; }")
            snap = await capture_loaded_page(page, seedFormat="text")
            return typed, box, snap

    typed, (width, height), snap = run(go())
    assert all(text in typed for text in TYPED), "the typing reached the live page"
    record = snap.model_dump_json()
    for text in [*TYPED, "AUTHORED-DRAFT", "ISLAND-TEXT", "second line"]:
        assert text not in record, text
    assert "Visible page text stays." in snap.text and "After the editors." in snap.text
    assert "Write a message" in snap.html
    tree = lxml_html.document_fromstring(snap.html)
    compose = tree.xpath("//div[@aria-label='Compose']")[0]
    assert len(compose) == 0 and not (compose.text or "").strip(), "the region is left empty"
    style = compose.get("style")
    assert f"width: {width}" in style and f"height: {height}" in style, "and keeps its box"
    assert float(height.removesuffix("px")) > 60, "the box is the typed-into one, taller than its min-height"
    assert tree.xpath("//div[@aria-label='Plain']") and tree.xpath("//div[@aria-label='Island']")


SECRETS = [
    "SESSION-SECRET",
    "FRAG-SECRET",
    "RESET-SECRET",
    "FRAGMENT-SECRET",
    "USER-SECRET",
    "PASS-SECRET",
    "SID-SECRET",
    "IDTOKEN-SECRET",
    "AMZ-CRED-SECRET",
    "AMZ-SIG-SECRET",
    "KEY-SECRET",
    "APIKEY-SECRET",
    "CSS-SIG-SECRET",
    "OG-SESSION-SECRET",
    "SVG-VALUE-SECRET",
    "SVG-IMAGE-SECRET",
    "FOREIGN-PASSWORD-SECRET",
    "SRCDOC-SECRET",
]


def capture_urls_page(fixture_site):
    url = fixture_site.url + "urls.html?session=SESSION-SECRET&page=2#access_token=FRAG-SECRET&x=1"

    async def go():
        async with Browser(BrowserOptions(block_external=True)) as browser:
            return await capture_url(await browser.new_page(), url, seedFormat="text")

    return run(go())


def test_credentials_in_urls_are_stripped_everywhere(fixture_site):
    snap = capture_urls_page(fixture_site)
    record = snap.model_dump_json()
    for secret in SECRETS:
        assert secret not in record, secret
    assert snap.url == fixture_site.url + "urls.html?page=2#x=1"
    tree = lxml_html.document_fromstring(snap.html)
    assert tree.find("head/base").get("href") == snap.url
    links = {a.text: a.get("href") for a in tree.iter("a")}
    assert links["Reset your password"] == fixture_site.url + "reset?lang=en"
    assert links["Magic link"] == "https://example.com/login"
    assert links["Login"] == "https://example.com/in"
    assert links["App"] == "https://example.com/app#view=inbox"  # a parameter named like a secret goes whole
    assert links["Mail"] == "mailto:team@example.com" and links["Call"] == "tel:+15550100"
    img = {i.get("alt"): i for i in tree.iter("img")}
    assert img["signed"].get("src") == "https://bucket.s3.amazonaws.com/a.png?w=10"
    assert img["srcset"].get("srcset") == f"{fixture_site.url}pixel.png 1x, {fixture_site.url}photo0.png 3x"
    assert img["dot"].get("src").startswith("data:image/png;base64,")
    assert tree.xpath("//form/@action") == [fixture_site.url + "search?q=cats"]
    assert f"url(&quot;{fixture_site.url}pixel.png?v=3&quot;)" in snap.html, "a safe CSS URL stays, less its secret"
    assert snap.og["url"] == "https://example.com/share?ref=og"


def test_script_urls_are_dropped_however_they_are_spelled(fixture_site):
    snap = capture_urls_page(fixture_site)
    for html in (snap.html, snap.seed_format_html):
        assert not re.search(r"javascript|vbscript|data:text", html, re.IGNORECASE), re.findall(
            r".{60}(?:javascript|vbscript|data:text).{20}", html, re.IGNORECASE
        )
    tree = lxml_html.document_fromstring(snap.html)
    links = {a.text: a.get("href") for a in tree.iter("a") if a.text}
    for text in ("tab", "control", "case", "newline", "foreign link"):
        assert links[text] == "#", (text, links[text])
    assert tree.xpath("//iframe[@title='vb' and not(@src)]")
    assert tree.xpath("//img[@alt='html' and not(@src)]")
    assert tree.xpath("//object[not(@data)]")
    assert "background-image: none" in snap.html, "a script URL in CSS becomes none"
    svg = tree.xpath("//*[local-name()='svg']")[0]
    assert not svg.xpath(".//*[local-name()='set']"), "an animation that sets a link is dropped"
    assert not svg.xpath(".//*[@value]") and not tree.xpath("//*[@srcdoc]")
    assert svg.xpath(".//*[local-name()='circle']") and svg.xpath(".//*[local-name()='input' and @type='password']")
