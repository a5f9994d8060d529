"""Topic names say what the pages are (their kind, else a subject word), never who made them."""

from __future__ import annotations

import numpy as np

from tinyweb.compress.pagekind import facts, kind_word
from tinyweb.compress.topics import site_words, topics

BAKERY = """Fresh bread every morning. Our sourdough is baked in a stone oven with flour from a local mill, and our
cakes are made to order for birthdays and weddings. Visit the bakery on Mill Street for croissants and coffee."""
DASHBOARD = """Revenue this month rose by twelve percent. The chart below shows weekly sales and new users, and the
table lists the latest orders with their status, customer and total. Export the report as a spreadsheet."""


def page(i: int, vendor: str, kind: str, text: str) -> dict:
    """A cleaned page record of a template by `vendor` (its name in the URL, the title and the footer)."""
    title = f"{'Sunrise Bakery' if kind == 'bakery' else 'Admin Dashboard'} {i} | {vendor.capitalize()} Templates"
    nav = "<nav><a>Home</a><a>About</a></nav>"
    charts = '<aside>menu</aside><canvas id="chart"></canvas>' if kind == "dashboard" else ""
    return {
        "id": f"{kind}-{i}",
        "url": f"http://127.0.0.1:9000/sites/{vendor}-{kind}/page-{i}.html",
        "title": title,
        "description": "",
        "headings": [title.split(" |")[0]],
        "text": f"{title}\n{text}\n" + f"{vendor.capitalize()} Templates. Designed by {vendor.capitalize()}.\n" * 3,
        "html": f"<html><body>{nav}{charts}<h1>{title}</h1><p>{text}</p><footer>{vendor}</footer></body></html>",
    }


def corpus() -> tuple[list[dict], object]:
    pages = [page(i, "zentrix", "bakery", BAKERY) for i in range(4)]
    pages += [page(i, "quorvel", "dashboard", DASHBOARD) for i in range(4)]

    def embed(texts: list[str]) -> np.ndarray:  # two tight groups: the clustering is not what is tested here
        return np.array([[1.0, 0.01 * i] if "bakery" in t.lower() else [0.01 * i, 1.0] for i, t in enumerate(texts)])

    return pages, embed


def test_topics_are_named_by_kind_and_never_by_vendor():
    pages, embed = corpus()
    result = topics(pages, embed)
    assert [t.keywords[0] for t in result.topics] == ["zentrix", "quorvel"]  # what named them before
    names = sorted(t.name for t in result.topics)
    assert names == ["bakery", "dashboard"], names
    assert not any(vendor in name for name in names for vendor in ("zentrix", "quorvel"))
    assert topics(list(reversed(pages)), embed).page_topic == result.page_topic  # the same pages, the same names


def test_site_and_brand_words_are_told_from_subject_words():
    pages, _ = corpus()
    bakeries = pages[:4]
    brands = site_words(bakeries)
    assert {"zentrix", "sunrise"} <= brands  # in the URL and no English word; never written in lowercase
    assert not {"bread", "sourdough", "bakery", "cakes", "sites", "page"} & brands
    assert kind_word(facts(bakeries[0])) == "bakery" and kind_word(facts(pages[4])) == "dashboard"


def test_a_kind_two_topics_share_is_told_apart_by_a_subject_word():
    pages, _ = corpus()
    pages = [p | {"html": p["html"].replace("<canvas", "<div")} for p in pages[:4]]  # bakeries only
    travel = [
        page(i, "zentrix", "bakery", "A travel diary of bakeries in Lisbon and Porto, pastries and trains and ferries")
        for i in range(4, 8)
    ]

    def embed_two(texts: list[str]) -> np.ndarray:
        return np.array([[1.0, 0.01 * i] if "travel" not in t else [0.01 * i, 1.0] for i, t in enumerate(texts)])

    names = sorted(t.name for t in topics(pages + travel, embed_two).topics)
    assert names[0] == "bakery" and names[1].startswith("bakery-") and names[1] != "bakery-zentrix", names
    assert not names[1][-1].isdigit()
