"""The local labeller: SmolLM2 labels hand-made pages; a tiny random Llama runs the whole path in a second."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import tiny_llama
from tinyweb.dataset.labelers import MAX_LABEL_WORDS, LabelFailure, LabelInput, is_boilerplate
from tinyweb.dataset.labelers.local import LocalLabeler, first_sentence, lead
from tinyweb.models import ModelError, load_causal_lm, tokenizer


def page(id: str, title: str, headings: list[str], text: str, **extra: object) -> LabelInput:
    fields: dict = {"description": "", "topic": "general", "keywords": [], "outline": []} | extra
    return LabelInput(id=id, url=f"https://example.test/{id}/", title=title, headings=headings, text=text, **fields)


BAKERY = page(
    "bakery",
    "Rosie's Bakery",
    ["Fresh bread every morning", "Our cakes", "Opening hours", "Visit us"],
    "Sourdough, rye and seeded loaves baked before dawn. Birthday and wedding cakes to order. "
    "Open Monday to Saturday, 7am to 6pm. 12 Mill Lane.",
    description="Family bakery baking sourdough bread, pastries and celebration cakes.",
    keywords=["bakery", "bread", "cakes"],
    outline=["navigation bar", "image gallery", "contact form", "footer"],
)
PORTFOLIO = page(
    "portfolio",
    "Lena Berg Photography",
    ["Portfolio", "Weddings", "Portraits", "About me", "Contact"],
    "I am a wedding and portrait photographer based in Oslo. Browse my portfolio of recent weddings and "
    "studio portraits, then get in touch to book a session.",
    keywords=["photography", "portfolio", "weddings"],
    outline=["navigation bar", "image gallery", "contact form"],
)
DASHBOARD = page(
    "dashboard",
    "Dashboard - Acme Admin",
    ["Dashboard", "Revenue", "New users", "Recent orders"],
    "Dashboard Orders Customers Reports Settings Revenue this month $48,210 New users 1,204 Recent orders "
    "Order ID Customer Status Total",
    keywords=["dashboard", "admin", "chart"],
    outline=["sidebar", "chart", "table"],
)
PAGES = [BAKERY, PORTFOLIO, DASHBOARD]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random two-layer Llama with SmolLM2's tokenizer and chat template, saved like a real model folder."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tiny_llama(tokenizer(), folder)
    return folder


def test_tiny_model_labels_every_page_in_order(tiny_model: Path) -> None:
    labeler = LocalLabeler(str(tiny_model), batch_size=2, max_new_tokens=8)
    done: list[int] = []
    results = labeler.label(PAGES, progress=done.append)
    assert len(results) == len(PAGES)
    assert sum(done) == len(PAGES) and done == [2, 1]
    for source, result in zip(PAGES, results, strict=True):
        assert isinstance(result, str | LabelFailure)
        if isinstance(result, str):  # the answer is started for the model: its kind of page leads the label
            assert result.startswith(lead(source))
            assert len(result.split()) <= MAX_LABEL_WORDS
        else:
            assert result.reason in ("empty", "invalid")
    assert labeler.label([]) == []


def test_a_failing_batch_fails_only_its_pages(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labeler = LocalLabeler(str(tiny_model), batch_size=1, max_new_tokens=4)
    generate = labeler._generate

    def fail_on_the_dashboard(model, tok, prompts):
        if "Acme Admin" in prompts[0]:
            raise RuntimeError("out of memory")
        return generate(model, tok, prompts)

    monkeypatch.setattr(labeler, "_generate", fail_on_the_dashboard)
    done: list[int] = []
    results = labeler.label(PAGES, progress=done.append)
    assert results[2] == LabelFailure("error", "RuntimeError: out of memory")
    assert not any(isinstance(r, LabelFailure) and r.reason == "error" for r in results[:2])
    assert sum(done) == 3


def test_version_names_the_model_and_changes_with_its_weights(tiny_model: Path) -> None:
    version = LocalLabeler(str(tiny_model)).version
    assert version.startswith(f"local/{tiny_model.name}/p")
    assert LocalLabeler().version.startswith("local/smollm2-135m/p")  # without converting the model
    weights = tiny_model / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # retrained in place
    assert LocalLabeler(str(tiny_model)).version != version


def test_a_folder_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model folder"):
        load_causal_lm(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="cannot load"):
        load_causal_lm(tmp_path)
    with pytest.raises(ModelError):
        LocalLabeler(str(tmp_path)).label([BAKERY])


def test_first_sentence_keeps_one_sentence() -> None:
    assert first_sentence("A blog about cats. It has comments.") == "A blog about cats"
    assert first_sentence("A docs page for Bootstrap v5.2 components") == "A docs page for Bootstrap v5.2 components"


@pytest.mark.slow
def test_smollm2_labels_real_looking_pages() -> None:
    done: list[int] = []
    results = LocalLabeler().label(PAGES, progress=done.append)
    assert sum(done) == len(PAGES)
    labels = {source.id: result for source, result in zip(PAGES, results, strict=True) if isinstance(result, str)}
    assert all(isinstance(result, str | LabelFailure) for result in results)
    assert len(labels) >= 2, results
    for label in labels.values():
        assert len(label.split()) <= MAX_LABEL_WORDS and not is_boilerplate(label), label
    assert len(set(labels.values())) == len(labels)
    for source in PAGES:  # in the input's order: each label starts with its own page's kind
        if source.id in labels:
            assert labels[source.id].startswith(lead(source)), (source.id, labels[source.id])
