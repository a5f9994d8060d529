"""Canonical values: near-equal colours and lengths become one, never beyond their bounds."""

from __future__ import annotations

from collections import Counter

from lxml import html as lxml_html

from tinyweb.compress.canonical import (
    build_scales,
    canonical_page,
    colour_distance,
    page_declarations,
    within_bounds,
)


def test_near_values_join_the_most_used_within_bounds_and_far_ones_stay():
    decls = [("padding-top", "16px")] * 5 + [("padding-top", "15px"), ("padding-top", "17.5px")]
    decls += [("padding-top", "24px")] * 2 + [("padding-top", "20px"), ("margin-left", "-15px"), ("width", "15px")]
    decls += [("color", "#333")] * 4 + [("color", "#343434"), ("color", "#404040"), ("color", "rgba(51,51,51,.5)")]
    decls += [("font-size", "100px")] * 3 + [("font-size", "104px"), ("font-size", "106px")]
    scales = build_scales(decls)
    assert scales.canonical("padding-top", "15px") == "16px" and scales.canonical("padding-top", "17.5px") == "16px"
    assert scales.canonical("padding-top", "20px") == "20px"  # 4 px from both 16 and 24: beyond 2 px (and 5 %)
    assert scales.canonical("margin-left", "-15px") == "-15px"  # never across zero, and no positive centre
    assert scales.canonical("width", "15px") == "15px"  # sizes are not snapped
    assert scales.canonical("color", "#343434") == "#333"  # ΔE2000 < 1
    assert scales.canonical("color", "#404040") == "#404040"  # ΔE2000 4.2 from #333
    assert scales.canonical("color", "rgba(51,51,51,.5)") == "rgba(51,51,51,.5)"  # another alpha
    assert scales.canonical("font-size", "104px") == "100px"  # 5 % of 104 is more than 2 px
    assert scales.canonical("font-size", "106px") == "106px"
    # Values inside a longer declaration: a shadow's lengths and colour, a border's colour.
    assert scales.canonical("box-shadow", "0 1px 2px #343434") == "0 1px 2px #333"
    assert scales.canonical("border-top", "1px solid #343434") == "1px solid #333"
    for prop, value in set(decls):
        assert within_bounds(prop, value, scales.canonical(prop, value))


def test_within_bounds_refuses_what_is_beyond_them():
    assert within_bounds("margin-top", "10px", "12px") and not within_bounds("margin-top", "10px", "12.5px")
    assert not within_bounds("width", "10px", "11px")  # not a scaled property: exact
    assert not within_bounds("margin-top", "1px", "-1px")  # across zero
    assert not within_bounds("color", "#333", "#444")
    assert colour_distance("#333", "#444") > 3
    assert not within_bounds("border", "1px solid #333", "1px dashed #333")  # anything else changed
    assert not within_bounds("color", "#333", "rgba(51,51,51,.9)")


def test_a_page_is_rewritten_in_its_styles_and_rules_only():
    page = (
        '<!DOCTYPE html><html><head><style>[data-tw="a"]::before{color:#343434;margin-top:15px}</style>'
        '<style data-tw-media="">@media (max-width: 600px){[data-tw="a"]{padding-left:15px !important}}</style>'
        '</head><body><p data-tw="a" style="color:#343434;padding-left:17px;width:17px">#343434 15px</p>'
        "</body></html>"
    )
    decls = list(page_declarations(page))
    assert Counter(p for p, _ in decls) == {"color": 2, "margin-top": 1, "padding-left": 2, "width": 1}
    scales = build_scales(decls + [("color", "#333"), ("padding-left", "16px"), ("margin-top", "16px")] * 4)
    out = canonical_page(page, scales)
    assert out.startswith("<!DOCTYPE html>")
    root = lxml_html.document_fromstring(out)
    p = root.find(".//p")
    assert p.get("style") == "color:#333;padding-left:16px;width:17px" and p.text == "#343434 15px"
    before, media = (s.text for s in root.iter("style"))
    assert "color:#333" in before and "margin-top:16px" in before
    assert "padding-left:16px !important" in media and media.startswith("@media (max-width: 600px)")
