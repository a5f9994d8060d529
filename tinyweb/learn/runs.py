"""A training run's folder: what `tinyweb train` writes and `generate`, `evaluate` and `model export` read.

runs/NAME/
  run.json                    the run's full config (TrainConfig), the resolved base model folder, versions
  semantic-css-framework.css  a copy of the framework the dataset was built with (a rebuild cannot break it)
  adapter/                    the final LoRA adapter (peft `save_pretrained`) and the tokenizer
  checkpoints/checkpoint-N/   Trainer checkpoints, for --resume
  metrics.json                losses per step, eval losses, non-padding tokens per second
  loss.png                    training and validation loss
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyweb.errors import UsageError
from tinyweb.layout import ADAPTER_DIR, FRAMEWORK_CSS, RUN_FILE
from tinyweb.models import BASE_MODELS, ModelError
from tinyweb.private import private_dir

# peft 0.21 asks transformers 5 a deprecated question on every adapter it wraps; nothing for a user to act on.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)


def resolve_base_model(name_or_path: str) -> Path:
    """A base model folder: a name from BASE_MODELS (prepared once into the cache) or a local model folder."""
    if name_or_path in BASE_MODELS:
        return BASE_MODELS[name_or_path]()
    folder = Path(name_or_path)
    if not (folder / "config.json").is_file():
        known = ", ".join(BASE_MODELS)
        raise UsageError(f"--base-model {name_or_path!r} is neither a known model ({known}) nor a model folder")
    return folder


def framework_classes(css: str) -> set[str]:
    """Every class name a framework stylesheet defines, per-width (@media) classes included."""
    from tinyweb.compress.stylesheet import class_names  # tinycss2: the server reads run folders without it

    return set(class_names(css))


@dataclass
class Run:
    """A finished (or checkpointed) training run, ready to generate with."""

    folder: Path
    config: dict[str, Any]
    model: Any  # the base model with the LoRA adapter applied (peft PeftModel), eval mode
    tokenizer: Any
    css: str
    classes: set[str]

    @property
    def css_path(self) -> Path:
        return self.folder / FRAMEWORK_CSS


DEFAULT_RUN = Path(__file__).resolve().parent.parent / "data" / "default-run"  # the run the package ships


def default_run() -> Path:
    """The run `generate` uses without --run: the one shipped in the package."""
    if not (DEFAULT_RUN / RUN_FILE).is_file():
        raise UsageError("no --run given, and this install ships no default run: pass --run runs/NAME")
    return DEFAULT_RUN


def composes(config: dict[str, Any]) -> bool:
    """Whether a run (its run.json) learnt plans and sections: one trained on whole pages only has never seen a
    plan, and writes pages one-shot."""
    kinds = config.get("config", {}).get("kinds", "page")
    return {"plan", "section"} <= set(str(kinds).split(","))


def read_run_config(folder: Path) -> dict[str, Any]:
    path = folder / RUN_FILE
    if not path.is_file():
        raise UsageError(f"{folder} is not a training run (no {RUN_FILE}): train one with `tinyweb train`")
    return json.loads(path.read_text(encoding="utf-8"))


def load_base(folder: Path) -> tuple[Any, Any]:
    """The run's base model (without the adapter) and tokenizer, as in its config."""
    from tinyweb.models import load_causal_lm

    config = read_run_config(folder)
    return load_causal_lm(resolve_base_model(config["base_model"]))


def load_run(folder: Path, merge: bool = False) -> Run:
    """The base model with the run's adapter on top (merged into the weights when `merge`: faster to generate)."""
    from peft import PeftModel

    from tinyweb.models import load_causal_lm

    config = read_run_config(folder)
    adapter = folder / ADAPTER_DIR
    if not (adapter / "adapter_config.json").is_file():
        raise UsageError(f"{folder} has no trained adapter yet ({adapter}): let `tinyweb train` finish or --resume it")
    base, tokenizer = load_causal_lm(resolve_base_model(config["base_model"]))
    try:
        model = PeftModel.from_pretrained(base, str(adapter))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"cannot load the adapter in {adapter}: {exc}") from exc
    if merge:
        model = model.merge_and_unload()
    model.eval()
    css_path = folder / FRAMEWORK_CSS
    css = css_path.read_text(encoding="utf-8") if css_path.is_file() else ""
    return Run(folder, config, model, tokenizer, css, framework_classes(css))


def export_model(folder: Path, target: Path) -> Path:
    """The run's LoRA merged into a standalone model folder that plain transformers loads (with the
    framework CSS beside it, which the model's pages link to)."""
    import shutil

    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty: export into a new folder")
    run = load_run(folder, merge=True)
    private_dir(target, "model folder")
    run.model.save_pretrained(str(target))
    run.tokenizer.save_pretrained(str(target))
    if run.css_path.is_file():
        shutil.copyfile(run.css_path, target / FRAMEWORK_CSS)
    return target


def prepare_base_model(name: str) -> Path:
    """Convert a known base model once into the cache (`tinyweb model prepare`); its folder."""
    if name not in BASE_MODELS:
        raise UsageError(f"unknown base model {name!r}: known are {', '.join(BASE_MODELS)}")
    return resolve_base_model(name)
