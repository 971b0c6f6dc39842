"""export_pruned: the pruned checkpoint computes exactly what the masked original computes, loads through
headspex and through plain transformers (custom code), and deletes exactly the removed heads' weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from headspex.engine.loaded_model import PRUNED_MARKER
from headspex.engine.models import load_model, wrap_hf_model
from headspex.export.checkpoint import export_pruned
from headspex.export.latency import compare_latency, count_parameters, measure_latency
from headspex.export.reference import masked_logits
from tests.conftest import word_tokenizer

N_LAYERS, N_HEADS, N_KV, D_HEAD, D_MODEL = 4, 6, 2, 16, 96
TOL = 1e-5


def tiny_hf(kind: str = "llama", seed: int = 0):
    """A random 4-layer model, 6 query heads in 2 KV groups of 3 (qwen2: q/k/v biases)."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    kw = dict(vocab_size=300, hidden_size=D_MODEL, intermediate_size=128, num_hidden_layers=N_LAYERS,
              num_attention_heads=N_HEADS, num_key_value_heads=N_KV, head_dim=D_HEAD, max_position_embeddings=128,
              tie_word_embeddings=kind == "qwen2", pad_token_id=1)
    hf = Qwen2ForCausalLM(Qwen2Config(**kw, use_sliding_window=False)) if kind == "qwen2" else LlamaForCausalLM(LlamaConfig(**kw))
    if kind == "qwen2":  # random biases, so that slicing them matters
        for layer in hf.model.layers:
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                torch.nn.init.normal_(proj.bias, std=0.5)
    return hf.eval()


def keep_mask() -> np.ndarray:
    """Layer 0: all heads removed; layer 1: KV group 0 (heads 0-2) removed and one head of group 1;
    layer 2: nothing removed; layer 3: groups keep different numbers of heads (1 and 3)."""
    keep = np.ones((N_LAYERS, N_HEADS), dtype=np.int64)
    keep[0] = 0
    keep[1, [0, 1, 2, 4]] = 0
    keep[3, [1, 2]] = 0
    return keep


def head_means(seed: int = 5) -> torch.Tensor:
    return torch.randn(N_LAYERS, N_HEADS, D_HEAD, generator=torch.Generator().manual_seed(seed))


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """A left-padded batch of 4 prompts of lengths 9, 5, 2 and 7: input_ids, attention_mask [4, 9]."""
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(2, 300, (4, 9), generator=g)
    am = torch.ones(4, 9, dtype=torch.long)
    for row, n in enumerate([9, 5, 2, 7]):
        am[row, : 9 - n], ids[row, : 9 - n] = 0, 1
    return ids, am


@pytest.fixture(scope="module")
def source():
    return wrap_hf_model(tiny_hf(), word_tokenizer(), name="tiny-export", dtype=torch.float32)


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory):
    """ablation -> (checkpoint path, summary)."""
    out = {}
    for ablation in ("zero", "mean"):
        path = tmp_path_factory.mktemp("export") / f"pruned-{ablation}"
        means = head_means() if ablation == "mean" else None
        out[ablation] = (path, export_pruned(source, keep_mask(), path, ablation=ablation, means=means))
    return out


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_pruned_logits_equal_masked_model(exported, ablation):
    path, _ = exported[ablation]
    ids, am = batch()
    reference = masked_logits(tiny_hf(), keep_mask(), ids, am, ablation=ablation, means=head_means())
    pruned = load_model(str(path), dtype="float32", device="cpu")
    with torch.no_grad():
        logits = pruned.hf_model(input_ids=ids, attention_mask=am).logits
    assert torch.isfinite(logits).all()
    assert (logits - reference).abs().max().item() <= TOL  # every position, pads included
    unmasked = tiny_hf()(input_ids=ids, attention_mask=am).logits
    assert (unmasked - reference).abs().max().item() > 0.1  # the removed heads matter


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_pruned_equals_bridge_ablation(source, exported, ablation):
    from hooks import ablate_heads

    path, _ = exported[ablation]
    ids, am = batch()
    masks = np.repeat(keep_mask()[None], len(ids), axis=0)  # one keep mask per example
    with ablate_heads(source, masks, mode=ablation, means=head_means()), torch.no_grad():
        reference = source.bridge(ids, attention_mask=am)
    with torch.no_grad():
        logits = load_model(str(path), dtype="float32", device="cpu").hf_model(input_ids=ids, attention_mask=am).logits
    real = am.bool()
    assert (logits[real] - reference[real]).abs().max().item() <= TOL


def test_transformers_remote_code_loads_same_model(exported):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, _ = exported["mean"]
    ids, am = batch()
    hf = AutoModelForCausalLM.from_pretrained(str(path), trust_remote_code=True).eval()
    assert type(hf).__name__ == "PrunedLlamaForCausalLM" and hf.config._attn_implementation == "sdpa"
    ours = load_model(str(path), dtype="float32", device="cpu")
    with torch.no_grad():
        a = hf(input_ids=ids, attention_mask=am).logits
        b = ours.hf_model(input_ids=ids, attention_mask=am).logits
    assert torch.equal(a, b)
    tok = AutoTokenizer.from_pretrained(str(path))
    assert tok("The capital of France")["input_ids"] == ours.tokenizer("The capital of France")["input_ids"]


def test_checkpoint_files_marker_and_parameter_count(source, exported):
    path, summary = exported["zero"]
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", PRUNED_MARKER, "modeling_headspex_pruned.py",
            "tokenizer_config.json"} <= names
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary directories left
    keep = keep_mask()
    removed_q = int((keep == 0).sum())
    removed_kv = sum(int(not keep[layer, g * 3:(g + 1) * 3].any()) for layer in range(N_LAYERS) for g in range(N_KV))
    assert removed_kv == 3  # both groups of layer 0 and group 0 of layer 1
    deleted = removed_q * D_HEAD * D_MODEL * 2 + removed_kv * D_HEAD * D_MODEL * 2  # q rows + o cols, k + v rows
    before = count_parameters(tiny_hf())
    pruned = load_model(str(path), dtype="float32", device="cpu")
    assert summary.parameters_before == before
    assert count_parameters(pruned.hf_model) == summary.parameters_after == before - deleted
    marker = json.loads((path / PRUNED_MARKER).read_text())
    assert marker["kept_heads"] == [[], [3, 5], [0, 1, 2, 3, 4, 5], [0, 3, 4, 5]]
    assert marker["kept_kv_heads"] == [[], [1], [0, 1], [0, 1]]
    assert marker["ablation"] == "zero" and marker["source"] == "tiny-export"
    assert (marker["parameters_before"], marker["parameters_after"]) == (before, before - deleted)
    assert summary.to_dict()["kept_heads"] == marker["kept_heads"]
    attn = pruned.hf_model.model.layers
    assert not hasattr(attn[0].self_attn, "q_proj") and attn[0].self_attn.o_bias is None
    assert tuple(attn[1].self_attn.q_proj.weight.shape) == (2 * D_HEAD, D_MODEL)
    assert tuple(attn[1].self_attn.k_proj.weight.shape) == (D_HEAD, D_MODEL)
    assert tuple(attn[3].self_attn.o_proj.weight.shape) == (D_MODEL, 4 * D_HEAD)
    assert attn[3].self_attn.kv_map == (0, 1, 1, 1)


def test_mean_ablation_adds_one_bias_per_touched_layer(source, exported):
    _, zero = exported["zero"]
    _, mean = exported["mean"]
    assert mean.parameters_added == 3 * D_MODEL  # layers 0, 1 and 3 remove heads; layer 2 does not
    assert mean.parameters_after == zero.parameters_after + 3 * D_MODEL


def test_keep_as_pairs_numpy_or_torch_gives_same_checkpoint(source, tmp_path):
    keep = keep_mask()
    pairs = [(int(layer), int(h)) for layer, h in zip(*np.nonzero(keep))]
    a = export_pruned(source, pairs, tmp_path / "pairs")
    b = export_pruned(source, torch.as_tensor(keep).bool(), tmp_path / "torch")
    assert a.kept_heads == b.kept_heads and a.parameters_after == b.parameters_after


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_qwen2_with_qkv_biases(tmp_path, ablation):
    source = wrap_hf_model(tiny_hf("qwen2"), word_tokenizer(), name="tiny-qwen2", dtype=torch.float32)
    means = head_means() if ablation == "mean" else None
    export_pruned(source, keep_mask(), tmp_path / "q", ablation=ablation, means=means)
    ids, am = batch()
    reference = masked_logits(tiny_hf("qwen2"), keep_mask(), ids, am, ablation=ablation, means=head_means())
    with torch.no_grad():
        logits = load_model(str(tmp_path / "q"), dtype="float32", device="cpu").hf_model(input_ids=ids, attention_mask=am).logits
    assert (logits - reference).abs().max().item() <= TOL


def test_generation_matches_masked_model(exported):
    """Greedy decoding through the KV cache (layer 0 has no heads: an empty cache entry)."""
    path, _ = exported["zero"]
    ids, am = batch()
    pruned = load_model(str(path), dtype="float32", device="cpu").hf_model
    ref = tiny_hf()
    keep = torch.as_tensor(keep_mask()).bool()
    handles = [layer.self_attn.o_proj.register_forward_pre_hook(
        lambda m, a, k=keep[i]: (a[0] * k.repeat_interleave(D_HEAD).to(a[0].dtype),))
        for i, layer in enumerate(ref.model.layers)]
    kw = dict(attention_mask=am, max_new_tokens=6, do_sample=False, pad_token_id=1, output_scores=True,
              return_dict_in_generate=True)
    with torch.no_grad():
        expected = ref.generate(ids, **kw)
        got = pruned.generate(ids, **kw)
    for h in handles:
        h.remove()
    assert torch.equal(expected.sequences, got.sequences)
    assert max((a - b).abs().max().item() for a, b in zip(expected.scores, got.scores)) <= TOL


def test_loaded_pruned_model_refuses_head_ablation_but_evaluates_clean(source, exported):
    from headspex.engine import evaluate_clean, evaluate_masks
    from hooks import ablate_heads, compute_head_means
    from tests.helpers import players_of, tiny_task

    path, _ = exported["zero"]
    pruned = load_model(str(path), dtype="float32", device="cpu")
    assert pruned.weights is None and pruned.source == "pruned" and pruned.n_heads == N_HEADS
    task = tiny_task()
    players = players_of(range(N_LAYERS), N_HEADS)
    with pytest.raises(ValueError, match="pruned checkpoint"):
        evaluate_masks(pruned, task, keep_mask().reshape(1, -1), players=players, progress=False)
    with pytest.raises(ValueError, match="pruned checkpoint"):
        compute_head_means(pruned, ["The capital of France is"])
    with pytest.raises(ValueError, match="pruned checkpoint"):
        with ablate_heads(pruned, np.zeros((1, N_LAYERS, N_HEADS))):
            pass
    clean = evaluate_clean(pruned, task, split="test")
    masked = evaluate_masks(source, task, keep_mask().reshape(1, -1), players=players, metric="logprob",
                            split="test", progress=False)
    assert clean["logprob"] == pytest.approx(float(masked[0]), abs=1e-4)


def test_bad_inputs_raise_clear_errors(source, tmp_path, tiny_gpt2):
    keep = keep_mask()
    cases = [
        (dict(keep=keep[:3]), "shape"),
        (dict(keep=keep * 2), "binary"),
        (dict(keep=[(0, 6)]), "outside the model"),
        (dict(keep=[(0, 1), (0, 1)]), "twice"),
        (dict(keep=[[1, 0, 1]]), r"\(layer, head\) pair"),
        (dict(keep="all"), "keep mask"),
        (dict(keep=keep, ablation="median"), "ablation must be one of"),
        (dict(keep=keep, ablation="mean"), "needs means"),
        (dict(keep=keep, ablation="mean", means=torch.zeros(4, 6, 8)), "means must have shape"),
        (dict(keep=keep, means=head_means()), "only with ablation='mean'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            export_pruned(source, path=tmp_path / "bad", **kwargs)
    with pytest.raises(ValueError, match="Llama-family"):
        export_pruned(tiny_gpt2, np.ones((3, 4)), tmp_path / "gpt2")
    with pytest.raises(ValueError, match="LoadedModel"):
        export_pruned(source.hf_model, keep, tmp_path / "raw")
    assert not (tmp_path / "bad").exists()


def test_existing_target_and_interrupted_export(source, tmp_path, monkeypatch):
    target = tmp_path / "ck"
    export_pruned(source, keep_mask(), target)
    with pytest.raises(FileExistsError, match="overwrite"):
        export_pruned(source, keep_mask(), target)
    full = np.ones((N_LAYERS, N_HEADS))
    assert export_pruned(source, full, target, overwrite=True).n_heads_after == N_LAYERS * N_HEADS
    assert json.loads((target / PRUNED_MARKER).read_text())["kept_heads"][0] == list(range(N_HEADS))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(type(source.tokenizer), "save_pretrained", killed)
    with pytest.raises(KeyboardInterrupt):
        export_pruned(source, keep_mask(), tmp_path / "never")
    with pytest.raises(KeyboardInterrupt):
        export_pruned(source, keep_mask(), target, overwrite=True)
    assert not (tmp_path / "never").exists()
    assert json.loads((target / PRUNED_MARKER).read_text())["kept_heads"][0] == list(range(N_HEADS))  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temporary directories left


def test_latency_helpers(exported):
    path, _ = exported["zero"]
    ids, am = batch()
    pruned = load_model(str(path), dtype="float32", device="cpu").hf_model
    one = measure_latency(pruned, ids, am, repeats=3, warmup=1)
    assert one["repeats"] == 3 and 0 < one["min_s"] <= one["median_s"]
    both = compare_latency({"pruned": pruned, "full": tiny_hf()}, ids, am, repeats=2, warmup=0)
    assert set(both) == {"pruned", "full"} and all(v["repeats"] == 2 for v in both.values())
    with pytest.raises(ValueError, match="repeats"):
        measure_latency(pruned, ids, am, repeats=0)
    with pytest.raises(ValueError, match=r"\[batch, pos\]"):
        measure_latency(pruned, ids[0], am[0])
