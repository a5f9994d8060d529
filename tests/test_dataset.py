"""The prompt dataset: the prototype's format, deterministic stratified splits, nothing truncated."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from datasets import load_from_disk
from PIL import Image

from tinyweb.cli import main
from tinyweb.dataset.format import seed_format
from tinyweb.dataset.labelfiles import read_labels
from tinyweb.dataset.prompts import COLUMNS, split_of
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


def test_dataset_splits_columns_parquet_card_and_plot(demo_build):
    out, summary = demo_build
    data = load_from_disk(str(out / "dataset"))
    assert set(data) == {"train", "validation"}
    train, validation = data["train"], data["validation"]
    assert tuple(train.column_names) == COLUMNS and len(train) + len(validation) == 11
    assert not set(train["id"]) & set(validation["id"])
    topics = json.loads((out / "topics.json").read_text())["pages"]
    for topic in set(topics.values()):  # stratified: every topic of 3+ pages has validation pages
        if sum(1 for t in topics.values() if t == topic) >= 3:
            assert topic in validation["topic"], topic
    texts = json.loads((out / "final-dataset.json").read_text(encoding="utf-8"))
    for row in [*train, *validation]:
        assert row["prompt"] + row["completion"] == row["text"] and row["text"] in texts
        assert row["prompt"].endswith("[TINY-WEB-DEV-CODE]\n\n") and row["label"] in row["prompt"]
        assert row["label_source"] == "extractive" and row["url"].startswith("http://127.0.0.1")
    assert train["n_tokens"] == count_tokens(train["text"])
    for split in ("train", "validation"):
        table = pq.read_table(out / "dataset" / "parquet" / f"{split}.parquet")
        assert table.column_names == list(COLUMNS) and table.num_rows == len(data[split])
    card = (out / "dataset" / "README.md").read_text(encoding="utf-8")
    assert "## Licence" in card and "127.0.0.1" in card and f"{len(train)} train" in card
    with Image.open(out / "dataset-stats.png") as png:
        assert png.size[0] >= 1000 and png.getextrema() != ((255, 255), (255, 255), (255, 255), (255, 255))
    assert summary["prompts"]["splits"] == {"train": len(train), "validation": len(validation)}


def test_splits_are_deterministic_and_stratified():
    rows = [{"id": f"{n:032x}", "topic": t} for n, t in enumerate(["a"] * 20 + ["b"] * 10 + ["c"] * 2)]
    splits = split_of(rows, 0.1)
    assert splits == split_of(list(reversed(rows)), 0.1)
    validation = [r["topic"] for r in rows if splits[r["id"]] == "validation"]
    assert sorted(validation) == ["a", "a", "b"]  # c has too few pages to spare one
    assert set(split_of(rows, 0).values()) == {"train"}
    two = [{"id": "a" * 32, "topic": "x"}, {"id": "b" * 32, "topic": "y"}]
    assert sorted(split_of(two, 0.1).values()) == ["train", "validation"]


def test_long_pages_are_left_out_never_truncated(demo_build, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(demo_build[0], out)
    lengths = sorted(json.loads((out / "report.json").read_text())["prompts"]["n_tokens"].values())
    limit = 2048
    section = run_prompts(out, BuildOptions.of(max_tokens=limit).prompts)
    data = load_from_disk(str(out / "dataset"))
    kept = [*data["train"], *data["validation"]]
    assert section["left_out_too_long"] > 0 and section["kept"] == len(kept) < 11, lengths
    assert all(row["n_tokens"] + 1 <= limit for row in kept)
    assert all(p["n_tokens"] + 1 > limit for p in section["left_out_pages"])
    assert len(json.loads((out / "final-dataset.json").read_text())) == len(kept)
    for row in kept:
        assert row["completion"] == (out / "pages" / f"{row['id']}.html").read_text(encoding="utf-8")
    # One page kept: one split is empty, and still a split with every column (a corpus of one builds).
    assert lengths[1] > lengths[0]
    one = run_prompts(out, BuildOptions.of(max_tokens=lengths[0] + 1).prompts)
    assert one["kept"] == 1 and one["warnings"] == [
        "the validation split has no pages (1 pages, validation share 0.1): training runs without validation"
    ]
    assert section["warnings"] == []
    one_page = ["prompts", "--out", str(out), "--max-tokens", str(lengths[0] + 1)]
    warned = CliRunner().invoke(main, one_page)
    assert warned.exit_code == 0 and "warning: the validation split has no pages" in warned.output, warned.output
    data = load_from_disk(str(out / "dataset"))
    assert sorted(len(data[split]) for split in data) == [0, 1]
    assert data["train"].column_names == data["validation"].column_names == list(data["train"].features)
    with pytest.raises(UsageError, match="longer than --max-tokens 100"):
        run_prompts(out, BuildOptions.of(max_tokens=100).prompts)
    result = CliRunner().invoke(main, ["prompts", "--out", str(out), "--max-tokens", "0"])
    assert result.exit_code == 0, result.output
    assert "left out, too long: 0" in result.output
