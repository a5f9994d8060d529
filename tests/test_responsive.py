"""Responsive capture: the page at several widths in real Chromium, one snapshot with @media rules."""

from __future__ import annotations

import re

from click.testing import CliRunner
from lxml import html as lxml_html

from tests.conftest import run
from tinyweb.capture.browser import Browser, BrowserOptions, capture_url, ensure_script
from tinyweb.capture.responsive import DEFAULT_VIEWPORTS, REVERT, media_rules
from tinyweb.cli import main
from tinyweb.fidelity import measure_widths
from tinyweb.snapshot import Viewport
from tinyweb.store import Store

TABLET = Viewport(width=768, height=1024)


async def measure(url: str, viewports: list[Viewport]):
    async with Browser(BrowserOptions(viewport=viewports[0], block_external=True)) as browser:
        return await measure_widths(browser, url, viewports)


def media_block(document: str) -> dict[str, dict[str, dict[tuple[str, str], dict[str, str]]]]:
    """query -> data-tw key -> (pseudo selector, style) of a snapshot's <style data-tw-media>."""
    found = re.search(r"<style data-tw-media>(.*?)</style>", document, re.S)
    assert found, "no media block"
    out: dict = {}
    for query, items in media_rules(found.group(1)):
        for key, selector, style in items:
            out.setdefault(query, {}).setdefault(key, {})[selector] = style
    return out


def key_of(document: str, xpath: str) -> str:
    (el,) = lxml_html.document_fromstring(document).xpath(xpath)
    return el.get("data-tw")


def test_collapsing_nav_one_column_grid_and_hidden_on_mobile(fixture_site):
    """Desktop, tablet and phone widths: the snapshot renders every one like the live page, pixel for pixel
    and element for element, and its @media rules say what the page's own media queries did."""
    viewports = [DEFAULT_VIEWPORTS[0], TABLET, DEFAULT_VIEWPORTS[1]]
    fids = run(measure(fixture_site.url + "responsive.html", viewports))
    assert [f.viewport for f in fids] == viewports
    for fid in fids:
        assert fid.pixel_share == 1.0, fid.summary()
        assert fid.styles.share == 1.0, f"{fid.summary()}: {fid.styles.differing}"
        assert fid.live_size == fid.snapshot_size
    snap = fids[0].snapshot
    assert snap.viewports == viewports and snap.single_width is None
    doc = snap.html
    media = media_block(doc)
    # Each narrower width gets a block that applies up to the next common breakpoint (wider one first).
    assert list(media) == ["(max-width: 991.98px)", "(max-width: 575.98px)"]
    tablet = media["(max-width: 991.98px)"]
    ul, burger = key_of(doc, "//nav/ul"), key_of(doc, "//nav/span[@role='button']")
    grid, aside = key_of(doc, "//section[2]"), key_of(doc, "//p[contains(., 'Desktop visitors')]")
    h1, brand, card_title = key_of(doc, "//h1"), key_of(doc, "//nav/span[1]"), key_of(doc, "(//h2)[1]")
    assert tablet[ul][""] == {"display": "none"}  # the nav collapses...
    assert tablet[burger][""] == {"display": "block"}  # ...behind a menu button
    assert tablet[grid][""]["grid-template-columns"] == "1fr"  # three columns become one
    assert tablet[aside][""] == {"display": "none"}  # hidden on mobile
    # A declaration the narrow page does not have is handed back to the element's default.
    assert tablet[h1][""] == {"font-size": REVERT}
    assert tablet[card_title]["::after"]["content"] == REVERT  # the arrow after card titles goes
    # The phone block applies on top of the tablet one: it holds only what changes again.
    phone = media["(max-width: 575.98px)"]
    assert phone == {h1: {"": {"font-size": "26px"}}, brand: {"": {"font-size": "18px"}}}
    # The desktop rendering is unchanged: the base styles are inline, as in a one-width capture.
    assert 'style="column-gap: 24px; display: grid;' in doc


def test_dom_changed_by_a_resize_handler_keeps_one_width(fixture_site):
    """A resize handler that moves elements breaks the element correspondence: the desktop capture is kept
    and the snapshot says why."""

    async def scenario():
        async with Browser(BrowserOptions(block_external=True)) as browser:
            page = await browser.new_page()
            snap = await capture_url(page, fixture_site.url + "resize-handler.html", viewports=DEFAULT_VIEWPORTS)
            restored = await page.evaluate("[innerWidth, innerHeight]")
            return snap, restored

    snap, restored = run(scenario())
    assert snap.single_width.startswith("dom_changed: the page changed when resized to 390x844")
    assert snap.viewports == [DEFAULT_VIEWPORTS[0]]
    assert "data-tw-media" not in snap.html and "data-tw-i" not in snap.html
    assert restored == [1280, 800], "the tab is back at the desktop width for the next page"


MERGE_CASES_JS = """() => {
  const m = globalThis.tinywebMergeWidths;
  const wide = {display: "flex", "padding-top": "16px", color: "red"};
  const narrow = {display: "block", "padding-top": "16px", "font-size": "12px"};
  const delta = m.styleDelta(narrow, wide);
  const doc = (body) => "<!DOCTYPE html><html><head><title>t</title></head><body>" + body + "</body></html>";
  const pass = (html, marks) => ({html, marks});
  const a = pass(doc('<p style="color: red" data-tw-i="1">x</p><b data-tw="0" data-tw-i="2">y</b>'), {
    1: {tag: "p", style: "color: red", key: null, pseudo: []},
    2: {tag: "b", style: "", key: "0", pseudo: [["::before", 'content: "a;b"; color: red']]}});
  const b = pass(a.html, {
    1: {tag: "p", style: "color: blue; font-family: \\"A;B\\", serif", key: null, pseudo: []},
    2: {tag: "b", style: "", key: "0", pseudo: []}});
  const moved = pass(a.html, {1: {tag: "div", style: "", key: null, pseudo: []}, 2: b.marks[2]});
  return {
    delta, back: m.applyDelta(wide, delta), same: m.styleDelta(wide, wide),
    points: [m.breakpointFor(390, 1280), m.breakpointFor(768, 1280), m.breakpointFor(1000, 1100)],
    decls: Array.from(m.parseDeclarations('content: "a;b"; background-image: url("x;y.png"); color: red')),
    merged: m([a, b], [1280, 390]),
    kept: m([a, b], [1280, 390], {keepMarks: true}).html,
    unchanged: m([a, a], [1280, 390]),
    moved: m([a, moved], [1280, 390]),
  };
}"""


def test_width_merge_in_the_shared_script(fixture_site):
    """widths.js, the merge the crawler and the extension share, run in Chromium on hand-made passes."""

    async def go():
        async with Browser(BrowserOptions(block_external=True)) as browser:
            page = await browser.new_page()
            await page.goto(fixture_site.url + "responsive.html")
            await ensure_script(page)
            return await page.evaluate(MERGE_CASES_JS)

    out = run(go())
    assert out["delta"] == {"display": "block", "font-size": "12px", "color": REVERT}
    assert out["back"] == {"display": "block", "padding-top": "16px", "font-size": "12px"}
    assert out["same"] == {}
    assert out["points"] == [575.98, 991.98, 1000], "the first common breakpoint between the widths, else the width"
    assert out["decls"] == [["content", '"a;b"'], ["background-image", 'url("x;y.png")'], ["color", "red"]]
    merged = out["merged"]
    assert merged["singleWidth"] is None and "data-tw-i" not in merged["html"]
    assert '<p style="color: red" data-tw="1">' in merged["html"], "a new key after the page's own (0)"
    (query, items) = media_rules(re.search(r"<style data-tw-media>(.*?)</style>", merged["html"], re.S).group(1))[0]
    assert query == "(max-width: 575.98px)"
    assert items == [
        ("1", "", {"color": "blue", "font-family": '"A;B", serif'}),
        ("0", "::before", {"content": REVERT, "color": REVERT}),
    ]
    assert 'data-tw="1" data-tw-i="1"' in out["kept"]
    plain = '<!DOCTYPE html><html><head><title>t</title></head><body><p style="color: red">x</p><b data-tw="0">y</b>'
    assert out["unchanged"] == {"html": plain + "</body></html>", "singleWidth": None}, "no differences, no block"
    assert out["moved"]["singleWidth"] == "dom_changed: element 1 is <p> at one width and <div> at the other"


def test_crawl_cli_takes_several_viewports(fixture_site, tmp_path):
    data = tmp_path / "data"
    url = fixture_site.url + "responsive.html"
    args = ["crawl", url, "--data", str(data), "--max-depth", "0", "--block-external", "--delay", "0"]
    result = CliRunner().invoke(main, [*args, "--viewport", "390x844", "--viewport", "1280x800"])
    assert result.exit_code == 0, result.output
    with Store(data) as store:
        (snap,) = list(store.iter_snapshots())
    assert [str(v) for v in snap.viewports] == ["1280x800", "390x844"], "widest first, whatever the order given"
    assert "@media (max-width: 575.98px)" in snap.html and "data-tw-i" not in snap.html
    result = CliRunner().invoke(main, [*args, "--viewport", "390x844", "--viewport", "390x700"])
    assert result.exit_code != 0 and "each --viewport needs its own width" in result.output


def test_every_class_a_semantic_page_uses_is_defined(demo_build):
    """The framework's class list (what evaluation checks generated pages against) includes the per-width
    classes inside its @media block."""
    from tinyweb.learn.runs import framework_classes

    out, _ = demo_build
    defined = framework_classes((out / "semantic-css-framework.css").read_text())
    used = set()
    for page in (out / "pages").glob("*.html"):
        for el in lxml_html.document_fromstring(page.read_text()).iter():
            if isinstance(el.tag, str):
                used.update((el.get("class") or "").split())
    assert used <= defined, sorted(used - defined)[:10]
    assert any(name.endswith("-phone") for name in used)
