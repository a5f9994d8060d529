"""Labels: the extractive labeller on real captures, manual labels that survive rebuilds, quality on the gold set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import CORPUS, run
from tinyweb.cli import main
from tinyweb.compress.pagekind import kind, outline
from tinyweb.dataset.label import LabelOptions, label
from tinyweb.dataset.labelers import MAX_LABEL_WORDS, LabelInput, is_boilerplate, tidy_label
from tinyweb.dataset.labelers.extractive import compose
from tinyweb.dataset.labelfiles import import_labels, read_labels
from tinyweb.dataset.quality import duplicate_rate, read_gold
from tinyweb.errors import UsageError
from tinyweb.pipeline import BuildOptions, build, run_clean, run_label, run_topics
from tinyweb.store import Store

GOLD = Path(__file__).parent / "data" / "label-gold.tsv"


def copy_store(source: Store, target: Path) -> Store:
    """A store of its own with the same snapshots, so manual labels never leak into other tests."""
    store = Store(target)
    store.add_many(list(source.iter_snapshots()))
    return store


def page(**fields) -> LabelInput:
    base = {"id": "0" * 32, "url": "http://127.0.0.1/", "title": "", "description": "", "headings": [], "text": ""}
    return LabelInput(**(base | {"topic": "general", "keywords": []} | fields))


def test_demo_labels_are_requests_not_titles(demo_build):
    out, summary = demo_build
    labels = read_labels(out)
    assert len(labels) == 11 and {e["source"] for e in labels.values()} == {"extractive"}
    texts = [e["label"] for e in labels.values()]
    for text in texts:
        assert 3 <= len(text.split()) <= MAX_LABEL_WORDS and not is_boilerplate(text), text
        assert text[0].isupper() and "\n" not in text
    assert duplicate_rate(texts) == 0
    section = summary["label"]
    assert section["boilerplate_rate"] == 0 and section["title_boilerplate_rate"] > 0.5
    menu = next(e["label"] for i, e in labels.items() if "Breads" in e["label"] or "menu" in e["label"].lower())
    assert "bakery" in menu.lower()


def test_outline_reads_structure():
    document = """<!DOCTYPE html><html><body><nav><a href=/>Home</a></nav><main>
    <section><h1>Bread worth getting up early for</h1><p>Since 1987.</p></section>
    <h2>Plans</h2><div><h3>Basic</h3><p>$9 / month</p></div><div><h3>Pro</h3><p>$29 / month</p></div>
    <h2>Write to us</h2><form><input type=email><textarea></textarea></form>
    <h2>What our customers say</h2></main><footer>(c)</footer></body></html>"""
    structure, h1 = outline(document)
    assert h1 == "Bread worth getting up early for"
    assert structure == ["navigation bar", "hero section", "contact form", "pricing table", "testimonials", "footer"]
    sign_in = "<html><body><form><input type=email><input type=password><button>Sign in</button></form></body></html>"
    assert outline(sign_in)[0] == ["sign-in form"]
    assert outline("")[0] == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": "Please sign in", "outline": ["sign-in form"], "text": "Email Password Sign in"}, "sign-in page"),
        ({"title": "Dashboard - Analytics | Sneat", "outline": ["sidebar", "charts"]}, "admin dashboard"),
        ({"title": "Page not found", "h1": "404"}, "404 error page"),
        ({"title": "Crumb & Co. — Family bakery on Mill Lane"}, "bakery website"),
        ({"title": "Navbars · Bootstrap v5.2"}, "component showcase"),
        ({"title": "Python HOWTOs — Python 3.11 documentation"}, "documentation page"),
        ({"title": "Thoughts", "outline": ["list of posts"]}, "blog"),
    ],
)
def test_kind(fields, expected):
    assert kind(page(**fields)) == expected


def test_compose_removes_boilerplate_and_keeps_to_forty_words():
    label_ = compose(
        page(
            title="Home | Agency - Start Bootstrap Template",
            url="http://127.0.0.1/startbootstrap-agency/index.html",
            headings=["Welcome To Our Studio!", *[f"Section number {n}" for n in range(30)]],
            outline=["navigation bar", "hero section", "contact form", "team section", "footer"],
            description="Lorem ipsum dolor sit amet",
        )
    )
    assert not is_boilerplate(label_) and len(label_.split()) <= MAX_LABEL_WORDS
    assert "Start Bootstrap" not in label_ and "Lorem" not in label_ and "contact form" in label_


def test_tidy_label_cleans_model_answers():
    assert tidy_label('Request: "A landing page for a bakery."\nMore text') == "A landing page for a bakery."
    assert tidy_label("a blog about birds and feeders") == "A blog about birds and feeders"
    assert tidy_label("").reason == "empty"
    assert tidy_label("Home | Foo").reason == "invalid"
    assert len(tidy_label(" ".join(["word"] * 80)).split()) == MAX_LABEL_WORDS


def test_manual_labels_override_and_survive_a_rebuild(demo_store, tmp_path):
    store = copy_store(demo_store, tmp_path / "data")
    ids = store.ids()
    target = ids[0]
    fix = tmp_path / "fix.csv"
    fix.write_text(f"id,label\n{target},A hand-written request for this exact page\n", encoding="utf-8")
    assert import_labels(store, fix) == {"imported": 1, "removed": 0}
    options = BuildOptions.of(max_tokens=0, num_proc=1)
    for out in (tmp_path / "one", tmp_path / "two"):  # a fresh build directory: only the store remembers
        build(store, out, options)
        labels = read_labels(out)
        if target in labels:
            assert labels[target] == {"label": "A hand-written request for this exact page", "source": "manual"}
        texts = json.loads((out / "final-dataset.json").read_text(encoding="utf-8"))
        assert any("\n\nA hand-written request for this exact page\n\n" in t for t in texts) == (target in labels)
    assert target in labels  # the first snapshot is never the near-duplicate the clean stage drops
    relabel = BuildOptions.of(max_tokens=0, num_proc=1, label=LabelOptions(relabel=True))
    assert run_label(store, tmp_path / "two", relabel.label)["by_source"]["manual"] == 1

    # an empty label removes the manual one; the labeller's label is back
    fix.write_text(f"id,label\n{target},\n", encoding="utf-8")
    assert import_labels(store, fix) == {"imported": 0, "removed": 1}
    section = run_label(store, tmp_path / "two", options.label)
    assert "manual" not in section["by_source"] and section["reused"] == 10 and section["written"] == 1
    store.close()


def test_label_import_refuses_unknown_pages_and_bad_files(demo_store, tmp_path):
    store = copy_store(demo_store, tmp_path / "data")
    known = store.ids()[1]
    url = store.get(known).url
    bad = tmp_path / "bad.csv"
    bad.write_text(f"id,label\n{known},fine\nffffffffffffffffffffffffffffffff,typo\n", encoding="utf-8")
    with pytest.raises(UsageError, match="nothing imported; not in the store: ffff"):
        import_labels(store, bad)
    assert store.labels("manual") == []
    header = tmp_path / "header.csv"
    header.write_text("page,text\nx,y\n", encoding="utf-8")
    with pytest.raises(UsageError, match="`id` \\(or `url`\\) column and a `label` column"):
        import_labels(store, header)
    by_url = tmp_path / "labels.json"
    by_url.write_text(json.dumps([{"url": url, "label": "  A request\n by URL  "}]), encoding="utf-8")
    assert import_labels(store, by_url)["imported"] == 1
    assert store.labels("manual")[0].label == "A request by URL"
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({known: "A request from a mapping"}), encoding="utf-8")
    import_labels(store, mapping)
    assert [row.label for row in store.labels("manual")] == ["A request from a mapping"]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid JSON"):
        import_labels(store, broken)
    store.close()


def test_label_command_exports_and_imports(demo_store, tmp_path):
    store = copy_store(demo_store, tmp_path / "data")
    store.close()
    runner = CliRunner()
    data, out = str(tmp_path / "data"), str(tmp_path / "out")
    for args in (["clean", "--data", data, "--max-tokens", "0"], ["topics"]):
        assert runner.invoke(main, [*args, "--out", out]).exit_code == 0
    export = tmp_path / "labels.csv"
    result = runner.invoke(main, ["label", "--data", data, "--out", out, "--export", str(export)])
    assert result.exit_code == 0, result.output
    with export.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 11 and {r["source"] for r in rows} == {"extractive"}
    rows[0]["label"] = "A page I would ask for in my own words"
    with export.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:1])
    result = runner.invoke(main, ["label", "--data", data, "--out", out, "--import", str(export)])
    assert result.exit_code == 0, result.output
    assert "1 imported" in result.output and "manual 1" in result.output
    assert read_labels(tmp_path / "out")[rows[0]["id"]]["source"] == "manual"
    result = runner.invoke(main, ["label", "--data", data, "--out", out, "--labeler", "openai"])
    assert result.exit_code == 2 and "--labeler-url" in result.output


def test_a_failing_labeller_falls_back_to_extractive(tmp_path):
    """Pages the labeller cannot label get the extractive label, with the reason reported."""
    from tinyweb.dataset.labelers import LabelFailure

    class Flaky:
        name, version = "flaky", "flaky/1"

        def label(self, pages, progress=None):
            return [LabelFailure("http_500", "boom") if "fail" in p.title else f"A page about {p.title}" for p in pages]

    import tinyweb.dataset.label as labels_module

    pages = [page(id=f"{n:032x}", title=t, headings=["Our bakery menu"]) for n, t in enumerate(["ok one", "fail me"])]
    original = labels_module.make_labeler
    labels_module.make_labeler = lambda name, **options: Flaky()
    try:
        with Store(tmp_path / "data") as store:
            result, section = label(store, pages, LabelOptions(labeler="flaky"))
            stored = {(row.snapshot_id, row.source) for row in store.labels()}
    finally:
        labels_module.make_labeler = original
    assert result[pages[0].id] == {"label": "A page about ok one", "source": "flaky"}
    assert result[pages[1].id]["source"] == "extractive" and result[pages[1].id]["fallback"] == "http_500"
    assert section["fallbacks"] == 1 and section["fallback_reasons"] == {"http_500": 1}
    assert stored == {(pages[0].id, "flaky"), (pages[1].id, "extractive")}


@pytest.mark.slow
def test_extractive_labels_beat_the_title_on_the_gold_set(corpus_site, tmp_path):
    """The gold set (tests/data/label-gold.tsv, written by hand): the default labeller beats the bare <title>
    on MiniLM similarity to the gold request, boilerplate rate and duplicate rate."""
    from tinyweb.capture.crawler import Crawler, CrawlOptions

    gold = read_gold(GOLD)
    assert len(gold) >= 30 and all((CORPUS / path).is_file() for path, _ in gold)
    with Store(tmp_path / "data") as store:
        options = CrawlOptions(max_pages=len(gold), max_depth=0, delay_s=0, block_external=True, concurrency=2)
        run(Crawler(store, options).crawl([corpus_site.url + path for path, _ in gold]))
        out = tmp_path / "out"
        run_clean(store, out, BuildOptions.of(max_tokens=0).clean)
        run_topics(out)
        section = run_label(store, out, BuildOptions.of(label=LabelOptions(gold=GOLD)).label)
    ours, title = section["quality"]["labels"], section["quality"]["title"]
    assert section["gold_pages"] >= 30 and ours["pages"] == title["pages"] == section["gold_pages"]
    assert ours["similarity"] > title["similarity"] + 0.1, section["quality"]
    assert ours["boilerplate_rate"] < title["boilerplate_rate"]
    assert ours["duplicate_rate"] < title["duplicate_rate"] or ours["duplicate_rate"] == title["duplicate_rate"] == 0
