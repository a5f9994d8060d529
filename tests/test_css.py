"""Normalising declarations: equal styles must compare equal, and nothing may change what renders."""

from __future__ import annotations

import pytest

from tinyweb.compress.css import (
    FAMILIES,
    CSSError,
    family,
    longhands,
    normalize_style,
    parse_declarations,
    split_families,
    style_text,
)


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        # Chromium prints 32-bit floats with ~10 digits: the shortest text for the same float.
        ("padding-top: 19.2000007629px", "padding-top:19.2px"),
        ("opacity: 0.5; line-height: 1.65", "line-height:1.65;opacity:.5"),
        ("margin-left: -0.5px", "margin-left:-.5px"),
        ("width: 33.3333px", "width:33.3333px"),  # a genuine value is left as it is
        ("color: rgb(59, 42, 32)", "color:#3b2a20"),
        ("color: rgb(255, 255, 255)", "color:#fff"),
        ("color: rgba(0, 0, 0, 0.5)", "color:rgba(0,0,0,.5)"),
        ("background-color: rgba(0, 0, 0, 0)", "background-color:transparent"),
        ('font-family: "Palatino Linotype", Palatino, serif', 'font-family:"Palatino Linotype",Palatino,serif'),
        ("margin-top: 0px", "margin-top:0"),
        ("line-height: 0px", "line-height:0px"),  # a bare 0 would be a number here
        ("width: calc(100% - 0px)", "width:calc(100% - 0px)"),  # inside calc() the unit must stay
        ("margin-top: 0px; margin-right: auto; margin-bottom: 0px; margin-left: auto", "margin:0 auto"),
        ("padding-top: 1px; padding-right: 2px; padding-bottom: 3px; padding-left: 2px", "padding:1px 2px 3px"),
        (
            "padding-top: 1px; padding-right: 2px; padding-bottom: 3px",
            "padding-bottom:3px;padding-right:2px;padding-top:1px",
        ),
        (
            "border-bottom-color: rgb(138, 75, 34); border-bottom-style: double; border-bottom-width: 3px",
            "border-bottom:3px double #8a4b22",
        ),
        ("row-gap: 16px; column-gap: 16px", "gap:16px"),
        ("overflow-x: hidden; overflow-y: auto", "overflow:hidden auto"),
        ("text-decoration-line: none", "text-decoration:none"),
        (
            "border-top-left-radius: 4px; border-top-right-radius: 4px; "
            "border-bottom-right-radius: 4px; border-bottom-left-radius: 4px",
            "border-radius:4px",
        ),
        (
            "border-top-left-radius: 4px 2px; border-top-right-radius: 4px; "
            "border-bottom-right-radius: 4px; border-bottom-left-radius: 4px",
            "border-bottom-left-radius:4px;border-bottom-right-radius:4px;border-top-left-radius:4px 2px;"
            "border-top-right-radius:4px",
        ),
    ],
)
def test_normalize_style(style, expected):
    assert style_text(normalize_style(style)) == expected


def test_full_border_folds_unless_border_image_is_set():
    sides = "; ".join(
        f"border-{s}-{p}: {v}"
        for s in ("top", "right", "bottom", "left")
        for p, v in (("width", "1px"), ("style", "solid"), ("color", "rgb(0, 0, 0)"))
    )
    assert style_text(normalize_style(sides)) == "border:1px solid #000"
    with_image = normalize_style(sides + '; border-image-source: url("a.png")')
    assert "border" not in dict(with_image) and "border-top-width" not in dict(with_image)
    assert dict(with_image)["border-width"] == "1px"


def test_equal_styles_written_differently_compare_equal():
    a = normalize_style(
        "color: rgb(255, 0, 0); margin-top: 0px; margin-bottom: 0px; margin-left: 0px; margin-right: 0px"
    )
    b = normalize_style("margin: 0; color: #ff0000")
    assert a == b


def test_unparseable_declarations_are_an_error():
    with pytest.raises(CSSError):
        parse_declarations("color red; {{{")


def test_families_partition_and_keep_shorthands_with_their_longhands():
    style = normalize_style(
        "color: red; width: 10px; display: flex; background-color: blue; opacity: 0.5; margin-top: 0px"
    )
    parts = split_families(style)
    assert set(parts) == set(FAMILIES)
    assert sorted(d for part in parts.values() for d in part) == sorted(style)
    for short in ("margin", "padding", "border", "border-top", "inset", "gap", "overflow", "outline", "flex"):
        assert {family(p) for p in longhands(short)} == {family(short)}, short


def test_a_per_width_class_with_a_semicolon_in_a_url_reads_back_as_written():
    """A per-width rule is written `!important` by the CSS grammar: a data URL's own ";" (found on a corpus page
    by the lossless proof) stays inside its value."""
    from tinyweb.compress.stylesheet import ClassDef, Framework, media_kind, stylesheet_rules

    url = 'url("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=")'
    style = style_text([("background-image", url), ("width", "25px")])
    query = "(max-width: 575.98px)"
    phone = ClassDef("form-button-phone", "base", "button", media_kind(query, ""), style, uses=1, pages=1)
    rules = stylesheet_rules(Framework([phone], font_faces=[]).css())
    assert rules["form-button-phone"].media == [(f"@{query}", (("background-image", url), ("width", "25px")))]
