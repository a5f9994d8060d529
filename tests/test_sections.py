"""Sections: a page cut into blocks that render alone as in the page, labelled, and put back together."""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest
from lxml import html as lxml_html

from tinyweb.dataset.describe import describe
from tinyweb.dataset.fit import framework_keeps, framework_style
from tinyweb.dataset.sectioncheck import check_sections, summary
from tinyweb.dataset.sections import assemble, one_column, split_page, stacks
from tinyweb.models import count_tokens

FIXTURE = Path(__file__).parent / "data" / "fixtures" / "sections.html"
STYLE = framework_style("")  # the fixture styles every element inline, as a semantic page's residual style


def cut(document: str, budget: int = 512):
    return split_page(document, STYLE, count_tokens, framework_keeps(""), budget)


def test_a_page_becomes_its_landmarks_each_with_its_chain_and_label():
    page = cut(FIXTURE.read_text(encoding="utf-8"))
    assert [s.roots for s in page.sections] == [["0", "1"], ["2.0"], ["2.1"], ["3"]]
    hero, classes, prices, footer = page.sections
    # The navbar drawn over the hero (position: absolute) goes with it.
    assert hero.label.startswith('a hero with the headline "Find your balance"') and "2 buttons" in hero.label
    assert "on a dark background" in hero.label and hero.label.endswith("under a navigation bar with 5 links")
    # The grid is one section (its cards size each other), its six cards trimmed to three to fit the budget.
    assert classes.trimmed and classes.text.count("<article") == 3 and classes.whole.count("<article") == 6
    assert "grid-template-columns:repeat(3,1fr)" in classes.text and classes.tokens <= 512
    assert classes.label == 'a section "This week\'s classes" with 3 cards, each with a heading and a paragraph'
    # Each section inside its chain: the centred container around the two sections in it.
    assert classes.chain_tags == prices.chain_tags == ["div"]
    assert classes.text.startswith('<div style="max-width:1100px;margin-left:auto;margin-right:auto')
    assert prices.label.startswith('a pricing section with the heading "Prices"')
    assert footer.label == "a footer with a short text and a copyright line on a dark background"
    # The shell every section is written into: the page's head and the body's own style.
    assert page.shell.title == "Lotus Yoga Studio" and "background-color:#faf7f2" in page.shell.body_attrs["style"]
    html_tag, body_tag = page.shell.tags()
    assert html_tag == '<html lang="en">' and body_tag.startswith('<body style="margin:0;font-family:Georgia')


def test_sections_go_back_together_in_their_containers():
    page = cut(FIXTURE.read_text(encoding="utf-8"))
    body = lxml_html.fragment_fromstring(assemble([s.whole for s in page.sections]), create_parent="body")
    original = lxml_html.document_fromstring(FIXTURE.read_text(encoding="utf-8")).find("body")
    # One container again around the two sections cut from it: the same elements, in the same nesting.
    assert [e.tag for e in body.iter()] == [e.tag for e in original.iter()]
    assert len(body) == len(original) == 4


def test_sections_render_alone_like_their_region_of_the_page():
    page = cut(FIXTURE.read_text(encoding="utf-8"))
    record = {"id": "yoga", "url": "http://127.0.0.1:9/yoga/index.html"}
    checks = check_sections([(record, page)], "")
    figures = summary([c for c, _ in checks])
    assert figures["sections"] == 4 and figures["scored"] == 4
    assert all(c.pixel_share >= 0.95 for c, _ in checks), [(c.label, c.pixel_share) for c, _ in checks]
    for check, png in checks:
        assert check.page_box[2] - check.page_box[0] == check.alone_box[2] - check.alone_box[0]
        assert png.startswith(b"\x89PNG")


def test_white_text_alone_keeps_the_dark_box_its_chain_paints():
    """Without its chain, the hero's white text would be white on the body's light background."""
    document = (
        "<html><body style='background-color:#fff'>"
        # Whole-pixel line heights: text drawn at a fractional offset is anti-aliased differently.
        "<div style='background-color:#101820;color:#fff;padding:40px;font-size:16px;line-height:24px'>"
        + "".join(
            f"<section style='padding:20px'><h2 style='line-height:32px;margin:0 0 8px'>Part {i}</h2>"
            f"<p style='margin:0'>{'words ' * 60}</p></section>"
            for i in range(4)
        )
        + "</div><footer style='padding:20px'><p>© 2026 Someone</p></footer></body></html>"
    )
    page = cut(document, budget=120)
    assert len(page.sections) >= 3
    inner = [s for s in page.sections if s.chain_tags == ["div"]]
    assert inner and all(s.text.startswith('<div style="background-color:#101820;color:#fff;') for s in inner)
    checks = check_sections([({"id": "dark", "url": "http://127.0.0.1:9/dark.html"}, page)], "")
    assert all(c.pixel_share >= 0.95 for c, _ in checks), [(c.label, c.pixel_share) for c, _ in checks]


def test_rows_are_never_split():
    def el(markup: str):
        return lxml_html.fragment_fromstring(markup)

    assert stacks(el("<div><div>a</div><div>b</div></div>"), STYLE)
    assert stacks(el("<div style='display:flex;flex-direction:column'><div>a</div><div>b</div></div>"), STYLE)
    assert not stacks(el("<div style='display:flex'><div>a</div><div>b</div></div>"), STYLE)
    assert not stacks(el("<div style='display:grid;grid-template-columns:1fr 2fr'><p>a</p><p>b</p></div>"), STYLE)
    assert not stacks(el("<div><div style='float:left'>a</div><div>b</div></div>"), STYLE)
    assert not stacks(el("<div style='display:table'><div style='display:table-cell'>a</div></div>"), STYLE)
    assert not stacks(el("<div>words <div>a</div></div>"), STYLE)  # prose between blocks
    assert [one_column(v) for v in ("none", "1fr", "minmax(0, 1fr)", "repeat(1, 1fr)")] == [True] * 4
    assert not any(one_column(v) for v in ("1fr 1fr", "repeat(auto-fit, minmax(200px, 1fr))", "200px 1fr"))
    # A long row stays one section, condensed to the budget rather than cut between its columns.
    row = "<div style='display:flex'>" + "".join(
        f"<div><h3>Column {i}</h3><p>{'text ' * 80}</p></div>" for i in range(3)
    )
    page = cut(f"<html><body>{row}</div></body></html>", budget=150)
    assert len(page.sections) == 1 and page.sections[0].condensed and page.sections[0].tokens <= 150
    assert page.sections[0].text.startswith('<div style="display:flex">')


def test_a_page_with_nothing_in_its_body_has_no_sections_and_labels_stay_plain():
    assert cut("<html><head><title>x</title></head><body></body></html>") is None
    words = describe([lxml_html.fragment_fromstring("<div><p>Just words.</p></div>")], [], STYLE, 3, 5)
    assert words == "a section with a paragraph"


@pytest.mark.parametrize("parts", [["plain words, no markup"], ["<p>one</p>", "", "two <b>three</b>"]])
def test_assembly_gives_every_part_an_element_and_parses(parts):
    body = assemble(parts)
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>")
    tree = lxml_html.fragment_fromstring(body, create_parent="body")
    assert len(tree) >= len([p for p in parts if p.strip()]) and not (tree.text or "").strip()


def test_labels_name_sections_by_what_their_heading_says_they_are():
    def label(markup: str, position: int = 2) -> str:
        return describe([lxml_html.fragment_fromstring(markup)], [], STYLE, position, 6)

    cards = "".join(f"<div class='c'><h3>Service {i}</h3><p>We do it well.</p></div>" for i in range(3))
    assert label(f"<section><h2>Our Services</h2>{cards}</section>") == (
        'a services section "Our Services" with 3 cards, each with a heading and a paragraph'
    )
    assert label("<section><h2>Get in touch</h2><form><input><input><textarea></textarea></form></section>") == (
        'a contact form with the heading "Get in touch" and 3 fields'
    )
    assert label("<section><h2>What our clients say</h2><p>Lovely.</p></section>").startswith("a testimonials section")
    assert label("<div><div></div><p>Open every day from nine to six, Sundays too.</p></div>") == (
        "a section with a paragraph"
    )
    assert label("<div><span>Open every day from nine to six, Sundays too</span></div>") == (
        'a section with the line "Open every day from nine to six, Sundays…"'
    )
