"""The acceptance run, and the model that ships: `python -m bench.train --acceptance [--steps N] [--stage S]`.

Stages, each resumable (run the command again and it goes on where it stopped):

1. `build`: the corpus pages whose licence allows redistribution (`licence` in ../shared/corpus/pages.tsv:
   MIT, ISC, PSF, CC BY, the TemplateMag free licence with attribution; not Design2Code, research use only, and
   not the unlicensed learning-zone pages) captured (bench.build's corpus store) and built with the default
   flags, the corpus's sites, and `--placeholder-images`: no corpus address or font reaches the model.
2. `train`: SmolLM2-135M + LoRA on the build's train split — plans, sections and the whole pages that fit
   `--max-length 1024` — for `--steps` optimizer steps (checkpoints every 25, `--resume` after a stop); the log
   goes to OUT/runs/shipped-train.log.
3. `settings` (run it before `evaluate`): composed pages for the dev requests under each decoding setting of
   SETTINGS and from the CHECKPOINTS, side by side (RUN/settings-dev.json), to choose the defaults from.
   `evaluate`: tinyweb evaluate's five rows on the hand-written requests (bench/requests.tsv, the `--part`
   asked: dev to choose settings, test for the figures), with the corpus's whole-site pages (every licence;
   they are measured, not shipped) as the reference pages and the retrieval row; `--part validation`: the run
   composed and the retrieval row on the requests of the build's validation pages (sites it never saw).
4. `ship`: the run into tinyweb/data/default-run/ — run.json, the adapter in bf16 safetensors, the framework
   copy without @font-face rules and with every url() the placeholder, and a model card with the sources and
   their attributions — at most 15 MB.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.build import PORT, capture_corpus
from bench.dataset import CORPUS_SITES
from bench.pages import CORPUS
from tinyweb.store import Store

SHIPPABLE = re.compile(r"^(MIT|ISC|PSF)|CC BY|TemplateMag", re.IGNORECASE)
WHOLE_SITE_KINDS_EXCLUDED = {"component-example", "real-world-c4"}  # component demos; Design2Code
MAX_LENGTH = 1024
STEPS = 200  # two hours here at ~114 tokens/s (36 s a step of 4 096 tokens, measured 2026-12-03)
SHIPPED_RUN = Path("tinyweb/data/default-run")
MAX_SHIPPED_MB = 15
REQUESTS = Path("bench/requests.tsv")
# Decoding settings tried on the dev requests (composed pages only), and the earlier checkpoints tried with the
# default settings: what the shipped run's defaults are chosen from (`--stage settings`).
SETTINGS = {
    "penalty 1.1 on every token": {"repetition_penalty": 1.1, "repetition_scope": "all"},
    "penalty 1.1 on the words only": {"repetition_penalty": 1.1, "repetition_scope": "text"},
    "no penalty": {"repetition_penalty": 1.0},
}
CHECKPOINTS = (100, 150)
RANKED_BY = ("blank", "painted_blocks", "ink", "class_uses_valid", "request_similarity")  # best first, in order


def corpus_rows() -> list[dict[str, str]]:
    with (CORPUS / "pages.tsv").open(encoding="utf-8") as tsv:
        return list(csv.DictReader(tsv, delimiter="\t"))


def shippable_store(store: Store, data: Path) -> tuple[Store, list[dict[str, str]]]:
    """A store of the snapshots of the pages whose licence allows redistribution, and those pages' rows."""
    rows = [r for r in corpus_rows() if SHIPPABLE.search(r["licence"])]
    paths = {r["path"] for r in rows}
    small = Store(data)
    if small.count() == 0:
        keep = [s for s in store.iter_snapshots() if any(s.url.endswith("/" + p) for p in paths)]
        small.add_many(keep)
    return small, rows


def build_stage(out: Path) -> Path:
    from tinyweb.dataset.prompts import PromptOptions
    from tinyweb.pipeline import BuildOptions, build
    from tinyweb.staticserver import StaticServer

    build_dir = out / "build-shipped"
    if (build_dir / "dataset" / "dataset_dict.json").is_file():
        return build_dir
    store = capture_corpus(out / "corpus-data")
    small, rows = shippable_store(store, out / "corpus-data-shipped")
    options = BuildOptions(prompts=PromptOptions(site_pattern=CORPUS_SITES, placeholder_images=True))
    with StaticServer(CORPUS, port=PORT):
        summary = build(small, build_dir, options, progress=lambda s: print(f"build: {s}", flush=True))
    p = summary["prompts"]
    print(f"shippable build: {p['reached']} pages of {len(rows)} shippable, rows {p['rows']}, splits {p['splits']}")
    return build_dir


def train_stage(build_dir: Path, out: Path, steps: int) -> Path:
    run = out / "runs" / "shipped"
    metrics = run / "metrics.json"
    if metrics.is_file() and json.loads(metrics.read_text())["steps"] >= steps:
        return run
    args = ["train", "--dataset", str(build_dir / "dataset"), "--output", str(run), "--max-length", str(MAX_LENGTH)]
    args += ["--max-steps", str(steps), "--save-steps", "25", "--eval-steps", "60"]
    if any((run / "checkpoints").glob("checkpoint-*")):
        args.append("--resume")
    elif (run / "run.json").is_file():  # stopped before its first checkpoint: nothing to go on from
        shutil.rmtree(run)
    run.parent.mkdir(parents=True, exist_ok=True)  # the run folder itself is tinyweb's to make (private)
    with (run.parent / "shipped-train.log").open("a", encoding="utf-8") as log:
        code = "import sys; from tinyweb.cli import main; main(sys.argv[1:])"
        training = subprocess.Popen([sys.executable, "-c", code, *args], stdout=log, stderr=subprocess.STDOUT)
        while training.poll() is None:
            keep_checkpoints(run)
            time.sleep(30)
    keep_checkpoints(run)
    if training.returncode != 0:
        raise SystemExit(f"training stopped (exit {training.returncode}): see {run.parent / 'shipped-train.log'}")
    return run


def keep_checkpoints(run: Path) -> None:
    """Copy the adapters of CHECKPOINTS to RUN/kept/ once written (the Trainer keeps only its latest two)."""
    from tinyweb.layout import CHECKPOINTS_DIR

    for step in CHECKPOINTS:
        source, kept = run / CHECKPOINTS_DIR / f"checkpoint-{step}", run / "kept" / f"checkpoint-{step}"
        if (source / "trainer_state.json").is_file() and not (kept / "adapter_model.safetensors").is_file():
            kept.mkdir(parents=True, exist_ok=True)  # trainer_state.json is written last: the adapter is whole
            for name in ("adapter_config.json", "adapter_model.safetensors", "trainer_state.json"):
                shutil.copy(source / name, kept / name)


def reference_pages(out: Path) -> list[dict[str, str]]:
    """The corpus's whole-site pages (not component examples, not Design2Code) of the full corpus build."""
    from tinyweb.learn.evaluate import reference_pages as labelled
    from tinyweb.pipeline import load_pages

    build = out / "build-all"
    if not (build / "pages").is_dir():
        raise SystemExit(f"{build} is missing: run `python -m bench.build` first (the reference pages)")
    kinds = {r["path"]: r["kind"] for r in corpus_rows()}
    ids = {
        p["id"]
        for p in load_pages(build)
        if next((k for path, k in kinds.items() if p["url"].endswith("/" + path)), None)
        not in WHOLE_SITE_KINDS_EXCLUDED | {None}
    }
    return labelled(build, ids)


def evaluate_stage(run: Path, out: Path, part: str, build_dir: Path) -> dict:
    """The five rows on the hand-written requests of `part` (dev, test); or, for `validation`, the run composed
    and the retrieval row on the requests of the build's validation pages (sites the run never saw)."""
    from tinyweb.learn.decode import GenerateOptions
    from tinyweb.learn.evaluate import evaluate
    from tinyweb.learn.requests import read_prompts, validation_prompts

    systems = None
    if part == "validation":
        requests, systems = validation_prompts(build_dir / "dataset", 100), ["composed", "retrieval"]
    else:
        requests = read_prompts(REQUESTS, part)
    references = reference_pages(out)
    print(f"evaluating {len(requests)} {part} requests against {len(references)} reference pages", flush=True)
    report = evaluate(run, requests, run / f"evaluation-{part}", GenerateOptions(), print, systems, references)
    for name, summary in report["summary"].items():
        print(name, json.dumps({k: v for k, v in summary.items() if not k.endswith("_vs_reference")}))
    return report


def checkpoint_run(run: Path, step: int) -> Path:
    """A run folder for the run's checkpoint at `step` (its run.json, framework copy and that adapter)."""
    from tinyweb.layout import ADAPTER_DIR, CHECKPOINTS_DIR, FRAMEWORK_CSS, RUN_FILE

    folder = run / f"at-step-{step}"
    if not (folder / ADAPTER_DIR / "adapter_config.json").is_file():
        # The Trainer keeps only its latest two checkpoints: the training stage copies these to RUN/kept/.
        source = next(
            (
                f
                for f in (run / "kept" / f"checkpoint-{step}", run / CHECKPOINTS_DIR / f"checkpoint-{step}")
                if f.is_dir()
            ),
            None,
        )
        if source is None:
            raise SystemExit(f"no checkpoint-{step} in {run / 'kept'} or {run / CHECKPOINTS_DIR}")
        shutil.rmtree(folder, ignore_errors=True)
        (folder / ADAPTER_DIR).mkdir(parents=True)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            shutil.copy(source / name, folder / ADAPTER_DIR / name)
        shutil.copy(run / FRAMEWORK_CSS, folder / FRAMEWORK_CSS)
        shutil.copy(run / RUN_FILE, folder / RUN_FILE)
    return folder


def settings_stage(run: Path, out: Path) -> dict:
    """Composed pages for the dev requests under each of SETTINGS, and from CHECKPOINTS; a table of them."""
    from tinyweb.learn.decode import GenerateOptions
    from tinyweb.learn.evaluate import evaluate
    from tinyweb.learn.requests import read_prompts

    requests = read_prompts(REQUESTS, "dev")
    references = reference_pages(out)
    tries = [(name, run, GenerateOptions(**kw)) for name, kw in SETTINGS.items()]
    tries += [
        (f"step {step}, the default settings", checkpoint_run(run, step), GenerateOptions()) for step in CHECKPOINTS
    ]
    rows = {}
    for name, folder, options in tries:
        print(f"== {name}", flush=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        report = evaluate(folder, requests, run / "settings-dev" / slug, options, print, ["composed"], references)
        rows[name] = report["summary"]["composed"]
    columns = ("blank", "painted_blocks", "ink", "colours", "words", "landmarks", "class_uses_valid",
               "parts_ended", "request_similarity", "repetition_rate", "seconds_median")  # fmt: skip

    def rank(item: tuple[str, dict]) -> tuple:
        figures = item[1]
        return tuple((1 if c == "blank" else -1) * (figures.get(c) or 0) for c in RANKED_BY)

    print("| setting | " + " | ".join(columns) + " |")
    for name, summary in sorted(rows.items(), key=rank):
        print(f"| {name} | " + " | ".join(str(summary.get(c)) for c in columns) + " |")
    (run / "settings-dev.json").write_text(json.dumps(rows, indent=1))
    return rows


def ship_stage(run: Path, rows: list[dict[str, str]]) -> Path:
    """The run as the package's default run (see the module docstring)."""
    import torch
    from safetensors.torch import load_file, save_file

    from tinyweb.layout import ADAPTER_DIR, FRAMEWORK_CSS, RUN_FILE
    from tinyweb.placeholder import framework_without_site_files

    shutil.rmtree(SHIPPED_RUN, ignore_errors=True)
    (SHIPPED_RUN / ADAPTER_DIR).mkdir(parents=True)
    weights = load_file(str(run / ADAPTER_DIR / "adapter_model.safetensors"))
    save_file(
        {k: v.to(torch.bfloat16) for k, v in weights.items()},
        str(SHIPPED_RUN / ADAPTER_DIR / "adapter_model.safetensors"),
    )
    config = json.loads((run / ADAPTER_DIR / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "smollm2-135m"
    (SHIPPED_RUN / ADAPTER_DIR / "adapter_config.json").write_text(json.dumps(config, indent=1))
    meta = json.loads((run / RUN_FILE).read_text())
    meta["config"] |= {"output": "(shipped)", "dataset": "(the shippable corpus build; see MODEL_CARD.md)"}
    meta["base_model_folder"] = "(resolved from base_model)"
    meta["shipped"] = {"adapter_dtype": "bfloat16", "from": str(run)}
    (SHIPPED_RUN / RUN_FILE).write_text(json.dumps(meta, indent=1))
    css = (run / FRAMEWORK_CSS).read_text(encoding="utf-8")
    (SHIPPED_RUN / FRAMEWORK_CSS).write_text(framework_without_site_files(css), encoding="utf-8")
    (SHIPPED_RUN / "MODEL_CARD.md").write_text(model_card(meta, rows), encoding="utf-8")
    size = sum(f.stat().st_size for f in SHIPPED_RUN.rglob("*") if f.is_file()) / 1e6
    if size > MAX_SHIPPED_MB:
        raise SystemExit(f"the shipped run is {size:.1f} MB, over {MAX_SHIPPED_MB} MB")
    print(f"shipped {SHIPPED_RUN} ({size:.1f} MB)")
    return SHIPPED_RUN


def model_card(meta: dict, rows: list[dict[str, str]]) -> str:
    templates = sorted({(r["source"], r["template"], r["licence"]) for r in rows})
    lines = "\n".join(f"| {source} | {template} | {licence} |" for source, template, licence in templates)
    config = meta["config"]
    return f"""# tinyweb default run

A LoRA adapter (rank {config["lora_r"]}, alpha {config["lora_alpha"]}, bf16) for SmolLM2-135M-Instruct, trained by
tinyweb for {meta.get("steps")} steps on plans, sections and whole pages (at most {config["max_length"]} tokens)
of the pages below, rewritten to use the semantic CSS framework beside it. Images in its training text were one
placeholder; the framework copy carries no @font-face rules and points every url() at the placeholder.

## Sources and attributions

Only pages whose licence allows redistribution. Templates from TemplateMag are used under its free licence,
which asks for attribution: designed by TemplateMag (https://templatemag.com). Start Bootstrap templates
(https://startbootstrap.com) and the other npm kits are MIT or ISC; the Python documentation is under the
PSF licence; the Bootstrap and Pico examples are MIT (code) and CC BY 3.0 (docs).

| source | template | licence |
|---|---|---|
{lines}
"""


def main(out: Path, steps: int, stage: str, part: str) -> None:
    build_dir = build_stage(out)
    if stage == "build":
        return
    run = train_stage(build_dir, out, steps)
    if stage == "train":
        return
    if stage == "settings":
        settings_stage(run, out)
        return
    if stage in ("evaluate", "all"):
        evaluate_stage(run, out, part, build_dir)
    if stage in ("ship", "all"):
        rows = [r for r in corpus_rows() if SHIPPABLE.search(r["licence"])]
        ship_stage(run, rows)
