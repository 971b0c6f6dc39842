"""What ``load_model`` checks before it loads anything: the device, a spec that names a local path, a
checkpoint directory's files, and the context length a loaded model's config declares.

Each refusal is one line of a project error type (:mod:`headspex.errors`) naming what was given, what
was expected and what to do, instead of a traceback from torch or transformers minutes later.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from headspex.errors import InputError, MissingResourceError

__all__ = ["MODEL_FILE_SUFFIXES", "check_device", "check_json_files", "check_model_dir", "checkpoint_errors",
           "config_context_length", "looks_like_path", "missing_path_error"]

MODEL_FILE_SUFFIXES = (".gguf", ".safetensors", ".bin")
_TOKENIZER_FILES = {"vocab.json", "vocab.txt", "merges.txt", "spiece.model", "sentencepiece.bpe.model"}
_JSON_FILES = ("config.json", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json",
               "generation_config.json")
_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")


def check_device(device: str | torch.device | None) -> torch.device:
    """The torch device for ``device`` (None: cuda if available, else cpu), refused when this machine lacks it."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"device must be cpu, cuda, cuda:N or mps; got {device!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = "CPU build" if torch.version.cuda is None and getattr(torch.version, "hip", None) is None \
                else "a GPU build, but no usable GPU or driver was found"
            raise MissingResourceError(
                f"CUDA was requested (--device {device}) but torch.cuda.is_available() is False on this machine "
                f"(torch {torch.__version__}, {build}); use --device cpu"
            )
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise MissingResourceError(f"{dev} was requested (--device {device}) but this machine has {n} CUDA "
                                       f"device(s), cuda:0..cuda:{n - 1}; pick one of them")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise MissingResourceError(
                f"MPS was requested (--device {device}) but torch.backends.mps.is_available() is False on this "
                f"machine (torch {torch.__version__}); use --device cpu"
            )
    return dev


def looks_like_path(spec: str) -> bool:
    """True when ``spec`` can only be a local path, never a Hugging Face id ('org/name', one slash).

    That is: it starts with ./ ../ / or ~, contains the OS path separator (Windows), ends with a model
    file suffix (.gguf, .safetensors, .bin), has two or more slashes, or its first component is an
    existing local directory (``models/x`` when ``./models`` exists).
    """
    if spec in (".", "..") or spec.startswith(("./", "../", "/", "~", ".\\", "..\\")):
        return True
    if os.sep != "/" and os.sep in spec:
        return True
    if spec.lower().endswith(MODEL_FILE_SUFFIXES) or spec.count("/") >= 2:
        return True
    return "/" in spec and Path(spec.split("/", 1)[0]).expanduser().is_dir()


def missing_path_error(spec: str) -> InputError:
    """The error for a path-like ``spec`` with nothing at it."""
    resolved = Path(spec).expanduser().absolute()
    return InputError(
        f"no model directory or file at {spec} (resolved to {resolved}); pass an existing checkpoint directory "
        "(config.json + weights) or .gguf file, a Hugging Face id ('org/name') or an alias (headspex.list_models())"
    )


def check_model_dir(directory: Path) -> None:
    """Refuse a checkpoint directory without a readable config.json, weights or tokenizer, naming it."""
    ggufs = sorted(p.name for p in directory.glob("*.gguf"))
    gguf_hint = f"; it holds {ggufs[0]}: pass that file itself ({directory / ggufs[0]})" if ggufs else ""
    config = directory / "config.json"
    if not config.is_file():
        raise InputError(f"no config.json in the model directory {directory}; a checkpoint directory needs "
                         f"config.json and weights (*.safetensors or *.bin){gguf_hint}")
    _check_json(config)
    weights = [p for p in directory.glob("*.safetensors")] + \
        [p for p in directory.glob("*.bin") if p.name != "training_args.bin"]
    if not weights:
        if ggufs:
            raise InputError(f"no Hugging Face weights (*.safetensors, *.bin) in {directory}{gguf_hint}")
        raise InputError(f"no weights (*.safetensors, *.bin, *.gguf) in {directory}; copy the checkpoint's "
                         "weight files (model.safetensors, ...) beside its config.json")
    if not any(p.name.startswith("tokenizer") or p.name in _TOKENIZER_FILES for p in directory.iterdir()):
        raise InputError(f"no tokenizer (tokenizer.json, tokenizer_config.json, tokenizer.model, vocab.json) in "
                         f"{directory}; save it beside the weights: tokenizer.save_pretrained('{directory}')")


@contextlib.contextmanager
def checkpoint_errors(directory: Path) -> Iterator[None]:
    """Around loading a checked local checkpoint: a damaged weight or JSON file becomes one InputError line."""
    from safetensors import SafetensorError

    try:
        yield
    except SafetensorError as e:
        raise InputError(f"a weight file in {directory} cannot be read ({e}); it is damaged or incomplete: copy it "
                         "again from the original checkpoint") from e
    except ValueError:  # json.JSONDecodeError from a tokenizer file, without the file's name
        check_json_files(directory)  # raises InputError naming the broken file, if that is the cause
        raise


def check_json_files(directory: Path) -> None:
    """Refuse the first of a checkpoint's JSON files (config, tokenizer, ...) that is not a JSON object."""
    for name in _JSON_FILES:
        if (directory / name).is_file():
            _check_json(directory / name)


def _check_json(path: Path) -> None:
    """Refuse a file that is not a UTF-8 JSON object, naming it and the line where parsing stopped."""
    where = f"{path.name} in {path.parent}"
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"{where} is not UTF-8 text (byte {e.start + 1}); restore it from the original "
                         "checkpoint") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{where} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); restore it "
                         "from the original checkpoint") from None
    except OSError as e:
        raise InputError(f"{where} cannot be read ({e.strerror or e}); check its permissions") from None
    if not isinstance(obj, dict):
        raise InputError(f"{where} must hold a JSON object; got {type(obj).__name__}; restore it from the "
                         "original checkpoint")


def config_context_length(config: Any) -> int | None:
    """The most positions a model's config declares (max_position_embeddings, n_positions, ...); None if none.

    A sliding attention window does not count: it limits what a position sees, not how many there are.
    """
    text = config.get_text_config() if callable(getattr(config, "get_text_config", None)) else config
    for cfg in (text, config):
        for key in _CONTEXT_KEYS:
            value = getattr(cfg, key, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None
