"""Fitting a page into a token budget: complete shorter documents, classes kept, headings first."""

from __future__ import annotations

import json
import re
import shutil

from click.testing import CliRunner
from datasets import load_from_disk
from lxml import html as lxml_html

from tinyweb.cli import main
from tinyweb.dataset.fit import fit_page
from tinyweb.models import count_tokens

CARD = (
    '<div class="shop-card">\n        <h3 class="shop-card-title">{name}</h3>\n'
    '        <p class="shop-card-text">{name} bread, baked every morning from our own starter.</p>\n      </div>'
)
ICON = '<svg class="shop-icon"><path d="' + "M10 10 L20 20 " * 60 + '"></path></svg>'
PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Crumb</title>
<link rel="stylesheet" href="../semantic-css-framework.css">
<style>@font-face{{font-family:icons;src:url(i.woff2)}}</style></head>
<body class="shop-body">
  <nav class="shop-nav">
    <a class="shop-nav-link" href="/">Home</a>
    <a class="shop-nav-link" href="/menu">Menu</a>
    <a class="shop-nav-link" href="/about">About</a>
  </nav>
  <div class="shop-wrap"><div class="shop-inner">
    <section class="shop-hero">
      {ICON}
      <h1 class="shop-hero-title">Crumb Bakery</h1>
      <p class="shop-hero-text">Sourdough, rye and pastries from a bakery by the harbour, open at seven.</p>
    </section>
    <section class="shop-cards">
      {"".join(CARD.format(name=n) for n in ("Country", "Rye", "Spelt", "Seeded", "Olive", "Walnut"))}
    </section>
  </div></div>
  <footer class="shop-footer"><p class="shop-footer-text">Crumb Bakery, 1 Harbour Street</p></footer>
</body></html>"""


def chars(texts):
    """A stand-in tokenizer: one token per four characters."""
    return [len(t) // 4 for t in texts]


def classes(document: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for el in lxml_html.document_fromstring(document).iter():
        if isinstance(el.tag, str) and el.get("class"):
            out.setdefault(el.tag, set()).add(el.get("class"))
    return out


def test_a_page_that_fits_is_returned_as_it_is():
    assert fit_page(PAGE, chars([PAGE])[0], chars) is PAGE


def test_whitespace_then_alike_runs_go_first():
    squeezed = fit_page(PAGE, chars([PAGE])[0] - 10, chars)
    assert squeezed is not None and "\n  " not in squeezed and squeezed.count("shop-card-title") == 6
    budget = chars([squeezed])[0] - 20
    trimmed = fit_page(PAGE, budget, chars)
    assert chars([trimmed])[0] <= budget
    assert trimmed.count('class="shop-card-title"') == 2, "a run of six cards keeps its first two"
    assert "Country" in trimmed and "Rye" in trimmed and "Spelt" not in trimmed
    assert "Crumb Bakery" in trimmed and "shop-icon" in trimmed and "@font-face" in trimmed


def test_a_small_budget_keeps_headings_first_in_complete_documents():
    for budget in (150, 200, 260):
        small = fit_page(PAGE, budget, chars)
        assert small is not None and chars([small])[0] <= budget, budget
        root = lxml_html.document_fromstring(small)
        assert small.startswith("<!DOCTYPE html>\n<html") and small.rstrip().endswith("</html>")
        assert root.find("head/title").text == "Crumb" and root.find("head/link") is not None
        assert root.find("head/style") is None, "the page's @font-face rules go once it must be pruned"
        assert "shop-icon" not in small, "icons have nothing to read"
        h1 = root.find(".//h1")
        assert h1 is not None and h1.text == "Crumb Bakery" and h1.get("class") == "shop-hero-title"
        assert h1.getparent().get("class") == "shop-hero", "a kept unit stays in its section"
        assert "shop-wrap" not in small and "shop-inner" not in small, "plain div wrappers are unwrapped"
        # Whatever stays keeps its own classes: every class on a tag was on that tag in the page.
        original = classes(PAGE)
        for tag, found in classes(small).items():
            assert found <= original[tag], tag
    larger = fit_page(PAGE, 260, chars)
    assert larger.count('class="shop-card-title"') == 2 and "Sourdough" in larger
    assert fit_page(PAGE, 40, chars) is None, "not even the head fits"


def test_prompts_fit_long_pages_with_labels_for_what_stays(demo_build, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(demo_build[0], out)
    limit = 400
    result = CliRunner().invoke(main, ["prompts", "--out", str(out), "--max-tokens", str(limit), "--fit"])
    assert result.exit_code == 0, result.output
    assert "condensed to fit" in result.output
    section = json.loads((out / "report.json").read_text())["prompts"]
    data = load_from_disk(str(out / "dataset"))
    rows = [r for r in [*data["train"], *data["validation"]] if r["kind"] == "page"]
    assert section["fit"] and section["fitted"] > 0 and section["kept"] == len(rows)
    assert section["kept"] + section["left_out_too_long"] == section["pages"]
    fitted = {p["id"]: p for p in section["fitted_pages"]}
    for row in rows:
        assert row["n_tokens"] + 1 <= limit and count_tokens([row["text"]])[0] == row["n_tokens"]
        assert row["text"] == row["prompt"] + row["completion"]
        assert row["completion"].rstrip().endswith("</html>")
        if row["id"] in fitted:
            assert fitted[row["id"]]["n_tokens_before"] > row["n_tokens"]
            # The extractive label is written again for the condensed page: it names no section it lost.
            text = " ".join(lxml_html.document_fromstring(row["completion"]).text_content().split())
            if " sections on " in row["label"]:
                for name in re.split(r", | and ", row["label"].rsplit(" sections on ", 1)[1]):
                    assert name.lower() in text.lower(), (name, row["label"])
    card = (out / "dataset" / "README.md").read_text()
    assert f"{section['fitted']} pages longer than {limit} tokens were condensed" in card


DARK = PAGE.replace('<div class="shop-wrap">', '<div class="shop-wrap shop-dark">')
DARK_CSS = (
    ".shop-dark{background-color:#1d2733}\n.shop-inner{color:#fff;max-width:960px;margin:0 auto}\n"
    ".shop-hero-title{font-size:48px}\n"
)


def test_condensing_keeps_the_wrappers_that_paint_or_lay_out():
    """White text on the dark box that painted it (the blank renders of the first acceptance run): a `div`
    that paints, colours the text it holds or lays it out stays; plain ones are still unwrapped."""
    from tinyweb.dataset.fit import framework_keeps, paints_or_lays_out

    budget = 170
    small = fit_page(DARK, budget, chars, framework_keeps(DARK_CSS))
    assert small is not None and chars([small])[0] <= budget
    title = lxml_html.document_fromstring(small).find(".//h1")
    assert title is not None and title.text == "Crumb Bakery"
    assert [a.get("class") for a in title.iterancestors()][1:3] == ["shop-inner", "shop-wrap shop-dark"]
    plain = fit_page(PAGE, budget, chars, framework_keeps(DARK_CSS))  # the same page, its wrappers unpainted
    assert "shop-wrap" not in plain and "shop-inner" in plain  # shop-inner still lays out and colours
    assert "shop-inner" not in fit_page(PAGE, budget, chars)  # without the framework: every div may go
    for decls, expected in (
        ({"background": "url(a.png) center"}, True),
        ({"border-top": "1px solid #ddd"}, True),
        ({"border": "0 none"}, False),
        ({"box-shadow": "none", "background-color": "transparent"}, False),
        ({"display": "grid"}, True),
        ({"margin": "0px auto"}, True),
        ({"padding": "8px", "font-size": "14px"}, False),
    ):
        assert paints_or_lays_out(decls) is expected, decls
