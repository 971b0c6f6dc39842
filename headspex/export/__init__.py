"""Export a pruned checkpoint with the removed heads physically deleted.

    summary = headspex.export.export_pruned(model, keep, "pruned/")   # keep: [n_layers, n_heads] 0/1
    pruned = headspex.load_model("pruned/")                            # or AutoModelForCausalLM
                                                                       #   .from_pretrained(..., trust_remote_code=True)

:mod:`~headspex.export.checkpoint` writes it (:mod:`~headspex.export.safety` guards where) and
:mod:`~headspex.export.latency` measures size and speed. Export sits above the engine: the model classes
(copied into every checkpoint) are :mod:`headspex.engine.pruned_modeling` (Llama family) and
:mod:`headspex.engine.pruned_gemma` (Gemma 3); the weights are read by :mod:`~headspex.export.llama_weights`
and :mod:`~headspex.export.gemma_weights`; the reader is
:mod:`headspex.engine.sources.pruned`, re-exported here. Importing this package imports no torch.
"""

from headspex._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "ExportSummary": "headspex.export.checkpoint", "export_pruned": "headspex.export.checkpoint",
    "keep_mask_from": "headspex.export.checkpoint", "load_pruned_hf": "headspex.engine.sources.pruned",
    "read_marker": "headspex.engine.sources.pruned", "count_parameters": "headspex.export.latency",
    "measure_latency": "headspex.export.latency", "compare_latency": "headspex.export.latency",
    "PrunedLlamaConfig": "headspex.engine.pruned_modeling", "PrunedLlamaForCausalLM": "headspex.engine.pruned_modeling",
    "PrunedGemma3Config": "headspex.engine.pruned_gemma", "PrunedGemma3ForCausalLM": "headspex.engine.pruned_gemma",
})
