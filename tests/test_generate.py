"""Generation and evaluation of a trained run: a tiny random Llama with a LoRA adapter stands in for training."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import tiny_llama
from tinyweb.dataset.format import prompt_text
from tinyweb.errors import UsageError
from tinyweb.layout import FRAMEWORK_CSS
from tinyweb.learn.decode import GenerateOptions, cut_html, generate_pages
from tinyweb.learn.evaluate import evaluate
from tinyweb.learn.generate import generate
from tinyweb.learn.metrics import (
    class_validity,
    html5_errors,
    is_end_of_input,
    parse_errors,
    renders_non_blank,
    repetition_rate,
    visible_text,
)
from tinyweb.learn.render import screenshot_page, unknown_classes, write_page
from tinyweb.learn.requests import read_prompts, validation_prompts
from tinyweb.learn.runs import load_run
from tinyweb.learn.sheet import sheet_size
from tinyweb.learn.systems import SYSTEMS, base_prompt, page_in_answer
from tinyweb.placeholder import PLACEHOLDER

# peft 0.21 reads transformers 5's deprecated `is_gradient_checkpointing` whenever it wraps a model.
CSS = (
    "/* tinyweb semantic CSS framework */\n"
    ".base-page-flow{margin:0}\n"
    ".base-card-box{width:200px;height:100px;background:rgb(255,0,0)}\n"
    ".base-card-title-type{font-size:20px}\n"
    ".shop-price-type::before{content:'$'}\n"
)
CLASSES = {"base-page-flow", "base-card-box", "base-card-title-type", "shop-price-type"}
CLEAN_PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
    '<link rel="stylesheet" href="../semantic-css-framework.css"></head>'
    '<body class="base-page-flow"><main><div class="base-card-box"></div>'
    '<h1 class="base-card-title-type">Fresh bread</h1></main></body></html>'
)


def make_run(folder: Path, base: Path) -> Path:
    """A training run as `tinyweb train` leaves it: run.json, a LoRA adapter with the tokenizer, the framework."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tinyweb.models import tokenizer

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM", init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(folder / "adapter")
    tokenizer().save_pretrained(folder / "adapter")
    (folder / "run.json").write_text(json.dumps({"base_model": str(base), "max_length": 512}))
    (folder / FRAMEWORK_CSS).write_text(CSS)
    return folder


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random Llama (hidden 32, 2 layers) with SmolLM2's tokenizer and vocabulary, and a run on top of it."""
    from tinyweb.models import tokenizer

    base = tmp_path_factory.mktemp("tiny-base")
    tiny_llama(tokenizer(), base, tie_word_embeddings=True)
    return make_run(tmp_path_factory.mktemp("run"), base)


@pytest.fixture(scope="module")
def tiny_loaded(tiny_run: Path):
    return load_run(tiny_run, merge=True)


@pytest.fixture(scope="module")
def closing_model():
    """A tiny Llama wired to answer any training prompt with "</html><p": SmolLM2 writes "</", "html", "><", "p".

    Its layers add nothing (o_proj and down_proj are zero), so the last position holds its token's embedding;
    four tokens get orthogonal embeddings and the output row of the token meant to follow each points along it.
    """
    import torch

    from tinyweb.models import tokenizer

    tok = tokenizer()
    model = tiny_llama(tok, num_hidden_layers=1, tie_word_embeddings=False).eval()
    last = tok(prompt_text("x"), add_special_tokens=False)["input_ids"][-1]
    chain = [last, *tok("</html><p", add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        for axis, (token, following) in enumerate(itertools.pairwise(chain)):
            direction = torch.zeros(32)
            direction[axis] = 1.0
            model.model.embed_tokens.weight[token] = direction
            model.lm_head.weight[following] = 20 * direction
    return model, tok


def test_the_prompt_is_the_training_prompt_without_a_bos_token(tiny_loaded) -> None:
    tok = tiny_loaded.tokenizer
    ids = tok(prompt_text("A bakery"), add_special_tokens=False)["input_ids"]
    assert ids == tok(prompt_text("A bakery"))["input_ids"]  # SmolLM2 adds no BOS by default either
    assert tok.bos_token_id not in ids


def test_cut_html_keeps_the_page_up_to_its_first_close() -> None:
    text = "<!DOCTYPE html><html><body>x</body></html>\n\nSome chatter </html> more"
    assert cut_html(text) == ("<!DOCTYPE html><html><body>x</body></html>", True)
    assert cut_html("<!DOCTYPE html><html><body>x") == ("<!DOCTYPE html><html><body>x", False)


def test_generate_pages_in_order_within_the_token_budget(tiny_loaded) -> None:
    labels = ["A menu page for a bakery", "A portfolio for a wedding photographer, with a gallery", "A blog"]
    options = GenerateOptions(max_new_tokens=6, batch_size=2)
    done: list[int] = []
    pages = generate_pages(tiny_loaded.model, tiny_loaded.tokenizer, labels, options, progress=done.append)
    assert [p.label for p in pages] == labels
    assert sum(done) == 3
    for page in pages:
        assert 1 <= page.new_tokens <= 6
        assert page.raw  # a random model writes something
        assert (page.html, page.complete) == cut_html(page.raw)
        assert page.seconds > 0
    # Greedy decoding is deterministic, batched or alone; sampling is repeatable with its seed.
    alone = generate_pages(tiny_loaded.model, tiny_loaded.tokenizer, labels[:1], options)
    assert alone[0].raw == pages[0].raw
    sampled = GenerateOptions(max_new_tokens=6, temperature=1.0, seed=3)
    first = generate_pages(tiny_loaded.model, tiny_loaded.tokenizer, labels, sampled)
    again = generate_pages(tiny_loaded.model, tiny_loaded.tokenizer, labels, sampled)
    assert [p.raw for p in first] == [p.raw for p in again]


def test_generation_stops_at_the_end_of_the_page(closing_model) -> None:
    model, tok = closing_model
    [page] = generate_pages(model, tok, ["A bakery"], GenerateOptions(max_new_tokens=20))
    # The stop string ends inside the last token ("><"): generation stops there and the page is cut after it.
    assert (page.raw, page.html, page.complete, page.new_tokens) == ("</html><", "</html>", True, 3)
    [unstopped] = generate_pages(model, tok, ["A bakery"], GenerateOptions(max_new_tokens=2))
    assert (unstopped.html, unstopped.complete, unstopped.new_tokens) == ("</html", False, 2)


def test_write_page_points_the_link_at_a_copy_of_the_framework(tmp_path: Path) -> None:
    out = tmp_path / "out" / "page.html"
    css = write_page(CLEAN_PAGE, out, CSS)
    assert css == out.parent / FRAMEWORK_CSS
    assert css.read_text() == CSS
    written = out.read_text()
    assert written == CLEAN_PAGE.replace('href="../semantic-css-framework.css"', 'href="semantic-css-framework.css"')

    write_page("<!DOCTYPE html><html><head><title>x</title></head><body></body></html>", out, CSS)
    assert '<head><link rel="stylesheet" href="semantic-css-framework.css"><title>' in out.read_text()
    other = '<a href="../semantic-css-framework.css">the stylesheet</a>'  # only a <link> is rewritten
    write_page(f"<body>{other}</body>", out, CSS)
    assert out.read_text() == f'<link rel="stylesheet" href="semantic-css-framework.css"><body>{other}</body>'


def test_unknown_and_valid_classes() -> None:
    page = '<div class="base-card-box made-up"><p class=" shop-price-type  other made-up">1</p></div>'
    assert unknown_classes(page, CLASSES) == ["made-up", "other"]
    assert unknown_classes(CLEAN_PAGE, CLASSES) == []
    assert class_validity(page, CLASSES) == pytest.approx(2 / 4)
    assert class_validity(CLEAN_PAGE, CLASSES) == 1.0
    assert class_validity("<!DOCTYPE html><html><body><p>plain</p></body></html>", CLASSES) is None
    assert unknown_classes("", CLASSES) == []


def test_screenshot_renders_the_page_with_its_framework_copy(tmp_path: Path) -> None:
    page = CLEAN_PAGE.replace("</main>", "</main><script>document.body.style.background = 'blue'</script>")
    html_path = tmp_path / "page.html"
    write_page(page, html_path, CSS)
    png = screenshot_page(html_path, tmp_path / "shots" / "page.png")
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (1280, 800)
        rgb = image.convert("RGB")
        assert rgb.getpixel((100, 50)) == (255, 0, 0)  # the box the framework copy styles
        assert rgb.getpixel((1000, 700)) == (255, 255, 255)  # scripts do not run on generated pages
    assert renders_non_blank(png)


def test_page_metrics_on_hand_written_pages(tmp_path: Path) -> None:
    assert parse_errors("<div><p>x</div></span>") > 0
    assert parse_errors(CLEAN_PAGE) == 0
    cut = "<!DOCTYPE html><html><head><title>t</title></head><body><div><p>x"
    assert parse_errors(cut) > 0 and all(is_end_of_input(code) for code in html5_errors(cut))
    assert not all(is_end_of_input(code) for code in html5_errors("<div><p>x</div></span>"))
    assert repetition_rate("a b c d a b c d a b c d") > 0.3
    assert repetition_rate("one two three four five six") == 0.0
    assert repetition_rate("a b c") == 0.0
    assert visible_text(CLEAN_PAGE) == "Fresh bread"
    assert visible_text("<html><head><style>p{}</style></head><body><script>x()</script> a \n b</body></html>") == "a b"
    white = tmp_path / "white.png"
    Image.new("RGB", (1280, 800), "white").save(white)
    assert not renders_non_blank(white)
    dotted = Image.new("RGB", (1280, 800), "white")
    dotted.paste((0, 0, 0), (600, 400, 602, 402))  # one small dark mark survives the downscaling
    dotted.save(tmp_path / "dotted.png")
    assert renders_non_blank(tmp_path / "dotted.png")
    assert not renders_non_blank(None)


def test_evaluate_sets_every_system_side_by_side_and_resumes(tiny_run: Path, tmp_path: Path) -> None:
    requests = ["A menu page for a bakery", "A landing page for a yoga studio"]
    references = [
        {"id": "shop", "label": "A shop page with fresh bread", "html": CLEAN_PAGE},
        {"id": "yoga", "label": "A yoga studio's class schedule", "html": CLEAN_PAGE.replace("Fresh bread", "Yoga")},
    ]
    out = tmp_path / "eval"
    told: list[str] = []
    options = GenerateOptions(max_new_tokens=8, section_tokens=6, plan_tokens=8)
    report = evaluate(tiny_run, requests, out, options, told.append, None, references)
    saved = json.loads((out / "evaluation.json").read_text())
    assert saved == report and report["systems"] == list(SYSTEMS)
    assert [row["request"] for row in saved["requests"]] == requests
    for row in saved["requests"]:
        for name in SYSTEMS:
            page = row[name]
            assert (out / page["html"]).is_file() and (out / page["html"]).with_suffix(".json").is_file()
            assert page["png"] is not None and (out / page["png"]).is_file()
            assert page["design"] is not None and -1 <= page["request_similarity"] <= 1
            assert page["new_tokens"] <= 8 * (1 if name != "composed" else 20)
    # A random model writes no plan that parses: the composed row says it took the fallback plan.
    assert saved["requests"][0]["composed"]["fallback"] is True
    assert saved["requests"][1]["retrieval"]["source"] == "yoga"  # the nearest label
    assert saved["reference"]["pages"] == 2 and set(saved["summary"]) == set(SYSTEMS)
    assert saved["summary"]["retrieval"]["class_uses_valid"] == 1.0  # a real page uses the framework only
    assert any(t.startswith("composed") for t in told) and any(t.startswith("render") for t in told)
    assert (out / "base" / FRAMEWORK_CSS).read_text() == CSS
    with Image.open(out / "contact-sheet.png") as sheet:
        assert sheet.size == sheet_size(2, len(SYSTEMS))
    # Resumed: nothing is generated again; the figures stay.
    told.clear()
    again = evaluate(tiny_run, requests, out, options, told.append, None, references)
    assert not any(t.startswith(("composed", "base", "one-shot")) for t in told)
    assert again["summary"] == report["summary"]


def test_the_base_prompt_uses_the_chat_template_and_the_example_page(tiny_loaded) -> None:
    plain = base_prompt(tiny_loaded.tokenizer, "A bakery", example=False)
    with_example = base_prompt(tiny_loaded.tokenizer, "A bakery", example=True)
    assert plain.startswith("<|im_start|>") and plain.rstrip().endswith("assistant")
    assert "Request: A bakery" in plain and "Northwind Bikes" not in plain and "Northwind Bikes" in with_example
    assert page_in_answer("Sure!\n```html\n<!DOCTYPE html><html><body>x</body></html>\n```") == (
        "<!DOCTYPE html><html><body>x</body></html>",
        True,
    )


def test_read_prompts_and_validation_prompts(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    lines = tmp_path / "prompts.txt"
    lines.write_text("A bakery menu\n\n  A   yoga studio \n")
    assert read_prompts(lines) == ["A bakery menu", "A yoga studio"]
    listed = tmp_path / "prompts.json"
    listed.write_text(json.dumps(["One", "Two"]))
    assert read_prompts(listed) == ["One", "Two"]

    rows = {"label": ["a", "b", "c"], "id": ["1", "2", "3"]}
    data = DatasetDict({"train": Dataset.from_dict(rows), "validation": Dataset.from_dict(rows)})
    data.save_to_disk(str(tmp_path / "dataset"))
    assert validation_prompts(tmp_path / "dataset", 2) == ["a", "b"]
    # Rows of every kind: each page's request once, never a section's label.
    kinds = {
        "page_id": ["p1", "p1", "p1", "p2", "p2", "p3"],
        "kind": ["section", "page", "plan", "plan", "section", "page"],
        "label": ["a hero with a headline", "A bakery", "A bakery", "A yoga studio", "a footer", "A shop"],
    }
    DatasetDict({"validation": Dataset.from_dict(kinds)}).save_to_disk(str(tmp_path / "kinds"))
    assert validation_prompts(tmp_path / "kinds", 5) == ["A bakery", "A yoga studio", "A shop"]


@pytest.mark.slow
def test_generate_with_smollm2_and_an_adapter(tmp_path: Path) -> None:
    from tinyweb.models import smollm2_folder

    run = make_run(tmp_path / "run", smollm2_folder())
    out = tmp_path / "out" / "page.html"
    report = generate(run, "A menu page for a bakery", out, tmp_path / "page.png", GenerateOptions(max_new_tokens=24))
    assert report["label"] == "A menu page for a bakery"
    assert report["output"] == str(out) and out.is_file()
    assert Path(report["css"]).read_text() == CSS
    assert 0 < report["new_tokens"] <= 24
    assert report["tokens_per_second"] > 0
    assert isinstance(report["complete"], bool)
    assert isinstance(report["unknown_classes"], list)
    assert report["screenshot"] == str(tmp_path / "page.png")
    with Image.open(report["screenshot"]) as image:
        assert image.format == "PNG"


MEMORISED_LABEL = "A shop page with fresh bread"


@pytest.fixture(scope="module")
def memorised_run(tmp_path_factory: pytest.TempPathFactory):
    """A tiny Llama with SmolLM2's vocabulary, LoRA-trained by `tinyweb.learn.train` on one page until it writes
    that page for its label (embeddings wide enough at init for an adapter to move the logits)."""
    from datasets import Dataset, DatasetDict

    from tinyweb.learn.train import TrainConfig, train
    from tinyweb.models import tokenizer

    root = tmp_path_factory.mktemp("memorised")
    prompt = prompt_text(MEMORISED_LABEL)
    row = {"id": "0" * 32, "url": "http://127.0.0.1/", "topic": "shop", "label": MEMORISED_LABEL}
    row |= {"label_source": "manual", "prompt": prompt, "completion": CLEAN_PAGE, "text": prompt + CLEAN_PAGE}
    (root / "build").mkdir()
    (root / "build" / FRAMEWORK_CSS).write_text(CSS)
    data = DatasetDict(
        {"train": Dataset.from_list([row | {"n_tokens": 0}] * 4), "validation": Dataset.from_list([row])}
    )
    data.save_to_disk(str(root / "build" / "dataset"))
    tiny_llama(tokenizer(), root / "base", tie_word_embeddings=True, initializer_range=0.5, hidden_size=64,
               intermediate_size=128)  # fmt: skip
    config = TrainConfig(
        output=str(root / "run"), dataset=str(root / "build" / "dataset"), base_model=str(root / "base"),
        max_steps=80, lr=2e-2, batch_size=4, grad_accum=1, lora_dropout=0.0, packing=False, save_steps=1000,
    )  # fmt: skip
    return root / "run", train(config)


@pytest.mark.slow
def test_training_brings_the_loss_down(memorised_run) -> None:
    _, summary = memorised_run
    losses = [e["loss"] for e in summary["log"] if "loss" in e]
    evals = [e["eval_loss"] for e in summary["log"] if "eval_loss" in e]
    assert len(losses) == 80 and losses[-1] < 0.1 * losses[0]
    assert len(evals) >= 2 and evals[-1] < 0.1 * evals[0]  # the first is the base model's, before any step


@pytest.mark.slow
def test_evaluate_ranks_the_tuned_model_above_its_base(memorised_run, tmp_path: Path) -> None:
    """Fails if the two models were swapped (the base model never saw the page) or if rendering failed."""
    run, _ = memorised_run
    options = GenerateOptions(max_new_tokens=120)
    report = evaluate(run, [MEMORISED_LABEL], tmp_path / "eval", options, systems=["one-shot", "base"])
    tuned, base = report["summary"]["one-shot"], report["summary"]["base"]
    assert tuned["class_uses_valid"] == 1.0 and base["class_uses_valid"] in (None, 0.0)
    assert tuned["complete"] == 1.0 and tuned["rendered"] == 1
    assert report["requests"][0]["one-shot"]["design"]["painted_blocks"] >= 1  # the red box of the framework
    assert tuned["request_similarity"] > base["request_similarity"]


def test_generate_names_the_page_after_the_request(tiny_run: Path, tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from tinyweb.cli import main

    monkeypatch.chdir(tmp_path)
    request = ["generate", "A menu page for a bakery", "--run", str(tiny_run), "--max-new-tokens", "4"]
    for _ in range(2):
        result = CliRunner().invoke(main, request)
        assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["menu-bakery-2.html", "menu-bakery.html", PLACEHOLDER, FRAMEWORK_CSS]
    refused = CliRunner().invoke(main, [*request, "-o", "menu-bakery.html"])
    assert refused.exit_code == 2 and "exists: pass --force" in refused.output
    assert CliRunner().invoke(main, [*request, "-o", "menu-bakery.html", "--force"]).exit_code == 0


def test_decoding_runs_in_bf16_by_default_on_a_cpu_and_fp32_when_asked(tiny_run: Path) -> None:
    """`auto` casts the weights to bf16 for decoding (half the bytes read per token); fp32 casts them back,
    and both write a page in the budget."""
    import torch

    from tinyweb.learn.decode import decoding_dtype

    run = load_run(tiny_run, merge=True)
    [fast] = generate_pages(run.model, run.tokenizer, ["A bakery"], GenerateOptions(max_new_tokens=5))
    assert run.model.dtype == torch.bfloat16 and 1 <= fast.new_tokens <= 5
    fp32 = GenerateOptions(max_new_tokens=5, precision="fp32")
    [exact] = generate_pages(run.model, run.tokenizer, ["A bakery"], fp32)
    assert run.model.dtype == torch.float32 and 1 <= exact.new_tokens <= 5
    assert decoding_dtype("auto", "cpu") == torch.bfloat16 and decoding_dtype("fp32", "cuda") == torch.float32
    with pytest.raises(UsageError, match="precision"):
        GenerateOptions(precision="fp16")
