"""The orchestrator's promises: the lossless proof reads the CSS actually written and catches what is wrong,
stale or missing files are errors that say what to re-run, and generated pages get names of their own."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tinyweb.compress.proof import prove
from tinyweb.errors import UsageError
from tinyweb.layout import FRAMEWORK_CSS, FRAMEWORK_FILE, PAGE_FACES_FILE, PAGES_DIR
from tinyweb.learn.generate import output_path, page_name
from tinyweb.pipeline import LosslessError, load_pages, read_semantic, run_convert


def copy_build(demo_build, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(demo_build[0], out)
    return out


def test_the_proof_passes_the_written_build_and_names_each_failure(demo_build, tmp_path):
    out = copy_build(demo_build, tmp_path)
    pages = load_pages(out)
    css = (out / FRAMEWORK_CSS).read_text(encoding="utf-8")
    semantic = read_semantic(out, pages)
    assert prove(pages, semantic, css, num_proc=1).failures == {}

    # One class taken off one element: that element, on that page, loses declarations.
    victim = sorted(pages, key=lambda p: p["id"])[0]["id"]
    broken = dict(semantic)
    broken[victim] = re.sub(r' class="([\w-]+) ', ' class="', semantic[victim], count=1)
    proof = prove(pages, broken, css, num_proc=1)
    assert list(proof.failures) == [victim] and proof.counts[victim] >= 1
    assert re.match(rf"{victim} element \d+ <\w+>: declarations differ: missing ", proof.failures[victim][0])


def test_the_proof_checks_pseudo_elements_and_every_width_in_the_css(demo_build, tmp_path):
    out = copy_build(demo_build, tmp_path)
    pages = load_pages(out)
    css = (out / FRAMEWORK_CSS).read_text(encoding="utf-8")
    semantic = read_semantic(out, pages)
    media_at = css.index("@media")
    pseudo = re.search(r"\n(\.[\w-]+::(before|after)\{[^}]*?:)([^;}]+)", css[:media_at])
    width = re.search(r"\n(\.[\w-]+\{[^}]*?:)([^;}]+)( !important)", css[media_at:])
    assert pseudo and width, "the demo framework has pseudo-element and per-width classes"
    for start, end, why in (
        (pseudo.start(3), pseudo.end(3), "pseudo-element rules differ"),
        (media_at + width.start(2), media_at + width.end(2), "per-width (@media) rules differ"),
    ):
        changed = css[:start] + "1234px" + css[end:]
        failures = [f for fs in prove(pages, semantic, changed, num_proc=1).failures.values() for f in fs]
        assert failures and all(why in f for f in failures), failures


def test_convert_fails_at_its_end_listing_what_is_not_lossless(demo_build, tmp_path):
    out = copy_build(demo_build, tmp_path)
    css = (out / FRAMEWORK_CSS).read_text(encoding="utf-8")
    # The stylesheet on disk, not the framework convert assigns from: one class now declares what its elements lack.
    rule = re.search(r"\n\.[\w-]+\{[^}]*\}", css)
    assert rule
    (out / FRAMEWORK_CSS).write_text(css[: rule.end() - 1] + ";outline:3px solid red" + css[rule.end() - 1 :])
    with pytest.raises(LosslessError, match=r"semantic pages are not lossless .*\n  \w{32} element \d+ <\w+>: "):
        run_convert(out, num_proc=1)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))["convert"]
    assert report["totals"]["lossless_pages"] < report["totals"]["pages"]  # the count comes from the proof
    assert len(list((out / PAGES_DIR).glob("*.html"))) == report["totals"]["pages"]  # everything was written


def test_stale_or_missing_files_say_what_to_run_again(demo_build, tmp_path):
    out = copy_build(demo_build, tmp_path)
    data = json.loads((out / FRAMEWORK_FILE).read_text(encoding="utf-8"))
    (out / FRAMEWORK_FILE).write_text(json.dumps(data | {"clean_fingerprint": "0" * 32}), encoding="utf-8")
    with pytest.raises(UsageError, match=r"made from other cleaned pages .* run `tinyweb framework` again"):
        run_convert(out, num_proc=1)
    (out / FRAMEWORK_FILE).write_text(json.dumps(data), encoding="utf-8")
    (out / PAGE_FACES_FILE).unlink()
    with pytest.raises(UsageError, match=r"page-font-faces.json is missing: run `tinyweb framework`"):
        run_convert(out, num_proc=1)


def test_generated_pages_are_named_after_the_request(tmp_path):
    assert page_name("A landing page for a coffee shop") == "landing-coffee-shop"
    assert page_name("A portfolio for a wedding photographer, with a gallery") == (
        "portfolio-wedding-photographer-gallery"
    )
    assert page_name("!!!") == "page"
    first = output_path("A coffee shop landing page", tmp_path)
    assert first.name == "coffee-shop-landing.html"
    first.write_text("taken")
    assert output_path("A coffee shop landing page", tmp_path).name == "coffee-shop-landing-2.html"
    assert output_path("A coffee shop landing page", tmp_path, force=True) == first
