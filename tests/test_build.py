"""The build on real captures: clean → topics → framework → convert, proven lossless, deterministic, verified."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
import tinycss2
from click.testing import CliRunner
from lxml import html

from tinyweb.cli import main
from tinyweb.compress.clean import CleanOptions
from tinyweb.compress.css import parse_declarations
from tinyweb.errors import UsageError
from tinyweb.pipeline import BuildOptions, build, load_pages, run_clean, run_verify
from tinyweb.snapshot import CaptureStats, Snapshot
from tinyweb.store import Store

CLASS_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
SKIP = {"head", "title", "meta", "base", "style", "link"}


def framework_rules(css: str) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, str]]]]:
    """Parse the framework independently: selector ('.name' or '.name::before') -> declarations, and per
    @media query the same for its rules (each declaration `!important`, given back without the flag)."""
    rules: dict[str, dict[str, str]] = {}
    media: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)

    def read(rule, into: dict[str, dict[str, str]], important: bool) -> None:
        selector = tinycss2.serialize(rule.prelude).strip()
        assert re.fullmatch(r"\.[a-z0-9-]+(::[a-z-]+)?", selector), selector
        assert selector not in into, f"{selector} defined twice"
        decls = parse_declarations(tinycss2.serialize(rule.content))
        assert all(v.endswith(" !important") == important for v in decls.values()), (selector, decls)
        into[selector] = {p: v.removesuffix(" !important") for p, v in decls.items()}

    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        assert rule.type in ("qualified-rule", "at-rule"), rule
        if rule.type == "qualified-rule":
            read(rule, rules, important=False)
        elif rule.lower_at_keyword == "media":
            query = tinycss2.serialize(rule.prelude).strip()
            for inner in tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True):
                read(inner, media[query], important=True)
    return rules, media


def styled_elements(document: str) -> list[html.HtmlElement]:
    root = html.document_fromstring(document)
    return [el for el in root.iter() if isinstance(el.tag, str) and el.tag not in SKIP]


def page_rules(document: str) -> tuple[dict, dict]:
    """A cleaned page's pseudo-element rules {key: {selector: decls}} and per-width rules
    {key: {(query, selector): decls}}, read independently of the build."""
    pseudo: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    media: dict[str, dict[tuple[str, str], dict[str, str]]] = defaultdict(dict)
    keyed = r'\[data-tw="(\w+)"\](::?[\w-]+)?'
    for style in html.document_fromstring(document).iter("style"):
        for rule in tinycss2.parse_stylesheet(style.text or "", skip_comments=True, skip_whitespace=True):
            if rule.type == "qualified-rule":
                key, selector = re.match(keyed, tinycss2.serialize(rule.prelude)).groups()
                pseudo[key][selector] = parse_declarations(tinycss2.serialize(rule.content))
            elif rule.lower_at_keyword == "media":
                query = tinycss2.serialize(rule.prelude).strip()
                for inner in tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True):
                    key, selector = re.match(keyed, tinycss2.serialize(inner.prelude)).groups()
                    decls = parse_declarations(tinycss2.serialize(inner.content))
                    media[key][(query, selector or "")] = {p: v.removesuffix(" !important") for p, v in decls.items()}
    return pseudo, media


def assert_lossless(out: Path) -> tuple[int, int]:
    """Every element of every semantic page: its classes' declarations plus its residual style are exactly its
    cleaned declarations, no property set twice; its pseudo-element rules and its rules at every other width
    are exactly its own. Returns (elements checked, elements with per-width rules)."""
    rules, media_rules = framework_rules((out / "semantic-css-framework.css").read_text())
    checked = responsive = 0
    for page in load_pages(out):
        semantic = (out / "pages" / f"{page['id']}.html").read_text()
        assert '<link rel="stylesheet" href="../semantic-css-framework.css">' in semantic
        assert "data-tw" not in semantic and "<base" not in semantic
        pseudo, media = page_rules(page["html"])
        before, after = styled_elements(page["html"]), styled_elements(semantic)
        assert [e.tag for e in before] == [e.tag for e in after]
        for old, new in zip(before, after, strict=True):
            want = parse_declarations(old.get("style") or "")
            got = parse_declarations(new.get("style") or "")
            got_pseudo: dict[str, dict[str, str]] = {}
            got_media: dict[tuple[str, str], dict[str, str]] = {}
            for name in (new.get("class") or "").split():
                assert CLASS_NAME.match(name), name
                own = rules.get("." + name)
                if own is None:
                    found = [
                        ((query, s[len(name) + 1 :]), decls)
                        for query, by_selector in media_rules.items()
                        for s, decls in by_selector.items()
                        if s == "." + name or s.startswith(f".{name}::")
                    ]
                    if found:
                        ((where, decls),) = found
                        assert where not in got_media, f"two classes for {where}"
                        got_media[where] = decls
                        continue
                    selector = next(s for s in rules if s.startswith(f".{name}::"))
                    got_pseudo[selector[len(name) + 1 :]] = rules[selector]
                    continue
                assert not set(own) & set(got), f"{name} sets {set(own) & set(got)} again"
                got.update(own)
            assert got == want, (page["url"], new.tag)
            assert got_pseudo == pseudo.get(old.get("data-tw"), {}), (page["url"], new.tag)
            assert got_media == media.get(old.get("data-tw"), {}), (page["url"], new.tag)
            checked += 1
            responsive += bool(got_media)
    return checked, responsive


def test_demo_build_is_lossless_on_every_element(demo_build):
    out, summary = demo_build
    assert summary["convert"]["totals"]["lossless_pages"] == summary["convert"]["totals"]["pages"]
    checked, responsive = assert_lossless(out)
    assert checked > 500
    assert responsive > 20, "the demo site's pages change at the phone width"


def test_demo_build_report_and_compression(demo_build):
    out, _ = demo_build
    report = json.loads((out / "report.json").read_text())
    assert list(report) == ["clean", "topics", "framework", "convert", "label", "prompts"]
    # / and /index.html are one page: the same HTML once their links are written relative to the page
    assert report["clean"]["dropped"] == {"duplicate": 1}
    totals = report["convert"]["totals"]
    assert totals["pages"] == 11
    # The prototype's format, with the framework's share counted, is many times larger.
    assert totals["seed_format_over_semantic"] > 8
    assert totals["semantic_over_snapshot"] < 0.75
    assert totals["classes_per_element"] < 2
    assert totals["residual_element_share"] < 0.15
    # What responsiveness costs is reported: the same pages and framework with and without @media classes.
    responsive = report["convert"]["responsive"]
    assert responsive["responsive_pages"] >= 8 and responsive["media_classes"] > 10
    assert responsive["semantic_plus_framework_tokens"] > responsive["without_media_tokens"]
    assert 0 < responsive["cost"] < 0.5
    assert report["framework"]["tokens_without_media"] < report["framework"]["tokens"]
    for row in report["convert"]["pages"]:
        assert row["semantic_tokens"] >= row["skeleton_tokens"]
        assert row["seed_format_tokens"] > row["snapshot_tokens"] > row["semantic_tokens"]


def test_demo_topics_follow_the_three_designs(demo_build):
    out, _ = demo_build
    topics = json.loads((out / "topics.json").read_text())
    pages = {p["id"]: p["url"] for p in load_pages(out)}
    groups = [
        {
            re.search(r"/(bakery|studio|docs)/", pages[pid]).group(1)
            for pid in t["pages"]
            if re.search(r"/(bakery|studio|docs)/", pages[pid])
        }
        for t in topics["topics"]
    ]
    assert sorted(len(g) for g in groups if g) == [1, 1, 1], topics["topics"]
    for topic in topics["topics"]:
        assert re.fullmatch(r"[a-z][a-z0-9-]*", topic["name"])


def test_framework_is_valid_semantic_and_commented(demo_build):
    out, _ = demo_build
    css = (out / "semantic-css-framework.css").read_text()
    base_rules, media = framework_rules(css)
    rules = [*base_rules, *(s for by_selector in media.values() for s in by_selector)]
    topics = {t["name"] for t in json.loads((out / "topics.json").read_text())["topics"]} | {"base"}
    for selector in rules:
        name = selector[1:].split("::")[0]
        assert any(name.startswith(topic + "-") for topic in topics), name
    for topic in {t for t in topics for c in rules if c[1:].startswith(t + "-")}:
        assert f"/* {topic}:" in css
    fw = json.loads((out / "framework.json").read_text())
    assert len(fw["classes"]) == len(rules)
    # Media classes are named for the width they are for, and sit in one block per width.
    assert list(media) == ["(max-width: 575.98px)"]
    assert all("-phone" in s for s in media["(max-width: 575.98px)"])
    assert "/* phone: " in css
    # Reused: most class uses are of classes that several elements share.
    assert sum(c["uses"] for c in fw["classes"] if c["uses"] >= 2) > 0.8 * sum(c["uses"] for c in fw["classes"])


def test_build_is_deterministic(demo_store, demo_build, tmp_path):
    out, _ = demo_build
    again = tmp_path / "again"
    build(demo_store, again, BuildOptions.of(max_tokens=0, num_proc=1))
    for name in ("semantic-css-framework.css", "topics.json", "framework.json"):
        assert (again / name).read_text() == (out / name).read_text(), name
    for page in (out / "pages").iterdir():
        assert (again / "pages" / page.name).read_text() == page.read_text(), page.name


def test_semantic_pages_render_like_their_snapshots(demo_build):
    out, _ = demo_build
    section = run_verify(out)
    assert section["pages"] == 11
    # Every page at both captured widths: the phone width renders the @media classes.
    assert list(section["widths"]) == ["1280x800", "390x844"]
    assert all(figures["checked"] == 11 for figures in section["widths"].values())
    for check in section["checks"]:
        assert check["pixel_share"] >= 0.999, check
        assert check["style_share"] == 1.0, check
    assert len(list((out / "verify").glob("*.png"))) == 5


def _snapshot(url: str, body: str) -> Snapshot:
    return Snapshot(
        url=url,
        html=f"<!DOCTYPE html><html><head></head><body>{body}</body></html>",
        text="some text",
        stats=CaptureStats(element_count=2, raw_html_bytes=100, capture_ms=1.0),
    )


def test_bad_pages_are_reported_and_the_build_goes_on(tmp_path):
    store = Store(tmp_path / "data")
    store.add(_snapshot("http://a.test/good", '<p style="color: rgb(255, 0, 0)">good</p>'))
    store.add(_snapshot("http://a.test/bad-css", '<p style="color: red; {{{">bad</p>'))
    store.add(
        Snapshot(
            url="http://a.test/empty",
            html="<!DOCTYPE html><html><head></head><body></body></html>",
            stats=CaptureStats(element_count=0, raw_html_bytes=10, capture_ms=1.0),
        )
    )
    section = run_clean(store, tmp_path / "out", BuildOptions.of(max_tokens=0, num_proc=1).clean)
    assert section["kept"] == 1
    assert section["dropped"] == {"bad_css": 1, "empty": 1}
    reasons = {d["url"]: d["reason"] for d in section["dropped_pages"]}
    assert reasons == {"http://a.test/bad-css": "bad_css", "http://a.test/empty": "empty"}


def test_hidden_subtrees_are_dropped_with_their_pseudo_rules(tmp_path):
    store = Store(tmp_path / "data")
    body = '<div style="display: none"><p data-tw="0">gone</p></div>tail<p style="margin-top: 0px">kept</p>'
    snap = _snapshot("http://a.test/", body)
    snap = Snapshot(
        **(
            snap.model_dump(exclude={"id"})
            | {
                "html": snap.html.replace(
                    "<head></head>", '<head><style>\n[data-tw="0"]::before { content: "x" }\n</style></head>'
                )
            }
        )
    )
    store.add(snap)
    run_clean(store, tmp_path / "out", BuildOptions.of(max_tokens=0, num_proc=1).clean)
    (page,) = load_pages(tmp_path / "out")
    assert "gone" not in page["html"] and "data-tw" not in page["html"] and "tail" in page["html"]
    assert 'style="margin-top:0"' in page["html"] and page["removed_hidden"] == 2


def test_links_to_the_own_site_become_relative(tmp_path):
    store = Store(tmp_path / "data")
    body = (
        '<a href="http://a.test/blog/post.html#top" style="color: rgb(255, 0, 0)">top</a>'
        '<a href="http://a.test/blog/about.html">about</a><a href="http://a.test/">home</a>'
        '<a href="https://elsewhere.test/x">out</a><form action="http://a.test/search"><input></form>'
        '<img src="http://a.test/img/photo.png" alt="photo">'
    )
    store.add(_snapshot("http://a.test/blog/post.html", body))
    run_clean(store, tmp_path / "out", BuildOptions.of(max_tokens=0, num_proc=1).clean)
    (page,) = load_pages(tmp_path / "out")
    root = html.document_fromstring(page["html"])
    assert [a.get("href") for a in root.iter("a")] == ["#top", "about.html", "/", "https://elsewhere.test/x"]
    assert root.find(".//form").get("action") == "/search"
    assert root.find(".//img").get("src") == "http://a.test/img/photo.png"  # what the page loads stays absolute


def test_empty_corpus_and_too_long_pages_are_clear_errors(tmp_path, demo_store):
    with pytest.raises(UsageError, match="no snapshots"):
        run_clean(Store(tmp_path / "empty"), tmp_path / "out", BuildOptions.of().clean)
    with pytest.raises(UsageError, match="--max-tokens"):  # `tinyweb clean --max-tokens`; a build never drops for it
        run_clean(demo_store, tmp_path / "out", CleanOptions(max_tokens=50, num_proc=1))
    assert BuildOptions.of(max_tokens=50).clean.max_tokens == 0
    result = CliRunner().invoke(main, ["build", "--data", str(tmp_path / "empty2"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no snapshots" in result.output and "Traceback" not in result.output


def test_stage_commands_run_one_after_another(demo_store, tmp_path):
    runner = CliRunner()
    out = str(tmp_path / "out")
    result = runner.invoke(main, ["topics", "--out", out])
    assert result.exit_code == 2 and "run `tinyweb clean`" in result.output
    data = str(demo_store.data_dir)
    for args in (["clean", "--data", data, "--max-tokens", "0"], ["topics"], ["framework"], ["convert"]):
        result = runner.invoke(
            main, [*args, "--out", out, "--jobs", "1"] if args[0] in ("framework", "convert") else [*args, "--out", out]
        )
        assert result.exit_code == 0, result.output
    for args in (["label", "--data", data], ["prompts", "--max-tokens", "0"]):
        result = runner.invoke(main, [*args, "--out", out])
        assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["convert"]["totals"]["lossless_pages"] == 11
    assert report["label"]["pages"] == 11 and report["prompts"]["kept"] == 11


def test_the_page_doctype_and_so_its_rendering_mode_is_kept():
    """A quirks-mode page (no doctype, or a legacy one without its system identifier) stays in quirks mode
    through clean and convert: `<!DOCTYPE html>` would change its layout (images in table cells, line boxes)."""
    from tinyweb.compress.clean import clean_snapshot
    from tinyweb.compress.convert import convert_page
    from tinyweb.compress.stylesheet import Framework
    from tinyweb.models import count_tokens

    fw = Framework(classes=[], font_faces=[])
    legacy = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">'
    for doctype in ("", legacy, "<!DOCTYPE html>"):
        snap = _snapshot("http://a.test/", "<p>x</p>")
        snap = Snapshot(**(snap.model_dump(exclude={"id"}) | {"html": snap.html.replace("<!DOCTYPE html>", doctype)}))
        page = clean_snapshot(snap, count_tokens)
        semantic = convert_page({"id": page.id, "html": page.html}, fw, []).html
        for document in (page.html, semantic):
            if doctype:
                assert document.startswith(doctype + "\n<html>"), document[:120]
            else:
                assert document.startswith("<html>"), document[:120]


def test_a_hidden_svg_sprite_that_icons_use_is_kept(tmp_path):
    """`<svg style="display: none">` holding <symbol>s draws nothing itself but every <use href="#id"> draws
    from it: clean keeps it (and drops hidden subtrees nothing points at)."""
    store = Store(tmp_path / "data")
    body = (
        '<svg style="display: none"><symbol id="logo" viewBox="0 0 10 10"><circle cx="5" cy="5" r="5"></circle>'
        '</symbol></svg><svg style="display: none"><symbol id="unused"><rect></rect></symbol></svg>'
        '<svg width="10" height="10"><use href="#logo"></use></svg><p style="display: none">gone</p>'
    )
    store.add(_snapshot("http://a.test/", body))
    run_clean(store, tmp_path / "out", BuildOptions.of(max_tokens=0, num_proc=1).clean)
    (page,) = load_pages(tmp_path / "out")
    assert 'id="logo"' in page["html"] and "<circle" in page["html"]
    assert 'id="unused"' not in page["html"] and "gone" not in page["html"]


def test_scheme_counts_reproduce_the_framework(demo_build):
    """bench.schemes compares ways of factoring styles; its first row must be the framework the build made,
    or the comparison says nothing about it."""
    from bench.schemes import SCHEMES, count, load_pages

    out, _ = demo_build
    report = json.loads((out / "report.json").read_text())
    pages = load_pages(out)
    ours = count(pages, SCHEMES[0])
    assert ours["classes"] == report["framework"]["classes"]
    assert ours["classes_per_element"] == pytest.approx(report["convert"]["totals"]["classes_per_element"], abs=1e-3)
    assert ours["residual_element_share"] == pytest.approx(
        report["convert"]["totals"]["residual_element_share"], abs=1e-3
    )
    by_name = {s.name: count(pages, s) for s in SCHEMES}
    atomic = by_name["one class per declaration (atomic CSS)"]
    assert atomic["classes_per_element"] > 2 * ours["classes_per_element"]  # what one class a family saves
    assert atomic["residual_declaration_share"] <= ours["residual_declaration_share"]
