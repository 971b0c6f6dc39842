"""Shared-prefix cache: the same values as the plain fast path, automatic choice, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tasks
from headspex import sample_masks
from headspex.engine import fast_forward as ff
from headspex.engine.evaluator import MaskEvaluator
from headspex.engine.prefix_cache import MIN_PREFIX_TOKENS, common_prefix_length, left_pad, plan_prefix_length
from headspex.engine.prefix_forward import prefix_layers, prepare_prefix, prepare_suffix, suffix_layers
from hooks import compute_head_means, tokenize_left_padded

from tests.helpers import players_of, tiny_task

SHOTS = ("The following multiple choice question : the capital of France is Paris . Answer : A . "
         "the capital of Spain is Madrid . Answer : B . which is the capital of Italy ? Answer : C . ")
QUESTIONS = ["The capital of Germany is", "What is the capital of Portugal ? Answer :", "Lisbon is the capital of",
             "Which is the capital of Spain ?", "The capital of Italy is Rome . The capital of France is",
             "Berlin", "What is Madrid ? Answer :"]


def few_shot_task() -> tasks.Task:
    """Prompts sharing a long exemplar prefix, own parts of 1 to 11 tokens."""
    choices = (" Paris", " Berlin", " Rome", " Lisbon")
    qs = [tasks.Question(SHOTS + q, choices, i % 4, f"shot:{i}") for i, q in enumerate(QUESTIONS)]
    test = tuple(tasks.Question(q.prompt, choices, q.answer, q.id + "t") for q in qs[:2])
    return tasks.Task("tiny-few-shot", tuple(qs), test, {"seed": 0})


def evaluator(model, task, players, cache, **kw) -> MaskEvaluator:
    qs = task.split("train")
    return MaskEvaluator(model, [q.prompt for q in qs], task.choice_token_ids(model.tokenizer, "train"),
                         task.answers("train"), players=players, prefix_cache=cache, **kw)


@pytest.mark.parametrize("ablation", ["zero", "mean"])
@pytest.mark.parametrize("layers", [[0, 1], [1, 2], [3], [0, 1, 2, 3]], ids=["start", "middle", "end", "all"])
def test_cached_equals_plain(tiny_llama, ablation, layers):
    task = few_shot_task()
    players = players_of(layers, tiny_llama.n_heads)
    means = compute_head_means(tiny_llama, [q.prompt for q in task.train]) if ablation == "mean" else None
    masks = sample_masks(6, len(players), seed=3)
    plain = evaluator(tiny_llama, task, players, False, ablation=ablation, means=means)
    cached = evaluator(tiny_llama, task, players, True, ablation=ablation, means=means)
    assert cached.prefix is not None and cached.prefix.n_prefix == len(tiny_llama.tokenizer(SHOTS)["input_ids"])
    assert plain.prefix is None
    expected, got = plain.scores(masks), cached.scores(masks)
    assert np.ptp(expected["logprob"]) > 0  # the masks matter
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0, atol=1e-5)
    torch.testing.assert_close(cached.choice_logits(masks), plain.choice_logits(masks), rtol=0, atol=1e-5)


def test_cached_in_small_steps_equals_plain(tiny_llama):
    task = few_shot_task()
    players = players_of([1, 2], tiny_llama.n_heads)
    masks = sample_masks(9, len(players), seed=4)
    expected = evaluator(tiny_llama, task, players, False).scores(masks)["logprob"]
    small = evaluator(tiny_llama, task, players, True, max_batch_tokens=40)  # several chunks, one or two masks a step
    assert len(small.chunks) > 1 and small.prefix.masks_per_pass(small.max_batch_tokens) < len(masks)
    np.testing.assert_allclose(small.scores(masks)["logprob"], expected, rtol=0, atol=1e-5)


def test_automatic_choice(tiny_llama):
    players = players_of([2], tiny_llama.n_heads)
    assert evaluator(tiny_llama, few_shot_task(), players, None).prefix is not None
    assert evaluator(tiny_llama, tiny_task(), players, None).prefix is None  # "The capital of" / "Which is": no prefix
    with pytest.raises(ValueError, match="share no leading token"):
        evaluator(tiny_llama, tiny_task(), players, True)


def test_bridge_backend_refuses_the_cache(tiny_llama, tiny_gpt2):
    players = players_of([1], tiny_gpt2.n_heads)
    with pytest.raises(ValueError, match="fast backend"):
        evaluator(tiny_gpt2, few_shot_task(), players, True, backend="bridge")
    assert evaluator(tiny_gpt2, few_shot_task(), players, None, backend="bridge").prefix is None
    with pytest.raises(ValueError, match="True, False or None"):
        plan_prefix_length([[1, 2], [1, 3]], "yes")


def test_prefix_length_rules():
    assert common_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2  # every prompt keeps a token of its own
    assert common_prefix_length([[5, 1], [6, 1]]) == 0
    long = list(range(MIN_PREFIX_TOKENS))
    assert plan_prefix_length([long + [1], long + [2], long + [3]], None) == MIN_PREFIX_TOKENS
    assert plan_prefix_length([long[:-1] + [1], long[:-1] + [2]], None) == 0  # too short to pay
    assert plan_prefix_length([long + [1] * 200, long + [2] * 200], None) == 0  # saves < 25% of the tokens
    assert plan_prefix_length([long + [1], long + [2]], False) == 0


def test_split_forward_is_differentiable_like_run_layers(tiny_llama):
    """Gradients w.r.t. head gates through prefix + suffix equal those through run_layers on whole prompts."""
    w, tok = tiny_llama.weights, tiny_llama.tokenizer
    prompts = [SHOTS + q for q in QUESTIONS[:3]]
    n = common_prefix_length([tok(p)["input_ids"] for p in prompts])
    ids, am = tokenize_left_padded(tok, prompts)
    own = [tok(p)["input_ids"][n:] for p in prompts]

    def run(split: bool) -> torch.Tensor:
        gates = torch.full((1, tiny_llama.n_layers, tiny_llama.n_heads), 0.7, requires_grad=True)

        def gate(z: torch.Tensor, layer: int) -> torch.Tensor:
            return gates[:, layer][:, None, :, None] * z

        if split:
            pre = torch.tensor(tok(prompts[0])["input_ids"][:n])
            _, kv = prefix_layers(w, ff.embed(w, pre[None]), prepare_prefix(w, n, torch.float32, pre.device), 0,
                                  w.n_layers, head_fn=gate, need_output=False)
            s_ids, s_am = left_pad(own, 1, ids.device)
            h = suffix_layers(w, ff.embed(w, s_ids), prepare_suffix(w, s_am, n, torch.float32), kv, 0, w.n_layers,
                              head_fn=gate, last_only_final=True)
        else:
            h = ff.run_layers(w, ff.embed(w, ids), ff.prepare(w, am, torch.float32), 0, w.n_layers, head_fn=gate,
                              last_only_final=True)
        (grad,) = torch.autograd.grad(h[:, -1].pow(2).sum(), gates)
        return grad

    torch.testing.assert_close(run(True), run(False), rtol=1e-4, atol=1e-5)


def _tiny_gemma(window: int):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    from headspex.engine.models import wrap_hf_model
    from tests.conftest import word_tokenizer

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                           num_attention_heads=4, num_key_value_heads=1, head_dim=16, sliding_window=window,
                           layer_types=["sliding_attention", "full_attention", "sliding_attention"], pad_token_id=1)
    return wrap_hf_model(Gemma3ForCausalLM(cfg), word_tokenizer(), name="tiny-gemma")


@pytest.mark.parametrize("family", ["gemma", "gpt2"])
@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_generic_path_prefix_cache_equals_plain(family, ablation, tiny_gpt2):
    from headspex.engine.generic_prefix import GenericPrefixCache

    model = _tiny_gemma(window=64) if family == "gemma" else tiny_gpt2
    assert model.generic is not None  # Gemma: its fast path for plain passes, the model's KV cache for the prefix
    task = few_shot_task()
    players = players_of([0, 1, 2], model.n_heads)
    masks = sample_masks(6, len(players), seed=3)
    means = compute_head_means(model, [q.prompt for q in task.split("train")]) if ablation == "mean" else None
    cached = evaluator(model, task, players, None, ablation=ablation, means=means)
    plain = evaluator(model, task, players, False, ablation=ablation, means=means)
    assert isinstance(cached.prefix, GenericPrefixCache) and cached.prefix.n_prefix >= MIN_PREFIX_TOKENS
    np.testing.assert_allclose(cached.choice_logits(masks), plain.choice_logits(masks), rtol=0, atol=1e-5)
    for name, values in cached.scores(masks).items():
        np.testing.assert_allclose(values, plain.scores(masks)[name], rtol=0, atol=1e-5)


def test_generic_prefix_cache_refused_when_the_window_is_shorter_than_the_prompts():
    model = _tiny_gemma(window=4)  # the padding between prefix and suffix would count against the window
    task = few_shot_task()
    players = players_of([1], model.n_heads)
    assert evaluator(model, task, players, None).prefix is None  # auto: the plain generic path
    with pytest.raises(ValueError, match="sliding window"):
        evaluator(model, task, players, True)
