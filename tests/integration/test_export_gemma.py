"""export_pruned on Gemma 3 (a generic-path model): the pruned checkpoint computes exactly what the masked
original computes (sliding and full layers, QK-norm, grouped KV heads split evenly or not, layers without
heads), loads through headspex and through plain transformers (custom code, without headspex), and deletes
exactly the removed heads' weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from headspex.engine.loaded_model import PRUNED_MARKER
from headspex.engine.models import load_model, wrap_hf_model
from headspex.export.checkpoint import export_pruned
from headspex.export.latency import count_parameters
from hooks import HeadAblation, compute_head_means, tokenize_left_padded
from tests.conftest import word_tokenizer

N_LAYERS, N_HEADS, D_HEAD, D_MODEL = 3, 4, 16, 48
LAYER_TYPES = ["sliding_attention", "full_attention", "sliding_attention"]
TOL = 1e-5
PROMPTS = ["The capital of France is Paris . The capital of Italy is Rome . Answer :",
           "Which is the capital of Spain ? A Madrid B Lisbon",
           "Answer : A", "What is the capital of Germany ? Answer the following question :"]
# keep masks [n_layers, n_heads]; query head h reads KV head h // (4 // n_kv)
KEEPS = {
    2: {  # KV groups {0, 1} -> KV 0, {2, 3} -> KV 1
        "empty-even-uneven": [[0, 0, 0, 0], [1, 0, 0, 1], [1, 1, 1, 0]],  # no heads; 1 + 1; 2 + 1 (uneven)
        "kv-dropped": [[0, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 0]],  # KV 0 gone; all kept; KV 1 gone
    },
    1: {"one-kv": [[0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]},  # one group of 4: KV 0 gone only in layer 1
}
CASES = [(n_kv, name) for n_kv, keeps in KEEPS.items() for name in keeps]


def tiny_gemma(n_kv: int, seed: int = 0, bias: bool = False):
    """A random 3-layer Gemma 3 (sliding, full, sliding; window 4), 4 query heads over ``n_kv`` KV heads.

    Norm weights are random (Gemma initialises them to 0, i.e. scale 1) so that QK-norm and the four layer
    norms matter; ``bias`` gives q/k/v/o projections random biases.
    """
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(vocab_size=512, hidden_size=D_MODEL, intermediate_size=96, num_hidden_layers=N_LAYERS,
                           num_attention_heads=N_HEADS, num_key_value_heads=n_kv, head_dim=D_HEAD,
                           query_pre_attn_scalar=24, sliding_window=4, layer_types=LAYER_TYPES,
                           max_position_embeddings=128, initializer_range=0.1, attention_bias=bias,
                           pad_token_id=1, bos_token_id=2, eos_token_id=3)
    hf = Gemma3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "norm" in name or name.endswith(".bias"):
                p.normal_(0.0, 0.5)
    return hf


def keep_of(n_kv: int, name: str) -> np.ndarray:
    return np.array(KEEPS[n_kv][name], dtype=np.int64)


def kept_kv_of(keep: np.ndarray, n_kv: int) -> list[list[int]]:
    group = N_HEADS // n_kv
    return [[g for g in range(n_kv) if row[g * group:(g + 1) * group].any()] for row in keep]


def batch(tokenizer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-padded PROMPTS (longer than the sliding window) and two answer tokens per prompt."""
    ids, am = tokenize_left_padded(tokenizer, PROMPTS)
    a, b = tokenizer.convert_tokens_to_ids(["A", "B"])
    return ids, am, torch.tensor([[a, b]] * len(PROMPTS))


def positions(am: torch.Tensor) -> torch.Tensor:
    return (am.long().cumsum(-1) - 1).clamp(min=0)  # what GenericForward passes with left padding


@pytest.fixture(scope="module")
def sources():
    """n_kv -> (LoadedModel on the generic path, head means over PROMPTS)."""
    out = {}
    for n_kv in KEEPS:
        model = wrap_hf_model(tiny_gemma(n_kv), word_tokenizer(), name=f"tiny-gemma3-kv{n_kv}", dtype=torch.float32)
        out[n_kv] = (model, compute_head_means(model, PROMPTS))
    return out


@pytest.fixture(scope="module")
def exported(sources, tmp_path_factory):
    """(n_kv, keep name, ablation) -> (checkpoint path, summary)."""
    out = {}
    for n_kv, name in CASES:
        model, means = sources[n_kv]
        for ablation in ("zero", "mean"):
            path = tmp_path_factory.mktemp("gemma") / f"{name}-{ablation}"
            summary = export_pruned(model, keep_of(n_kv, name), path, ablation=ablation,
                                    means=means if ablation == "mean" else None)
            out[n_kv, name, ablation] = (path, summary)
    return out


def masked_reference(model, keep: np.ndarray, ablation: str, means: torch.Tensor):
    """(answer logits [batch, 2], logits [batch, pos, vocab]) of the original with the removed heads ablated."""
    ids, am, choices = batch(model.tokenizer)
    masks = np.repeat(keep[None], len(ids), axis=0)
    ablate = HeadAblation(masks, n_layers=N_LAYERS, n_heads=N_HEADS, mode=ablation, means=means)
    with torch.no_grad():
        answers = model.generic.answer_logits(ids, am, choices, head_fn=ablate.apply)
        with model.generic.head_hooks(ablate.apply):
            full = model.hf_model(input_ids=ids, attention_mask=am, position_ids=positions(am), use_cache=False).logits
    return answers, full


@pytest.mark.parametrize("ablation", ["zero", "mean"])
@pytest.mark.parametrize("n_kv, name", CASES)
def test_pruned_logits_equal_masked_model(sources, exported, n_kv, name, ablation):
    model, means = sources[n_kv]
    path, _ = exported[n_kv, name, ablation]
    pruned = load_model(str(path), dtype="float32", device="cpu")
    assert type(pruned.hf_model).__name__ == "PrunedGemma3ForCausalLM" and pruned.forward_path == "none"
    ids, am, choices = batch(model.tokenizer)
    answers, full = masked_reference(model, keep_of(n_kv, name), ablation, means)
    with torch.no_grad():
        logits = pruned.hf_model(input_ids=ids, attention_mask=am, position_ids=positions(am), use_cache=False).logits
    got = torch.gather(logits[:, -1], 1, choices)
    assert torch.isfinite(logits).all()
    assert (got - answers).abs().max().item() <= TOL
    real = am.bool()
    assert (logits[real] - full[real]).abs().max().item() <= TOL  # every real position, not only the last
    with torch.no_grad():
        clean = model.generic.answer_logits(ids, am, choices)
    assert (clean - answers).abs().max().item() > 1e-2  # the removed heads matter


@pytest.mark.parametrize("n_kv, name", CASES)
def test_heads_kv_heads_and_parameter_counts(sources, exported, n_kv, name):
    keep = keep_of(n_kv, name)
    kept = [[int(h) for h in np.nonzero(row)[0]] for row in keep]
    kept_kv = kept_kv_of(keep, n_kv)
    removed_q = int((keep == 0).sum())
    removed_kv = N_LAYERS * n_kv - sum(map(len, kept_kv))
    empty_layers = sum(not hs for hs in kept)
    deleted = ((removed_q + removed_kv) * D_HEAD * D_MODEL * 2  # q rows + o columns, k + v rows
               + empty_layers * 2 * D_HEAD)  # q_norm and k_norm of a layer without heads
    before = count_parameters(sources[n_kv][0].hf_model)
    touched = int((keep == 0).any(axis=1).sum())  # layers that get a mean-ablation bias
    for ablation, added in (("zero", 0), ("mean", touched * D_MODEL)):
        path, summary = exported[n_kv, name, ablation]
        pruned = load_model(str(path), dtype="float32", device="cpu").hf_model
        assert summary.parameters_before == before and summary.parameters_added == added
        assert count_parameters(pruned) == summary.parameters_after == before - deleted + added
        assert pruned.config.kept_heads == kept and pruned.config.kept_kv_heads == kept_kv
        assert pruned.config.layer_types == LAYER_TYPES and pruned.config.sliding_window == 4
        marker = json.loads((path / PRUNED_MARKER).read_text())
        assert marker["kept_heads"] == kept and marker["kept_kv_heads"] == kept_kv
        assert marker["model_type"] == "headspex_pruned_gemma3" and marker["architecture"] == "Gemma3ForCausalLM"
        for layer, attn in enumerate(pruned.model.layers):
            a = attn.self_attn
            assert (a.n_heads, a.n_kv_heads) == (len(kept[layer]), len(kept_kv[layer]))
            assert (a.o_bias is not None) == (ablation == "mean" and len(kept[layer]) < N_HEADS)
            if not kept[layer]:
                assert not hasattr(a, "q_proj") and not hasattr(a, "q_norm")
                continue
            assert tuple(a.q_proj.weight.shape) == (len(kept[layer]) * D_HEAD, D_MODEL)
            assert tuple(a.k_proj.weight.shape) == tuple(a.v_proj.weight.shape) == (len(kept_kv[layer]) * D_HEAD, D_MODEL)
            assert tuple(a.o_proj.weight.shape) == (D_MODEL, len(kept[layer]) * D_HEAD)
            assert tuple(a.q_norm.weight.shape) == (D_HEAD,)


def test_kv_layout_even_groups_native_uneven_expanded(exported):
    path, _ = exported[2, "empty-even-uneven", "zero"]
    layers = load_model(str(path), dtype="float32", device="cpu").hf_model.model.layers
    assert layers[1].self_attn.kv_map == (0, 1) and layers[1].self_attn.num_key_value_groups == 1
    assert not layers[1].self_attn.expand_kv
    assert layers[2].self_attn.kv_map == (0, 0, 1) and layers[2].self_attn.expand_kv  # 2 + 1: one KV per query
    path, _ = exported[2, "kv-dropped", "zero"]
    layers = load_model(str(path), dtype="float32", device="cpu").hf_model.model.layers
    assert layers[0].self_attn.num_key_value_groups == 2 and not layers[0].self_attn.expand_kv  # kernel repeats KV
    assert layers[1].self_attn.num_key_value_groups == 2 and layers[1].self_attn.n_kv_heads == 2


def test_generation_through_the_kv_cache_matches_masked_model(sources, exported):
    """Greedy decoding past the sliding window, with a layer without heads (a placeholder cache entry)."""
    model, means = sources[2]
    path, _ = exported[2, "empty-even-uneven", "mean"]
    pruned = load_model(str(path), dtype="float32", device="cpu").hf_model
    ids, am, _ = batch(model.tokenizer)
    keep = keep_of(2, "empty-even-uneven")
    ablate = HeadAblation(np.repeat(keep[None], len(ids), axis=0), n_layers=N_LAYERS, n_heads=N_HEADS, mode="mean",
                          means=means)
    kw = dict(attention_mask=am, max_new_tokens=6, do_sample=False, pad_token_id=1, output_scores=True,
              return_dict_in_generate=True)
    with torch.no_grad():
        with model.generic.head_hooks(ablate.apply):
            expected = model.hf_model.generate(ids, **kw)
        got = pruned.generate(ids, **kw)
    assert torch.equal(expected.sequences, got.sequences)
    assert max((a - b).abs().max().item() for a, b in zip(expected.scores, got.scores)) <= TOL


def test_qkvo_biases_are_sliced_and_folded(tmp_path):
    model = wrap_hf_model(tiny_gemma(2, seed=1, bias=True), word_tokenizer(), name="tiny-gemma3-bias",
                          dtype=torch.float32)
    means = compute_head_means(model, PROMPTS)
    keep = keep_of(2, "empty-even-uneven")
    for ablation in ("zero", "mean"):
        summary = export_pruned(model, keep, tmp_path / ablation, ablation=ablation,
                                means=means if ablation == "mean" else None)
        pruned = load_model(str(tmp_path / ablation), dtype="float32", device="cpu")
        ids, am, choices = batch(model.tokenizer)
        answers, full = masked_reference(model, keep, ablation, means)
        with torch.no_grad():
            logits = pruned.hf_model(input_ids=ids, attention_mask=am, position_ids=positions(am)).logits
        assert (logits[am.bool()] - full[am.bool()]).abs().max().item() <= TOL
        assert (torch.gather(logits[:, -1], 1, choices) - answers).abs().max().item() <= TOL
        # o_proj's own bias moves into o_bias in every layer: no parameter added
        assert summary.parameters_added == 0 and all(layer.self_attn.o_bias is not None
                                                     for layer in pruned.hf_model.model.layers)


def test_export_leaves_the_source_untouched_and_overwrites_only_with_overwrite(sources, tmp_path):
    model, _ = sources[2]
    snapshot = {k: v.clone() for k, v in model.hf_model.state_dict().items()}
    export_pruned(model, keep_of(2, "kv-dropped"), tmp_path / "ck")
    assert all(torch.equal(snapshot[k], v) for k, v in model.hf_model.state_dict().items())
    assert model.forward_path == "fast" and model.generic is not None
    with pytest.raises(FileExistsError, match="overwrite"):  # the same safety rules as the Llama path
        export_pruned(model, keep_of(2, "kv-dropped"), tmp_path / "ck")
    assert export_pruned(model, np.ones((N_LAYERS, N_HEADS)), tmp_path / "ck", overwrite=True).n_heads_after == 12
    assert json.loads((tmp_path / "ck" / PRUNED_MARKER).read_text())["kept_kv_heads"] == [[0, 1]] * N_LAYERS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temporary directories left


_REMOTE = textwrap.dedent("""
    import importlib.abc, sys
    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("headspex", "hooks", "tasks"):
                raise ImportError("blocked: " + name)
    sys.meta_path.insert(0, Blocked())
    try:
        import headspex
        raise SystemExit("headspex is importable")
    except ImportError:
        pass
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    path, out = sys.argv[1], sys.argv[2]
    hf = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True).eval()
    tok = AutoTokenizer.from_pretrained(path)
    ids, am = torch.load(out + ".in.pt")
    with torch.no_grad():
        logits = hf(input_ids=ids, attention_mask=am).logits
    torch.save({"logits": logits, "class": type(hf).__name__, "module": type(hf).__module__,
                "attn": hf.config._attn_implementation, "tokens": tok("The capital of France")["input_ids"]}, out)
""")


def test_transformers_remote_code_loads_without_headspex(exported, tmp_path):
    path, _ = exported[2, "empty-even-uneven", "mean"]
    assert (path / "modeling_headspex_pruned_gemma3.py").is_file()
    assert not (path / "modeling_headspex_pruned.py").exists()
    config = json.loads((path / "config.json").read_text())
    assert config["auto_map"]["AutoModelForCausalLM"] == "modeling_headspex_pruned_gemma3.PrunedGemma3ForCausalLM"
    ours = load_model(str(path), dtype="float32", device="cpu")
    ids, am, _ = batch(ours.tokenizer)
    out = tmp_path / "remote.pt"
    torch.save((ids, am), str(out) + ".in.pt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    proc = subprocess.run([sys.executable, "-c", _REMOTE, str(path), str(out)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    remote = torch.load(out)
    assert remote["class"] == "PrunedGemma3ForCausalLM" and remote["module"].startswith("transformers_modules")
    assert remote["attn"] == "sdpa"
    with torch.no_grad():
        mine = ours.hf_model(input_ids=ids, attention_mask=am).logits
    assert torch.equal(remote["logits"], mine)
    assert remote["tokens"] == ours.tokenizer("The capital of France")["input_ids"]


def test_unsupported_models_and_pruned_checkpoints_are_refused(exported, tiny_gpt2, tmp_path):
    with pytest.raises(ValueError, match=r"Llama-family .* and Gemma 3 .*tiny-gpt2"):
        export_pruned(tiny_gpt2, np.ones((3, 4)), tmp_path / "gpt2")
    path, _ = exported[1, "one-kv", "zero"]
    pruned = load_model(str(path), dtype="float32", device="cpu")
    with pytest.raises(ValueError, match="pruned checkpoint"):
        export_pruned(pruned, np.ones((N_LAYERS, N_HEADS)), tmp_path / "again")
    assert not (tmp_path / "gpt2").exists() and not (tmp_path / "again").exists()
