"""The capture script on fixture pages for each tricky case, in real Chromium: pixels and styles survive."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from tests.conftest import measure_all, run
from tinyweb.capture.browser import Browser, BrowserOptions, capture_loaded_page, capture_url, load, settle
from tinyweb.errors import CaptureError
from tinyweb.staticserver import StaticServer

FIDELITY_FIXTURES = [
    "basics.html",
    "quirks.html",
    "shadow.html",
    "lazy.html",
    "animations.html",
    "fonts.html",
    "canvas-svg.html",
    "svg-symbols.html",
]


@pytest.fixture(scope="module")
def fixture_fidelity(fixture_site):
    return run(measure_all(fixture_site.url, FIDELITY_FIXTURES))


@pytest.mark.parametrize("page", FIDELITY_FIXTURES)
def test_fixture_renders_identically(fixture_fidelity, page):
    fid = fixture_fidelity[page]
    assert fid.pixel_share == 1.0, fid.summary()
    assert fid.live_size == fid.snapshot_size
    assert fid.styles.share == 1.0, f"{fid.summary()}: {fid.styles.differing}"


def snapshot_tree(fid):
    return lxml_html.document_fromstring(fid.snapshot.html)


def test_output_is_a_clean_complete_document(fixture_fidelity, fixture_site):
    snap = fixture_fidelity["basics.html"].snapshot
    assert snap.html.startswith('<!DOCTYPE html><html lang="en"')
    tree = lxml_html.document_fromstring(snap.html)
    head = tree.find("head")
    assert head.find("meta").get("charset") == "utf-8"
    assert head.findtext("title") == "Basics fixture"
    assert head.find("base").get("href") == fixture_site.url + "basics.html"
    assert not tree.xpath("//script | //link | //noscript | //comment()")
    assert len(tree.xpath("//style")) == 1, "one generated style block only"
    assert not tree.xpath("//*[@class or @id or @onclick]")
    keys = [k for k in tree.xpath("//@*[starts-with(name(), 'data-')]/..") if k.get("data-tw") is None]
    assert all(el.get("data-tw-i") for el in keys), "only capture-owned data attributes remain"
    hrefs = tree.xpath("//a/@href")
    assert fixture_site.url + "other.html" in hrefs and all(h.startswith("http") for h in hrefs)
    assert tree.xpath("//td[@colspan='2']"), "semantic attributes are kept"
    assert tree.xpath("//input[@placeholder='Search' and @type='text']")


def test_declarations_are_pruned(fixture_fidelity):
    html = fixture_fidelity["basics.html"].snapshot.html
    styles = re.findall(r' style="([^"]*)"', html)
    assert not any("--accent" in s for s in styles), "custom properties are substituted already"
    assert not re.search(r"(^|; )(margin|padding|border)-(block|inline)", " ".join(styles)), "no logical twins"
    assert "transition" not in html and "animation" not in html and "-webkit-locale" not in html
    # body sets the font once; its children inherit it instead of repeating it.
    assert html.count("font-family: &quot;Liberation Serif&quot;") == 1
    # Computed, not used, values: the centring transform and the grid stay relative.
    assert "translate(-50%, -50%)" in html
    assert "grid-template-columns: repeat(3, 1fr)" in html


def test_pseudo_elements_go_to_one_style_block(fixture_fidelity):
    tree = snapshot_tree(fixture_fidelity["basics.html"])
    css = tree.xpath("//style")[0].text
    assert re.search(r'\[data-tw="\w+"\]::after \{ content: "new"', css)
    assert re.search(r'\[data-tw="\w+"\]::before \{ content: "“"', css)
    assert re.search(r'\[data-tw="\w+"\]::marker \{', css)
    assert re.search(r'\[data-tw="\w+"\]::first-letter \{', css)
    assert re.search(r'\[data-tw="\w+"\]::file-selector-button \{[^}]*background-color: rgb\(180, 68, 44\)', css)
    # getComputedStyle cannot read a slider's thumb: its rule is copied, var() resolved.
    assert re.search(r'\[data-tw="\w+"\]::-webkit-slider-thumb \{[^}]*background: rgb\(180, 68, 44\)|#b4442c', css)
    keyed = tree.xpath("//*[@data-tw]")
    assert len({el.get("data-tw") for el in keyed}) == len(keyed), "one key per element"


def test_used_font_faces_are_kept_with_absolute_urls(fixture_fidelity, fixture_site):
    fid = fixture_fidelity["fonts.html"]
    css = snapshot_tree(fid).xpath("//style")[0].text
    assert 'font-family: "Fixture Display"' in css and 'font-family: "Fixture Icons"' in css
    assert "Never Used" not in css, "only fonts the page uses"
    assert f'url("{fixture_site.url}fonts/display.ttf")' in css
    assert fid.snapshot.stats.font_faces == 2


def test_shadow_roots_are_flattened(fixture_fidelity):
    snap = fixture_fidelity["shadow.html"].snapshot
    tree = lxml_html.document_fromstring(snap.html)
    names = [el.text_content() for el in tree.xpath("//profile-card/h2")]
    assert names == ["Ada Lovelace", "Grace Hopper"], "slotted light DOM in place of the slot"
    assert not tree.xpath("//slot")
    assert tree.xpath("//fancy-button/button")


def test_lazy_and_scroll_triggered_content_is_captured(fixture_fidelity, fixture_site):
    lazy = fixture_fidelity["lazy.html"].snapshot.html
    assert f"{fixture_site.url}photo0.png" in lazy and f"{fixture_site.url}photo1.png" in lazy
    assert "photo2.png" in lazy, "background set by an IntersectionObserver"
    anim = fixture_fidelity["animations.html"].snapshot
    tree = lxml_html.document_fromstring(anim.html)
    revealed = tree.xpath("//section/h2")
    assert revealed and all("opacity: 0" not in (el.get("style") or "") for el in revealed)


def test_canvas_becomes_an_image_and_svg_references_survive(fixture_fidelity):
    tree = snapshot_tree(fixture_fidelity["canvas-svg.html"])
    assert not tree.xpath("//canvas")
    assert tree.xpath("//img[starts-with(@src, 'data:image/png;base64,')]")
    assert tree.xpath("//*[@fill='url(#g)']") and tree.xpath("//*[@id='g']/*[@stop-color]")
    symbols = snapshot_tree(fixture_fidelity["svg-symbols.html"])
    assert symbols.xpath("//symbol[@id='leaf']") and symbols.xpath("//use[@href='#leaf']")


def test_quirks_mode_is_kept(fixture_fidelity):
    snap = fixture_fidelity["quirks.html"].snapshot
    assert snap.stats.quirks_mode
    assert snap.html.startswith('<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">')


def test_metadata(fixture_fidelity, fixture_site):
    snap = fixture_fidelity["basics.html"].snapshot
    assert snap.url == fixture_site.url + "basics.html"
    assert snap.title == "Basics fixture"
    assert snap.description == "A fixture with the everyday CSS a capture must keep."
    assert snap.og == {"title": "Basics fixture", "type": "website"}
    assert snap.lang == "en"
    assert snap.meta_viewport == "width=device-width, initial-scale=1"
    assert snap.viewport.width == 1280 and snap.viewport.height == 800
    assert snap.device_pixel_ratio == 1
    assert "HeadlessChrome" in snap.user_agent or "Chrome" in snap.user_agent
    assert "Everyday CSS" in snap.text and "emphasis" in snap.text
    stats = snap.stats
    assert stats.element_count > 50 and stats.capture_ms > 0 and stats.value_mode == "computed"
    assert stats.seed_format_bytes > len(snap.html.encode()), "the prototype's format is bigger"
    assert stats.raw_html_bytes > 0


def test_privacy_nothing_typed_or_hidden_is_captured(fixture_site):
    secrets = ["TYPED-NAME-42", "TYPED-PASSWORD-99", "TYPED-NOTES-7", "CSRF-SECRET-TOKEN-123", "PRESET-PASSWORD"]

    async def go():
        async with Browser(BrowserOptions(block_external=True)) as browser:
            page = await browser.new_page()
            await load(page, fixture_site.url + "privacy.html", 30)
            await page.fill("#name", secrets[0])
            await page.fill("#password", secrets[1])
            await page.fill("#notes", secrets[2])
            await page.select_option("#plan", "pro")
            await page.check("#remember")
            await settle(page)
            return await capture_loaded_page(page, seedFormat="text")

    snap = run(go())
    record = snap.model_dump_json()
    for secret in secrets:
        assert secret not in record
    tree = lxml_html.document_fromstring(snap.html)
    assert not tree.xpath("//input[@type='hidden']")
    assert tree.xpath("//option[@value='free' and @selected]"), "the authored default, not the user's pick"
    assert not tree.xpath("//input[@name='remember' and @checked]")
    assert snap.seed_format_html and "TYPED" not in snap.seed_format_html


def test_trusted_types_page_without_csp_bypass(fixture_site):
    """With the page's Trusted Types enforced, the probe frame still gets a standards-mode document."""

    async def go():
        async with Browser(BrowserOptions(block_external=True, bypass_csp=False)) as browser:
            page = await browser.new_page()
            return await capture_url(page, fixture_site.url + "trusted-types.html")

    snap = run(go())
    assert "Strict CSP" in snap.html
    assert not [w for w in snap.warnings if "Trusted Types" in w], snap.warnings
    # UA list defaults read correctly: no list-style or margin noise on plain list items.
    assert "<li>Item</li>" in snap.html


def test_trusted_types_fidelity(fixture_site):
    fid = run(measure_all(fixture_site.url, ["trusted-types.html"], bypass_csp=False))["trusted-types.html"]
    assert fid.pixel_share == 1.0, fid.summary()


def test_very_large_page_is_refused_with_a_clear_error(fixture_site):
    async def go():
        async with Browser(BrowserOptions(block_external=True)) as browser:
            page = await browser.new_page()
            await load(page, fixture_site.url + "basics.html", 30)
            add_200 = "() => { for (let i = 0; i < 200; i++) document.body.append(document.createElement('p')) }"
            await page.evaluate(add_200)
            return await capture_loaded_page(page, maxElements=150)

    with pytest.raises(CaptureError) as err:
        run(go())
    assert err.value.reason == "too_large"
    assert "over the limit of 150" in str(err.value)


def test_cross_origin_stylesheets(tmp_path):
    """A stylesheet from another origin cannot be scanned by the page for the properties it sets. The crawler
    passes its text and a copy is scanned (one that failed to load adds nothing); without the text, every
    property is read. The snapshot is the same either way, and renders like the page."""
    css_dir, page_dir = tmp_path / "css", tmp_path / "page"
    css_dir.mkdir()
    page_dir.mkdir()
    (css_dir / "cross.css").write_text(
        "body { font-family: 'Liberation Sans', sans-serif; margin: 30px; }\n"
        "p { letter-spacing: 3px; text-shadow: 1px 1px 0 #c33; word-spacing: 6px; }\n"
        "input::-webkit-input-placeholder { color: rgb(200, 0, 0); }\n"
    )

    async def capture(url: str, **options) -> tuple:
        async with Browser(BrowserOptions(block_external=True)) as browser:
            page = await browser.new_page()
            await load(page, url, 30)
            await settle(page)
            return await capture_loaded_page(page, **options)

    with StaticServer(css_dir) as css_server:
        (page_dir / "page.html").write_text(
            f'<!DOCTYPE html><html><head><title>x</title><link rel="stylesheet" href="{css_server.url}cross.css">'
            '<link rel="stylesheet" href="http://127.0.0.1:9/unreachable.css">'
            '</head><body><p>Styled by a stylesheet of another origin.</p><input placeholder="Name"></body></html>'
        )
        with StaticServer(page_dir) as page_server:
            fid = run(measure_all(page_server.url, ["page.html"]))["page.html"]
            unread = run(capture(page_server.url + "page.html", sheetTexts=None))
    snap = fid.snapshot
    assert not any("not readable" in w for w in snap.warnings), snap.warnings
    assert "text-shadow: rgb(204, 51, 51) 1px 1px 0px" in snap.html
    assert re.search(r"::placeholder \{ color: rgb\(200, 0, 0\)", snap.html), "a prefixed placeholder rule counts"
    assert fid.pixel_share == 1.0, fid.summary()
    assert any("not readable (cross-origin)" in w for w in unread.warnings)
    assert "text-shadow: rgb(204, 51, 51) 1px 1px 0px" in unread.html


# Static fixtures: the same page captured twice gives the same snapshot.
PROBE_CACHE_FIXTURES = ["basics.html", "quirks.html", "shadow.html", "fonts.html", "svg-symbols.html", "privacy.html"]


def test_probe_cache_changes_nothing(fixture_site):
    """Probe references carried between captures (warm, then every one from the cache) give exactly the
    snapshots that probing afresh gives, in standards and quirks mode alike."""

    async def capture_all(browser: Browser) -> list[tuple[str, object]]:
        out = []
        for path in PROBE_CACHE_FIXTURES:
            page = await browser.new_page()
            try:
                snap = await capture_url(page, fixture_site.url + path)
            finally:
                await page.close()
            stats = browser.probe_cache.last if browser.probe_cache else None
            out.append((snap.html, stats))
        return out

    async def go():
        async with Browser(BrowserOptions(block_external=True, probe_cache=False)) as browser:
            fresh = await capture_all(browser)
        async with Browser(BrowserOptions(block_external=True)) as browser:
            first = await capture_all(browser)
            again = await capture_all(browser)
        return fresh, first, again

    fresh, first, again = run(go())
    runs = zip(PROBE_CACHE_FIXTURES, fresh, first, again, strict=True)
    for path, (html, _), (first_html, _), (again_html, stats) in runs:
        assert first_html == html, f"{path}: the cache's first pass differs from probing afresh"
        assert again_html == html, f"{path}: references from the cache differ from probing afresh"
        assert stats.misses == 0 and stats.hits > 0, f"{path}: {stats}"
    assert first[1][1].hits == 0, "quirks mode has defaults of its own: nothing is reused from standards mode"
    assert first[2][1].hits > 0, "the third page (standards mode) reuses the first one's probes"


def test_settle_scrolls_only_pages_that_watch_scrolling(tmp_path):
    """Scrolling through a page costs two frames a screen: it is skipped where nothing can react to it,
    and content revealed by a scroll listener (not an IntersectionObserver) is still captured."""
    tall = '<div style="height: 3000px">tall</div>'
    pages = {
        "still.html": f"<!DOCTYPE html><title>s</title>{tall}<p>end</p>",
        "observer.html": f"<!DOCTYPE html><title>o</title>{tall}<p id=x>end</p>"
        "<script>new IntersectionObserver(() => {}).observe(document.getElementById('x'))</script>",
        "handler.html": f"<!DOCTYPE html><title>h</title>{tall}<p>end</p><script>window.onscroll = () => {{}}</script>",
        "listener.html": f"<!DOCTYPE html><title>l</title>{tall}"
        '<p id=x style="opacity: 0">revealed</p><script>'
        "document.addEventListener('scroll', () => { const p = document.getElementById('x');"
        " if (p.getBoundingClientRect().top < innerHeight) p.style.opacity = 1 })</script>",
    }
    for name, html in pages.items():
        (tmp_path / name).write_text(html)

    async def go():
        out = {}
        async with Browser(BrowserOptions(block_external=True)) as browser:
            for name in pages:
                page = await browser.new_page()
                await load(page, server.url + name, 30)
                out[name] = await settle(page)
                if name == "listener.html":
                    out["revealed"] = await capture_loaded_page(page)
                await page.close()
        return out

    with StaticServer(tmp_path) as server:
        result = run(go())
    assert not result["still.html"]["scrolled"] and result["still.html"]["screens"] == 0
    for name in ("observer.html", "handler.html", "listener.html"):
        assert result[name]["scrolled"] and result[name]["screens"] >= 4, name
    assert "opacity: 0" not in result["revealed"].html
