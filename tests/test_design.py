"""The design statistics of a rendered page: blank, contrast and the rest, on pages whose answer is known."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import CORPUS
from tinyweb.learn.design import contrast
from tinyweb.learn.render import render_pages

FIXTURE = Path(__file__).parent / "data" / "fixtures" / "sections.html"
WORDS = " ".join(["words"] * 40)


def page(body_style: str, text_style: str, text: str = WORDS) -> str:
    return f"<!DOCTYPE html><html><body style='{body_style}'><p style='{text_style}'>{text}</p></body></html>"


def render(tmp_path: Path, pages: dict[str, str]) -> dict[str, object]:
    for name, html in pages.items():
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")
    done = render_pages([(tmp_path / f"{name}.html", tmp_path / f"{name}.png") for name in pages])
    return {name: result[1] for name, result in zip(pages, done, strict=True)}


def test_blank_and_unreadable_pages_are_called_so(tmp_path: Path):
    stats = render(
        tmp_path,
        {
            "empty": "<!DOCTYPE html><html><body></body></html>",
            "white": page("background:#fff", "color:#fff"),
            "heading": "<!DOCTYPE html><html><body><h1>Only a heading and a line</h1><p>Welcome.</p></body></html>",
            "grey": page("background:#fff", "color:#ccc;font-size:40px"),
        },
    )
    assert stats["empty"].blank and stats["empty"].words == 0 and stats["empty"].contrast_ok is None
    # White on white: 40 words in the DOM, none to be seen: blank by ink, and no text readable.
    assert stats["white"].blank and stats["white"].words == 40 and stats["white"].contrast_ok == 0.0
    assert stats["heading"].blank and stats["heading"].words < 20  # a heading and a line is not a page
    assert stats["grey"].contrast_ok == 0.0 and not stats["grey"].blank  # light grey text: drawn, unreadable


def test_a_designed_page_and_a_corpus_page_are_not_blank(tmp_path: Path):
    yoga = render(tmp_path, {"yoga": FIXTURE.read_text(encoding="utf-8")})["yoga"]
    assert not yoga.blank and yoga.contrast_ok >= 0.95 and yoga.footer and yoga.landmarks >= 4
    assert yoga.painted_blocks >= 3 and yoga.colours >= 4 and 0.2 < yoga.ink < 0.9 and yoga.height > 800
    site = CORPUS / "sites" / "startbootstrap-agency-7.0.12" / "dist"
    shutil.copytree(site, tmp_path / "agency")
    [(png, agency)] = render_pages([(tmp_path / "agency" / "index.html", tmp_path / "agency.png")])
    assert png.is_file() and not agency.blank and agency.page_words >= 20 and agency.landmarks >= 3
    assert agency.words < 20  # a hero with a headline: few words on the first screen, rightly not blank


def test_contrast_is_the_wcag_ratio():
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert contrast((255, 255, 255), (255, 255, 255)) == 1.0
    assert 4.4 < contrast((118, 118, 118), (255, 255, 255)) < 4.6  # #767676 on white: the usual threshold
