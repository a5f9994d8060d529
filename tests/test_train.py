"""Training with real model code: a tiny random Llama with a small BPE vocabulary (fast), and real SmolLM2 (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from datasets import Dataset, DatasetDict

from tests.conftest import tiny_llama
from tinyweb.cli import main
from tinyweb.dataset.format import prompt_text
from tinyweb.errors import UsageError
from tinyweb.learn.data import IGNORE, PackedCollator, pack, packed_rows, tokenize
from tinyweb.learn.runs import load_run, read_run_config
from tinyweb.learn.train import TrainConfig, train

TOPICS = ["bakery", "studio", "docs"]
CSS = ".bakery-hero{color:#333}\n.studio-card{padding:8px}\n.docs-code{font-family:monospace}\n"


def page(n: int) -> dict:
    topic = TOPICS[n % 3]
    label = f"A {topic} page number {n} with a hero and {n % 4 + 1} cards"
    cards = "".join(f'<div class="{topic}-card">card {i}</div>' for i in range(n % 4 + 1))
    html = (
        '<!DOCTYPE html>\n<html><head><link rel="stylesheet" href="../semantic-css-framework.css"></head>'
        f'<body><h1 class="{topic}-hero">{topic} {n}</h1>{cards}</body></html>'
    )
    prompt = prompt_text(label)
    return {
        "id": f"{n:032x}",
        "url": f"http://127.0.0.1/{n}",
        "topic": topic,
        "label": label,
        "label_source": "extractive",
        "prompt": prompt,
        "completion": html,
        "text": prompt + html,
        "n_tokens": 0,
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A build folder with a small prompt dataset and its framework, and a tiny random Llama base model
    whose BPE vocabulary is trained on that dataset (so a step takes milliseconds, not seconds)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    root = tmp_path_factory.mktemp("tiny")
    rows = [page(n) for n in range(15)]
    (root / "build").mkdir()
    (root / "build" / "semantic-css-framework.css").write_text(CSS, encoding="utf-8")
    DatasetDict({"train": Dataset.from_list(rows[:12]), "validation": Dataset.from_list(rows[12:])}).save_to_disk(
        str(root / "build" / "dataset")
    )

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator([r["text"] for r in rows], trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tiny_llama(tok, root / "base", max_position_embeddings=1024)
    return root


def config(tiny: Path, out: Path, **options) -> TrainConfig:
    base = {"max_steps": 4, "max_length": 512, "grad_accum": 1, "batch_size": 2, "lr": 5e-3, "save_steps": 2}
    return TrainConfig(
        dataset=str(tiny / "build" / "dataset"), output=str(out), base_model=str(tiny / "base"), **(base | options)
    )


def test_loss_only_on_the_completion(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny / "base"))
    rows = [page(1), page(2)]
    examples, too_long = tokenize(rows, tok, 512)
    assert too_long == 0
    for row, example in zip(rows, examples, strict=True):
        prompt_len = len(tok(row["prompt"], add_special_tokens=False)["input_ids"])
        assert example.labels[:prompt_len] == [IGNORE] * prompt_len
        assert IGNORE not in example.labels[prompt_len:]
        assert tok.decode(example.labels[prompt_len:]) == row["completion"] + "<|endoftext|>"
        assert example.input_ids[prompt_len:] == example.labels[prompt_len:]
    short, dropped = tokenize(rows, tok, 20)
    assert short == [] and dropped == 2  # never truncated: left out


def test_packing_never_attends_across_documents(tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny / "base"))
    model = AutoModelForCausalLM.from_pretrained(str(tiny / "base")).eval()
    examples, _ = tokenize([page(n) for n in range(6)], tok, 512)
    lengths = [len(e.input_ids) for e in examples]
    bins = pack(lengths, 300)
    assert sorted(i for b in bins for i in b) == list(range(6))
    assert all(sum(lengths[i] for i in b) <= 300 for b in bins) and len(bins) < 6
    rows = packed_rows(examples, 300)
    batch = PackedCollator(tok.pad_token_id)(rows[:2])
    batch.pop("real_tokens")
    with torch.no_grad():
        packed = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        for row_index, members in enumerate(bins[:2]):
            start = 0
            for i in members:
                alone = model(torch.tensor([examples[i].input_ids])).logits[0]
                n = len(examples[i].input_ids)
                assert torch.allclose(packed[row_index, start : start + n], alone, atol=1e-5)
                start += n


def test_split_attention_gives_each_packed_page_its_loss_alone(tiny):
    """Packed rows without a mask (tinyweb.learn.attention: each page's attention on its own slice): the same
    logits and per-page loss as each page alone, and the same as the 4-D block mask gives."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tinyweb.learn.attention import register

    tok = AutoTokenizer.from_pretrained(str(tiny / "base"))
    model = AutoModelForCausalLM.from_pretrained(str(tiny / "base")).eval()
    examples, _ = tokenize([page(n) for n in range(6)], tok, 512)
    rows = packed_rows(examples, 300)
    masked = PackedCollator(tok.pad_token_id)(rows[:2])
    split = PackedCollator(tok.pad_token_id, mask=False)(rows[:2])
    assert "attention_mask" not in split

    with torch.no_grad():
        by_mask = model(input_ids=masked["input_ids"], position_ids=masked["position_ids"],
                        attention_mask=masked["attention_mask"]).logits  # fmt: skip
        model.set_attn_implementation(register())
        by_split = model(input_ids=split["input_ids"], position_ids=split["position_ids"]).logits
        model.set_attn_implementation("sdpa")
        for row_index, row in enumerate(rows[:2]):  # padding may differ: it is nobody's context and has no loss
            n = len(row["input_ids"])
            assert torch.allclose(by_split[row_index, :n], by_mask[row_index, :n], atol=1e-5)
            start = 0
            for n in row["doc_lengths"]:
                ids = split["input_ids"][row_index, start : start + n]
                labels = split["labels"][row_index, start : start + n]
                alone = model(ids[None]).logits[0]
                packed = by_split[row_index, start : start + n]
                assert torch.allclose(packed, alone, atol=1e-5)
                keep = labels[1:] != IGNORE
                loss_alone = torch.nn.functional.cross_entropy(alone[:-1][keep], labels[1:][keep])
                loss_packed = torch.nn.functional.cross_entropy(packed[:-1][keep], labels[1:][keep])
                assert loss_packed.item() == pytest.approx(loss_alone.item(), rel=1e-5)
                start += n


def test_precision_auto_is_bf16_only_where_the_cpu_has_it(tmp_path):
    from tinyweb.learn.precision import cpu_flags, resolve

    assert resolve("auto", "cpu", flags={"sse2", "avx2", "avx512f"}) == "fp32"  # AVX-512 alone: bf16 is emulated
    assert resolve("auto", "cpu", flags={"avx512f", "avx512_bf16"}) == "bf16"
    assert resolve("auto", "cpu", flags={"amx_bf16", "amx_tile"}) == "bf16"
    assert resolve("fp32", "cpu", flags={"avx512_bf16"}) == "fp32" and resolve("bf16", "cpu", flags=set()) == "bf16"
    with pytest.raises(UsageError, match="--precision"):
        resolve("fp16", "cpu")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_bf16_autocast_trains_the_lora_weights_and_is_recorded(tiny, tmp_path):
    """Under bf16 autocast the losses are those of bf16 matmuls (not fp32's), the fp32 LoRA weights move, and
    run.json says which precision ran."""
    fp32 = train(config(tiny, tmp_path / "fp32", precision="fp32"))
    bf16 = train(config(tiny, tmp_path / "bf16", precision="bf16"))
    losses = {name: [e["loss"] for e in s["log"] if "loss" in e] for name, s in (("fp32", fp32), ("bf16", bf16))}
    assert losses["bf16"] != losses["fp32"]  # autocast ran: bf16 rounding changes every loss a little
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.05)  # and nothing more
    meta = read_run_config(tmp_path / "bf16")
    assert (meta["precision"], meta["autocast"], meta["dtype"]) == ("bf16", True, "float32")
    assert (read_run_config(tmp_path / "fp32")["precision"], read_run_config(tmp_path / "fp32")["autocast"]) == (
        "fp32",
        False,
    )
    loaded = load_run(tmp_path / "bf16")
    lora_b = [p for n, p in loaded.model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.dtype == torch.float32 for p in lora_b) and any(p.abs().sum() > 0 for p in lora_b)


def test_training_logs_loss_changes_lora_and_saves_an_adapter_that_reloads(tiny, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    summary = train(config(tiny, tmp_path / "run"))
    losses = [e["loss"] for e in summary["log"] if "loss" in e]
    assert len(losses) == 4 and all(loss > 0 for loss in losses)
    assert any("eval_loss" in e for e in summary["log"]) and summary["eval_loss"] > 0
    assert summary["non_padding_tokens"] > 0 and summary["tokens_per_second"] > 0
    run = tmp_path / "run"
    assert (run / "semantic-css-framework.css").read_text() == CSS and (run / "loss.png").stat().st_size > 1000
    meta = read_run_config(run)
    assert meta["status"] == "finished" and meta["dtype"] == "float32" and meta["config"]["lora_r"] == 16

    loaded = load_run(run)
    lora_b = [p for n, p in loaded.model.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # LoRA B starts at zero: training moved it
    assert loaded.classes == {"bakery-hero", "studio-card", "docs-code"}
    ids = torch.tensor([loaded.tokenizer("<!DOCTYPE html><html>", add_special_tokens=False)["input_ids"]])
    again = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny / "base")), str(run / "adapter"))
    with torch.no_grad():
        assert torch.equal(loaded.model(ids).logits, again.eval()(ids).logits)
        merged = load_run(run, merge=True).model(ids).logits
        assert torch.allclose(merged, loaded.model(ids).logits, atol=1e-5)

    # exported: a plain transformers model folder, the framework beside it
    result = CliRunner().invoke(main, ["model", "export", "--run", str(run), "-o", str(tmp_path / "export")])
    assert result.exit_code == 0, result.output
    plain = AutoModelForCausalLM.from_pretrained(str(tmp_path / "export")).eval()
    assert not hasattr(plain, "peft_config") and (tmp_path / "export" / "semantic-css-framework.css").is_file()
    with torch.no_grad():
        assert torch.allclose(plain(ids).logits, merged, atol=1e-5)
    again_export = CliRunner().invoke(main, ["model", "export", "--run", str(run), "-o", str(tmp_path / "export")])
    assert again_export.exit_code == 2 and "not empty" in again_export.output


def test_resume_continues_from_the_checkpoint(tiny, tmp_path):
    """A run stopped after its step-2 checkpoint (the later checkpoint removed, as if it crashed) and resumed
    trains steps 3 and 4 exactly as the run that never stopped."""
    import shutil

    run = tmp_path / "run"
    straight = train(config(tiny, run, max_steps=4, save_steps=2))
    shutil.rmtree(run / "checkpoints" / "checkpoint-4")
    resumed = train(config(tiny, run, max_steps=4, save_steps=2), resume=True)
    assert resumed["steps"] == 4
    tail = [(e["step"], e["loss"]) for e in resumed["log"] if "loss" in e and e["step"] > 2]
    expected = [(e["step"], e["loss"]) for e in straight["log"] if "loss" in e and e["step"] > 2]
    assert [s for s, _ in tail] == [3, 4] and [s for s, _ in expected] == [3, 4]
    assert [loss for _, loss in tail] == pytest.approx([loss for _, loss in expected], rel=1e-5)


def test_bad_runs_are_clear_errors(tiny, tmp_path):
    with pytest.raises(UsageError, match="not a prompt dataset"):
        train(TrainConfig(dataset=str(tmp_path), output=str(tmp_path / "r"), base_model=str(tiny / "base")))
    with pytest.raises(UsageError, match="neither a known model"):
        train(TrainConfig(dataset=str(tiny / "build" / "dataset"), output=str(tmp_path / "r"), base_model="nope"))
    with pytest.raises(UsageError, match="nothing to resume"):
        train(config(tiny, tmp_path / "new"), resume=True)
    train(config(tiny, tmp_path / "done", max_steps=1))
    with pytest.raises(UsageError, match="already holds a run"):
        train(config(tiny, tmp_path / "done", max_steps=1))
    with pytest.raises(UsageError, match="max_length"):
        train(config(tiny, tmp_path / "done", max_steps=2, max_length=256), resume=True)
    with pytest.raises(UsageError, match="fits --max-length 16"):
        train(config(tiny, tmp_path / "short", max_length=16))
    result = CliRunner().invoke(main, ["train", "--dataset", str(tmp_path), "--output", str(tmp_path / "x")])
    assert result.exit_code == 2 and "not a prompt dataset" in result.output and "Traceback" not in result.output


def test_padded_baseline_trains_too(tiny, tmp_path):
    summary = train(config(tiny, tmp_path / "padded", packing=False, max_steps=2))
    assert summary["steps"] == 2 and summary["sequences"] == 12 and not summary["packing"]


@pytest.mark.slow
def test_two_processes_match_one_with_doubled_accumulation(tiny, tmp_path):
    """`accelerate launch` with 2 CPU processes (batch 1 each) gives the losses of 1 process with batch 1 and
    gradient accumulation 2: the same global batches, the same updates."""
    common = [
        "train", "--dataset", str(tiny / "build" / "dataset"), "--base-model", str(tiny / "base"),
        "--max-steps", "3", "--max-length", "512", "--batch-size", "1", "--lr", "5e-3", "--lora-dropout", "0",
        "--save-steps", "100",
    ]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    # --multi_gpu is accelerate's data-parallel launcher (torchrun); without GPUs the processes talk over gloo.
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    accelerate += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "tinyweb"]
    two = subprocess.run(
        [*accelerate, *common, "--grad-accum", "1", "--output", str(tmp_path / "two")],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run(
        [sys.executable, "-m", "tinyweb", *common, "--grad-accum", "2", "--output", str(tmp_path / "one")],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    losses = {}
    for name in ("one", "two"):
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        losses[name] = [e["loss"] for e in metrics["log"] if "loss" in e]
        assert metrics["processes"] == (2 if name == "two" else 1)
    assert len(losses["one"]) == 3 and losses["two"] == pytest.approx(losses["one"], rel=1e-3)


@pytest.mark.slow
def test_real_smollm2_trains_a_step(tmp_path, demo_build):
    """The real base model (converted from the GGUF once) on the demo's dataset, one step."""
    out, _ = demo_build
    summary = train(TrainConfig(dataset=str(out / "dataset"), output=str(tmp_path / "run"), max_steps=1, grad_accum=1))
    assert summary["steps"] == 1 and summary["train_loss"] > 0
    run = load_run(tmp_path / "run")
    assert run.model.peft_config["default"].r == 16 and len(run.classes) > 50


def test_on_a_gpu_the_batch_comes_from_memory_and_keeps_the_effective_batch(tiny, monkeypatch):
    """The split (batch × accumulation) stays what was asked; on a GPU the batch grows as far as the probe
    says memory holds, and a CPU run keeps the given split. The probe runs the tiny model's real step here."""
    from tinyweb.learn import batch
    from tinyweb.learn.precision import resolve
    from tinyweb.models import load_causal_lm

    assert batch.split_batch(8, 100) == (8, 1) and batch.split_batch(8, 3) == (2, 4)
    assert batch.split_batch(6, 4) == (3, 2) and batch.split_batch(7, 0) == (1, 7)
    plan = batch.plan_from_memory(8, per_sequence_bytes=2 << 30, free_bytes=10 << 30)  # 4.25 fit: batch 4
    assert (plan.batch_size, plan.grad_accum, plan.effective) == (4, 2, 8)
    model, _ = load_causal_lm(tiny / "base")
    seen = []

    def probe(m, max_length, vocab):  # stands in for probe_cuda: the same forward and backward, on the CPU
        ids = torch.randint(0, vocab, (1, max_length))
        m(input_ids=ids, labels=ids).loss.backward()
        seen.append(sum(p.grad is not None for p in m.parameters()))
        m.zero_grad(set_to_none=True)
        return 1 << 30, 3 << 30

    cfg = TrainConfig(output="unused", batch_size=1, grad_accum=8, max_length=64)
    assert batch.plan_batch(cfg, "cpu", model, probe) == batch.BatchPlan(1, 8)
    on_gpu = batch.plan_batch(cfg, "cuda", model, probe)
    assert (on_gpu.batch_size, on_gpu.grad_accum) == (2, 4) and seen and seen[0] > 0
    cfg.auto_batch = False
    assert batch.plan_batch(cfg, "cuda", model, probe) == batch.BatchPlan(1, 8)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve("auto", "cuda") == "bf16"


def test_a_dataset_without_validation_pages_trains_with_a_warning(tiny, tmp_path):
    """An empty validation split (a corpus of one site, say): training goes on, without validation, and says so."""
    import shutil

    from datasets import load_from_disk

    build = tmp_path / "build"
    shutil.copytree(tiny / "build", build, ignore=shutil.ignore_patterns("dataset"))
    data = load_from_disk(str(tiny / "build" / "dataset"))
    empty = DatasetDict({"train": data["train"], "validation": data["validation"].select([])})
    empty.save_to_disk(str(build / "dataset"), num_shards={"train": 1, "validation": 1})  # as `prompts` saves
    args = ["train", "--dataset", str(build / "dataset"), "--output", str(tmp_path / "run"), "--max-steps", "1"]
    result = CliRunner().invoke(main, [*args, "--base-model", str(tiny / "base"), "--max-length", "512"])
    assert result.exit_code == 0, result.output
    assert "no validation pages: trained without validation" in result.output and "Traceback" not in result.output
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["eval_loss"] is None
