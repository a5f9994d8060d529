"""Generation by composition: plans parsed (or the fallback said), sections written and assembled into a page."""

from __future__ import annotations

import json
from pathlib import Path

import html5lib
import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from tests.test_generate import make_run
from tinyweb.cli import main
from tinyweb.dataset.format import plan_text, section_prompt
from tinyweb.learn.compose import FALLBACK_PLAN, compose_pages, cut_section, page_of, parse_plan, root_end
from tinyweb.learn.decode import GenerateOptions, Stop, decode_prompts
from tinyweb.learn.generate import MAX_REQUEST_CHARS, generate
from tinyweb.learn.runs import load_run


def test_a_plan_as_the_dataset_writes_it_parses_back():
    labels = ["a navigation bar with 4 links", 'a hero with the headline "Find your balance"', "a footer"]
    text = plan_text('<html lang="en" class="base-page">', '<body class="yoga-body" style="margin:0">', labels)
    plan = parse_plan(text)
    assert plan.labels == labels and not plan.fallback
    assert plan.html_tag == '<html lang="en" class="base-page">'
    assert plan.body_tag == '<body class="yoga-body" style="margin:0">'
    # Garbage, or lines that are no labels: the fallback plan, said.
    for garbage in ("", "<div>no plan</div>", "1. 2. 3.\n<body onload=", "\x00\x01"):
        fallback = parse_plan(garbage)
        assert fallback.fallback and fallback.labels == FALLBACK_PLAN and fallback.body_tag == "<body>"
    # A broken tag gives a plain one; at most eight sections.
    many = parse_plan('<html lang="en>\n' + "\n".join(f"{i}. part number {i}" for i in range(1, 13)))
    assert many.html_tag == '<html lang="en">' and len(many.labels) == 8 and not many.fallback


def test_a_composed_page_is_the_plans_shell_around_its_sections():
    plan = parse_plan(plan_text('<html lang="de">', '<body class="b">', ["one", "two"]))
    page = page_of("Ein Café", plan, ['<main class="m"><p>one</p></main>', '<main class="m"><p>two</p></main>'])
    root = lxml_html.document_fromstring(page)
    assert root.get("lang") == "de" and root.find("body").get("class") == "b"
    assert root.findtext(".//title") == "Ein Café"
    assert root.find(".//link").get("href") == "../semantic-css-framework.css"
    assert [p.text for p in root.find("body").find("main")] == ["one", "two"]  # one container again


def test_a_section_ends_where_its_root_element_closes():
    written = '<main class="m"><div class="row"><p>Open<p>Hours</div>\n</main>\n<footer class="f">'
    assert cut_section(written) == ('<main class="m"><div class="row"><p>Open<p>Hours</div>\n</main>', True)
    # Void, self-closed and raw-text elements, quoted ">" and comments do not close it early.
    svg = '<!-- a --><div><img src="a.svg"><br/><svg><path d="M0>1"/></svg><style>p>a{}</div></style></div>tail'
    assert svg[: root_end(svg)].endswith("</style></div>")
    # Still open (an unclosed element, a tag half written, a stray end tag): no end yet.
    for open_text in ("<div><p>open", '<div><span title="a>b"', "</section><div>", "<div><script>x</div>"):
        assert root_end(open_text) is None, open_text
    # A training mark means the model went on to another example: cut there, whether or not it had closed.
    assert cut_section("<div>half\n\n[TINY-WEB-DEV-TITLE]\n\n<div></div>") == ("<div>half\n\n", False)


@pytest.fixture(scope="module")
def composing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random run, recorded as trained on plans and sections, with small budgets."""
    from tests.conftest import tiny_llama
    from tinyweb.models import tokenizer

    base = tmp_path_factory.mktemp("tiny-base")
    tiny_llama(tokenizer(), base, tie_word_embeddings=True)
    run = make_run(tmp_path_factory.mktemp("run"), base)
    meta = json.loads((run / "run.json").read_text())
    meta |= {"config": {"kinds": "page,plan,section"}, "budgets": {"plan": 12, "section": 10, "page": 40}}
    (run / "run.json").write_text(json.dumps(meta))
    return run


def test_composition_with_a_random_model_gives_a_page_that_parses(composing_run: Path):
    run = load_run(composing_run, merge=True)
    told: list[str] = []
    [page] = compose_pages(run.model, run.tokenizer, ["a landing page for a yoga studio"], GenerateOptions(),
                           {"plan": 12, "section": 10}, told.append)  # fmt: skip
    assert page.plan.fallback and page.plan.labels == FALLBACK_PLAN  # twelve random tokens are no plan
    assert told[0].startswith("plan") and told[-1] == f"section {len(FALLBACK_PLAN)} of {len(FALLBACK_PLAN)}"
    assert len(page.sections) == len(FALLBACK_PLAN)
    assert all(1 <= s.new_tokens <= 10 for s in page.sections) and page.new_tokens == page.plan_tokens + sum(
        s.new_tokens for s in page.sections
    )
    html5lib.HTMLParser(strict=False).parse(page.html)
    body = lxml_html.document_fromstring(page.html).find("body")
    assert body is not None and len(body) >= len(FALLBACK_PLAN)  # an element (at least) per planned section
    # The prompt of each section names it and the ones around it.
    assert "section 2 of 5: a hero" in section_prompt("x", FALLBACK_PLAN, 1)


def test_a_row_stops_when_its_stop_rule_says_so(composing_run: Path):
    run = load_run(composing_run, merge=True)
    options = GenerateOptions(max_new_tokens=8, batch_size=2)
    prompts = ["[TINY-WEB-DEV-TITLE]\n\na\n\n", "[TINY-WEB-DEV-TITLE]\n\na longer prompt\n\n"]
    at_once = decode_prompts(run.model, run.tokenizer, prompts, options, Stop(lambda text: True))
    assert [tokens for _, tokens, _, _ in at_once] == [1, 1]
    unstopped = decode_prompts(run.model, run.tokenizer, prompts, options, None)
    assert all(tokens == 8 or end_of_text for _, tokens, _, end_of_text in unstopped)


def test_generate_composes_by_default_and_one_shot_when_asked(composing_run: Path, tmp_path: Path):
    report = generate(composing_run, "A landing page for a yoga studio", tmp_path / "yoga.html")
    assert report["mode"] == "composed" and report["fallback_plan"] and len(report["sections"]) == 5
    assert all(s["new_tokens"] <= 10 for s in report["sections"]) and (tmp_path / "yoga.html").is_file()
    one = generate(composing_run, "A yoga page", tmp_path / "one.html", options=GenerateOptions(
        mode="one-shot", max_new_tokens=6))  # fmt: skip
    assert one["mode"] == "one-shot" and one["new_tokens"] <= 6 and "sections" not in one
    result = CliRunner().invoke(main, ["generate", "A yoga page", "--run", str(composing_run), "-o",
                                       str(tmp_path / "cli.html"), "--section-tokens", "4"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "fallback plan" in result.output and "5. a footer" in result.output and "cut at its budget" in result.output


def test_generate_refuses_bad_requests_and_a_run_without_its_framework(composing_run: Path, tmp_path: Path):
    run = ["generate", "--run", str(composing_run), "-o", str(tmp_path / "x.html")]
    empty = CliRunner().invoke(main, [*run[:1], "   ", *run[1:]])
    assert empty.exit_code == 2 and "the prompt is empty" in empty.output and "Traceback" not in empty.output
    long = CliRunner().invoke(main, [*run[:1], "a" * 5000, *run[1:]])
    assert long.exit_code == 2 and f"at most {MAX_REQUEST_CHARS}" in long.output and "Traceback" not in long.output
    bare = tmp_path / "bare"
    bare.mkdir()
    for item in composing_run.iterdir():
        if item.name != "semantic-css-framework.css":
            (bare / item.name).symlink_to(item)
    missing = CliRunner().invoke(main, ["generate", "a page", "--run", str(bare), "-o", str(tmp_path / "y.html")])
    assert missing.exit_code == 2 and "has no semantic-css-framework.css" in missing.output


def test_generate_without_a_run_uses_the_shipped_one_or_says_there_is_none(tmp_path: Path, monkeypatch):
    import tinyweb.learn.runs as runs

    monkeypatch.setattr(runs, "DEFAULT_RUN", tmp_path / "not-shipped")
    result = CliRunner().invoke(main, ["generate", "a coffee shop", "-o", str(tmp_path / "page.html")])
    assert result.exit_code == 2 and "ships no default run: pass --run" in result.output
    assert "Traceback" not in result.output


def test_the_text_repetition_penalty_spares_markup():
    import torch

    from tinyweb.learn.penalty import TextRepetitionPenalty
    from tinyweb.models import tokenizer

    tok = tokenizer()
    prompt = tok("x", add_special_tokens=False)["input_ids"]
    written = tok('<p class="lead">Bread bread</p><p class="lead">', add_special_tokens=False)["input_ids"]
    penalty = TextRepetitionPenalty(tok, 2.0, len(prompt))
    ids = torch.tensor([prompt + written])
    scores = torch.full((1, len(tok)), 4.0)
    out = penalty(ids, scores)
    text_words = {t for t in written if tok.decode([t]).strip().lower().startswith("bread")}
    markup = {t for t in written if any(c in tok.decode([t]) for c in '<>="') or "class" in tok.decode([t])}
    assert text_words and all(out[0, t] == 2.0 for t in text_words)  # words of the text: penalised
    assert markup and all(out[0, t] == 4.0 for t in markup - text_words)  # markup and class names: spared
    # Inside a tag nothing is penalised, not even the text's words.
    inside = torch.tensor([prompt + written + tok("<p class=", add_special_tokens=False)["input_ids"]])
    assert torch.equal(TextRepetitionPenalty(tok, 2.0, len(prompt))(inside, scores), scores)
