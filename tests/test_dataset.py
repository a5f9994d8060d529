"""The prompt dataset: the prototype's format, pages, plans and sections, a split by site, nothing truncated."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from datasets import load_from_disk
from PIL import Image

from tinyweb.cli import main
from tinyweb.dataset.format import seed_format
from tinyweb.dataset.labelfiles import read_labels
from tinyweb.dataset.prompts import COLUMNS, KINDS, PromptOptions
from tinyweb.dataset.sites import sites, split_by_site
from tinyweb.errors import UsageError
from tinyweb.models import count_tokens
from tinyweb.pipeline import BuildOptions, run_prompts


def test_seed_format_matches_the_prototype_readme():
    html = '<!DOCTYPE html>\n<html><head><link rel="stylesheet" href="../semantic-css-framework.css"></head></html>'
    expected = (
        "[TINY-WEB-DEV-TITLE]\n"
        "\n"
        "A landing page for a family bakery with a menu\n"
        "\n"
        "[TINY-WEB-DEV-CODE]\n"
        "\n"
        "<!DOCTYPE html>\n"
        '<html><head><link rel="stylesheet" href="../semantic-css-framework.css"></head></html>'
    )
    assert seed_format("A landing page for a family bakery with a menu", html) == expected
    assert seed_format("  A landing page\nfor a family bakery with a menu ", html) == expected


def test_final_dataset_is_every_page_in_the_seed_format(demo_build):
    out, summary = demo_build
    raw = (out / "final-dataset.json").read_text(encoding="utf-8")
    assert raw.startswith("[") and raw.endswith("]") and not raw.endswith("\n")
    texts = json.loads(raw)
    labels = read_labels(out)
    assert len(texts) == summary["prompts"]["kept"] == 11
    for text in texts:
        head, html = text.split("\n\n[TINY-WEB-DEV-CODE]\n\n", 1)
        assert head.startswith("[TINY-WEB-DEV-TITLE]\n\n")
        page_id = next(i for i, e in labels.items() if head == "[TINY-WEB-DEV-TITLE]\n\n" + e["label"])
        assert html == (out / "pages" / f"{page_id}.html").read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>")
        assert '<link rel="stylesheet" href="../semantic-css-framework.css">' in html


def test_dataset_kinds_site_split_columns_parquet_card_and_plot(demo_build):
    out, summary = demo_build
    data = load_from_disk(str(out / "dataset"))
    assert set(data) == {"train", "validation"}
    train, validation = data["train"], data["validation"]
    rows = [*train, *validation]
    assert tuple(train.column_names) == COLUMNS
    kinds = {kind: [r for r in rows if r["kind"] == kind] for kind in KINDS}
    assert len(kinds["page"]) == len(kinds["plan"]) == 11 and len(kinds["section"]) >= 2 * 11
    assert summary["prompts"]["rows"] == {kind: len(rows) for kind, rows in kinds.items()}
    assert summary["prompts"]["reached"] == summary["prompts"]["pages"] == 11
    # Every row of a page, and every page of a site, on one side.
    assert not {r["page_id"] for r in train} & {r["page_id"] for r in validation}
    assert not {r["site"] for r in train} & {r["site"] for r in validation}
    assert validation and {r["site"] for r in rows} == {r["site"] for r in rows if r["kind"] == "page"}
    # The bakery, the studio and the docs link among their own pages and meet only on the index above them.
    assert {r["site"].split("/", 1)[1] for r in rows} == {"", "bakery/", "docs/", "studio/"}
    texts = json.loads((out / "final-dataset.json").read_text(encoding="utf-8"))
    assert sorted(r["text"] for r in kinds["page"]) == sorted(texts)  # final-dataset.json: the page rows
    for row in rows:
        assert row["prompt"] + row["completion"] == row["text"] and row["id"].startswith(row["page_id"])
        assert row["label_source"] == "extractive" and row["url"].startswith("http://127.0.0.1")
    for row in kinds["page"]:
        assert row["text"] in texts and row["prompt"].endswith("[TINY-WEB-DEV-CODE]\n\n")
    for row in kinds["plan"]:
        page = next(r for r in kinds["page"] if r["page_id"] == row["page_id"])
        assert row["prompt"] == page["prompt"].replace("[TINY-WEB-DEV-CODE]", "[TINY-WEB-DEV-PLAN]")
        lines = row["completion"].splitlines()
        assert lines[0].startswith("<html") and lines[1].startswith("<body")
        labels = [r["label"] for r in kinds["section"] if r["page_id"] == row["page_id"]]
        assert lines[2:] == [f"{i}. {label}" for i, label in enumerate(labels, 1)] and 1 <= len(labels) <= 8
    for row in kinds["section"]:
        assert "[TINY-WEB-DEV-SECTION]" in row["prompt"] and row["label"] in row["prompt"]
        assert row["completion"].startswith("<") and "<body" not in row["completion"]
    assert train["n_tokens"] == count_tokens(train["text"])
    for split in ("train", "validation"):
        table = pq.read_table(out / "dataset" / "parquet" / f"{split}.parquet")
        assert table.column_names == list(COLUMNS) and table.num_rows == len(data[split])
    card = (out / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "## Licence" in card and "127.0.0.1" in card and f"| section | {len(kinds['section'])} |" in card
    with Image.open(out / "dataset-stats.png") as png:
        assert png.size[0] >= 1500 and png.getextrema() != ((255, 255), (255, 255), (255, 255), (255, 255))
    pages = {r["page_id"]: r for r in rows}
    assert summary["prompts"]["splits"] == {
        split: sum(1 for r in pages.values() if r["page_id"] in {x["page_id"] for x in data[split]})
        for split in ("train", "validation")
    }


def _page(n: int, site: str, links: tuple[int, ...] = ()) -> dict[str, str]:
    hrefs = "".join(f'<a href="/{site}/{k}.html">x</a>' for k in links)
    return {
        "id": f"{n:032x}",
        "url": f"http://127.0.0.1:9/{site}/{n}.html",
        "html": f"<html><body>{hrefs}</body></html>",
    }


def test_sites_come_from_domains_links_or_a_pattern_and_the_split_keeps_each_site_whole():
    pages = [
        {"id": "a", "url": "https://blog.example.co.uk/post", "html": ""},
        {"id": "b", "url": "https://www.example.co.uk/", "html": ""},
        {"id": "c", "url": "https://alice.github.io/", "html": ""},
        _page(1, "x", (2,)),
        _page(2, "x"),
        _page(3, "x"),  # nothing links to or from it: a site of its own, though beside x/1 and x/2
    ]
    found = sites(pages)
    assert found["a"] == found["b"] == "example.co.uk" and found["c"] == "alice.github.io"
    assert found[pages[3]["id"]] == found[pages[4]["id"]] == "127.0.0.1:9/x/" != found[pages[5]["id"]]
    grouped = sites(pages, r"^/(x)/")
    assert len({grouped[p["id"]] for p in pages[3:]}) == 1
    with pytest.raises(UsageError, match="--site-pattern"):
        sites(pages, "(")

    # Many sites over three topics: never a site on both sides, deterministic, stratified, within the share.
    page_site = {f"{n:04d}": f"site{n % 37}" for n in range(400)}
    page_topic = {p: "abc"[int(p) % 3] for p in page_site}
    split = split_by_site(page_site, page_topic, 0.1)
    assert split == split_by_site(dict(reversed(page_site.items())), page_topic, 0.1)
    for site in set(page_site.values()):
        assert len({split[p] for p, s in page_site.items() if s == site}) == 1, site
    held = [p for p, side in split.items() if side == "validation"]
    assert 0.05 * 400 <= len(held) <= 0.15 * 400
    assert set(split_by_site(page_site, page_topic, 0).values()) == {"train"}
    one_site = split_by_site({"p1": "s", "p2": "s", "p3": "s"}, {"p1": "a", "p2": "a", "p3": "a"}, 0.1)
    assert set(one_site.values()) == {"train"}  # one site cannot be split: no validation


def test_long_pages_are_left_out_never_truncated_and_still_give_sections(demo_build, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(demo_build[0], out)
    lengths = sorted(json.loads((out / "report.json").read_text())["prompts"]["n_tokens"]["page"].values())
    report = json.loads((out / "report.json").read_text())["prompts"]
    limit = 2048
    section = run_prompts(out, BuildOptions.of(max_tokens=limit).prompts)
    data = load_from_disk(str(out / "dataset"))
    kept = [r for r in [*data["train"], *data["validation"]] if r["kind"] == "page"]
    assert section["left_out_too_long"] > 0 and section["kept"] == len(kept) < 11, lengths
    assert all(row["n_tokens"] + 1 <= limit for row in kept)
    assert all(p["n_tokens"] + 1 > limit for p in section["left_out_pages"])
    assert len(json.loads((out / "final-dataset.json").read_text())) == len(kept)
    for row in kept:
        assert row["completion"] == (out / "pages" / f"{row['page_id']}.html").read_text(encoding="utf-8")
    # The pages left out whole still come as plans and sections: no page is lost.
    assert section["reached"] == 11 and section["rows"]["plan"] == 11 == report["rows"]["plan"]
    assert section["rows"]["section"] == report["rows"]["section"] and section["warnings"] == []
    # Not even one whole page: the dataset is its plans and sections.
    none = run_prompts(out, BuildOptions.of(max_tokens=100).prompts)
    assert none["kept"] == 0 and none["reached"] == 11 and json.loads((out / "final-dataset.json").read_text()) == []
    # One site: the validation split is empty, said, and still a split with every column.
    one_site = ["prompts", "--out", str(out), "--site-pattern", "^/()"]
    warned = CliRunner().invoke(main, one_site)
    assert warned.exit_code == 0 and "warning: the validation split has no pages" in warned.output, warned.output
    data = load_from_disk(str(out / "dataset"))
    assert len(data["validation"]) == 0 and len(data["train"]) > 11
    assert data["train"].column_names == data["validation"].column_names == list(data["train"].features)
    result = CliRunner().invoke(main, ["prompts", "--out", str(out), "--max-tokens", "0"])
    assert result.exit_code == 0, result.output
    assert "left out, too long: 0" in result.output and "dataset rows" in result.output
    bad = CliRunner().invoke(main, ["prompts", "--out", str(out), "--section-budget", "10"])
    assert bad.exit_code != 0 and "--section-budget must be at least 64" in bad.output
    assert PromptOptions().max_tokens == 0  # by default every page is kept whole
    # For a model that may ship: no address of the server the pages came from reaches the dataset.
    page = next((out / "pages").glob("*.html"))
    image = '<img src="http://127.0.0.1:9/hero.jpg" alt="hero">'
    page.write_text(re.sub(r"(<body[^>]*>)", rf"\1<p>{image}</p>", page.read_text(encoding="utf-8"), count=1))

    def completions() -> list[str]:
        data = load_from_disk(str(out / "dataset"))
        return [r["completion"] for split in data for r in data[split]]

    run_prompts(out, PromptOptions())
    assert sum("//127.0.0.1:9/hero.jpg" in t for t in completions()) == 2  # its page row and a section
    placeholders = run_prompts(out, PromptOptions(placeholder_images=True))
    assert placeholders["placeholder_images"] and placeholders["reached"] == 11
    texts = completions()
    assert not any("//127.0.0.1" in t for t in texts) and sum('src="placeholder.svg"' in t for t in texts) >= 2
