"""The configurations behind ``load_model("random:NAME")``: published ``config.json`` values, as Python data.

Each entry is the model's ``config.json`` on the Hugging Face hub (the repository named beside it), with
rope settings in transformers 5's form (``rope_parameters``) and keys that only describe the checkpoint
(``torch_dtype``, ``transformers_version``) left out. ``model_type`` picks the config class and
``architectures[0]`` the model class (:func:`headspex.engine.random_models.random_config`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONFIGS", "NAME_ALIASES"]

_LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192}
_LLAMA_COMMON = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
                 "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02,
                 "pretraining_tp": 1, "rms_norm_eps": 1e-05, "use_cache": True}
# google/gemma-3-270m: five sliding-window (local) layers, then one global layer, repeated
_GEMMA3_LAYER_TYPES = (["sliding_attention"] * 5 + ["full_attention"]) * 3

CONFIGS: dict[str, dict[str, Any]] = {
    # HuggingFaceTB/SmolLM2-135M-Instruct
    "smollm2": {
        **_LLAMA_COMMON, "vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536,
        "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
        "max_position_embeddings": 8192, "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2,
    },
    # meta-llama/Llama-3.2-1B-Instruct
    "llama-3.2-1b": {
        **_LLAMA_COMMON, "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
        "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
        "max_position_embeddings": 131072, "rope_parameters": {**_LLAMA3_ROPE, "factor": 32.0},
        "tie_word_embeddings": True, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    },
    # meta-llama/Llama-3.1-8B-Instruct
    "llama-3.1-8b": {
        **_LLAMA_COMMON, "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "max_position_embeddings": 131072, "rope_parameters": {**_LLAMA3_ROPE, "factor": 8.0},
        "tie_word_embeddings": False, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
    },
    # google/gemma-3-270m (rope_theta 1e6 global, rope_local_base_freq 1e4 local; _sliding_window_pattern 6
    # is spelled out by layer_types)
    "gemma3-270m": {
        "model_type": "gemma3_text", "architectures": ["Gemma3ForCausalLM"], "vocab_size": 262144,
        "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18, "num_attention_heads": 4,
        "num_key_value_heads": 1, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "query_pre_attn_scalar": 256,
        "sliding_window": 512, "layer_types": _GEMMA3_LAYER_TYPES,
        "rope_parameters": {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                            "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}},
        "attention_bias": False, "attention_dropout": 0.0, "attn_logit_softcapping": None,
        "final_logit_softcapping": None, "use_bidirectional_attention": False, "initializer_range": 0.02,
        "tie_word_embeddings": True, "use_cache": True, "pad_token_id": 0, "eos_token_id": 1, "bos_token_id": 2,
    },
    # Qwen/Qwen2.5-0.5B (q/k/v projections carry biases: Qwen2's attention always has them)
    "qwen2.5-0.5b": {
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 151936, "hidden_size": 896,
        "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
        "hidden_act": "silu", "max_position_embeddings": 32768, "max_window_layers": 24, "rms_norm_eps": 1e-06,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}, "sliding_window": 32768,
        "use_sliding_window": False, "attention_dropout": 0.0, "initializer_range": 0.02,
        "tie_word_embeddings": True, "use_cache": True, "bos_token_id": 151643, "eos_token_id": 151643,
    },
    # mistralai/Mistral-7B-v0.1
    "mistral-7b": {
        "model_type": "mistral", "architectures": ["MistralForCausalLM"], "vocab_size": 32000, "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-05,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}, "sliding_window": 4096,
        "initializer_range": 0.02, "tie_word_embeddings": False, "use_cache": True, "bos_token_id": 1,
        "eos_token_id": 2,
    },
}
NAME_ALIASES = {"llama-1b": "llama-3.2-1b", "llama": "llama-3.1-8b"}
