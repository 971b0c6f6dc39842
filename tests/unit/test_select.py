"""Head selection: exact milp against brute force, the greedy+swap fallback, and the baselines."""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import numpy as np
import pytest

import headspex.selection.select as sel
from headspex.engine.sampling import sample_k_masks
from headspex.spectrum.fourier import FourierSpectrum, MoebiusSpectrum


def planted_moebius(n: int, seed: int, *, n_pairs: int = 12, n_triples: int = 6,
                    order4: bool = False) -> MoebiusSpectrum:
    """Random linear terms plus positive and negative pairs, triples (and a 4-set)."""
    rng = np.random.default_rng(seed)
    coefs = {(): 0.7}
    coefs.update({(i,): rng.normal() for i in range(n)})
    for size, count in ((2, n_pairs), (3, n_triples), (4, int(order4))):
        for _ in range(count):
            coefs[tuple(rng.choice(n, size, replace=False).tolist())] = 2.0 * rng.normal()
    return MoebiusSpectrum.from_dict(coefs, n)


def brute_force(spec, k: int) -> tuple[float, set[tuple[int, ...]]]:
    """Optimum over all k-subsets and the set of maximisers (to 1e-9)."""
    subsets = list(combinations(range(spec.n_players), k))
    masks = np.zeros((len(subsets), spec.n_players), np.uint8)
    for row, s in enumerate(subsets):
        masks[row, list(s)] = 1
    values = spec.predict(masks)
    best = float(values.max())
    return best, {subsets[i] for i in np.flatnonzero(values >= best - 1e-9)}


def assert_exact(selection: sel.Selection, spec, k: int) -> None:
    best, argmaxes = brute_force(spec, k)
    assert selection.method == "milp-optimal" and selection.optimal
    assert int(selection.mask.sum()) == k and selection.mask.dtype == np.uint8
    assert selection.objective == pytest.approx(best, abs=1e-9)
    assert selection.kept_indices() in argmaxes


@pytest.mark.parametrize("seed", range(6))
def test_milp_matches_brute_force_moebius(seed: int) -> None:
    n = 8 + seed % 5  # 8..12 players
    spec = planted_moebius(n, seed, n_pairs=2 * n, n_triples=n, order4=seed % 2 == 0)
    assert (spec.coefficients[spec.orders >= 2] > 0).any() and (spec.coefficients[spec.orders >= 2] < 0).any()
    for k in {1, n // 3, n // 2, n - 2}:
        assert_exact(sel.select_heads_milp(spec, k), spec, k)


def test_milp_matches_brute_force_fourier_every_k() -> None:
    rng = np.random.default_rng(3)
    n = 9
    coefs = {(): 1.0, **{(i,): rng.normal() for i in range(n)}}
    coefs.update({tuple(rng.choice(n, d, replace=False).tolist()): rng.normal() for d in (2, 2, 2, 3, 3, 4)})
    fourier = FourierSpectrum.from_dict(coefs, n)
    for k in range(n + 1):
        result = sel.proxy_optimum(fourier, k)
        assert_exact(result, fourier, k)
        assert result.details["solver"] == sel.SOLVER


def test_milp_uses_interactions_greedy_misses() -> None:
    """A pair worth more than the best singles: exact selection finds it, top-k by linear does not."""
    spec = MoebiusSpectrum.from_dict({(0,): 1.0, (1,): 0.9, (2,): 0.1, (3,): 0.1, (2, 3): 5.0, (0, 1): -3.0}, 4)
    result = sel.select_heads_milp(spec, 2)
    assert result.kept_indices() == (2, 3) and result.objective == pytest.approx(5.2)
    assert sel.select_top_k([1.0, 0.9, 0.1, 0.1], 2).kept_indices() == (0, 1)


def test_proxy_like_object_uses_its_spectrum() -> None:
    spec = planted_moebius(7, 11)
    proxy = SimpleNamespace(n_players=7, spectrum=spec.to_fourier, predict=spec.predict)
    best, _ = brute_force(spec, 3)
    assert sel.proxy_optimum(proxy, 3).objective == pytest.approx(best, abs=1e-9)
    assert sel.proxy_optimum(proxy, 3, method="greedy+swap").objective <= best + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_heuristic_feasible_and_never_above_optimum(seed: int) -> None:
    n = 10
    spec = planted_moebius(n, 100 + seed, n_pairs=20, n_triples=10)
    for k in (0, 1, 4, 7, n):
        result = sel.select_heads_greedy_swap(spec, k, time_limit=10.0)
        best, _ = brute_force(spec, k)
        assert result.method == "greedy+swap" and int(result.mask.sum()) == k
        assert result.objective <= best + 1e-9
        assert result.objective == pytest.approx(float(spec.predict(result.mask[None])[0]))
        assert result.optimal == (k in (0, n))


@pytest.mark.parametrize("seed", range(4))
def test_heuristic_exact_on_easy_instances(seed: int) -> None:
    """Additive game with weak interactions: greedy+swap reaches the brute-force optimum."""
    n = 11
    spec = planted_moebius(n, 200 + seed, n_pairs=0, n_triples=0)
    coefs = spec.as_dict() | {(0, 1): 0.05, (2, 5, 7): -0.05}
    spec = MoebiusSpectrum.from_dict(coefs, n)
    for k in (3, 5, 8):
        best, _ = brute_force(spec, k)
        assert sel.select_heads_greedy_swap(spec, k).objective == pytest.approx(best, abs=1e-9)


def test_fallback_when_too_many_terms() -> None:
    spec = planted_moebius(9, 5)
    result = sel.select_heads_milp(spec, 4, max_terms=3)
    assert result.method == "greedy+swap" and not result.optimal and int(result.mask.sum()) == 4
    assert "max_terms" in result.details["fallback_reason"]
    with pytest.raises(ValueError, match="too large"):
        sel.proxy_optimum(spec, 4, method="milp", max_terms=3)


def test_time_limit_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy import optimize

    spec = planted_moebius(9, 6)
    best, argmaxes = brute_force(spec, 4)
    bad = np.r_[np.ones(4), np.zeros(5)]  # a poor feasible incumbent: players 0..3
    fake = SimpleNamespace(status=1, message="Time limit reached.", mip_gap=0.5, mip_dual_bound=-99.0)
    monkeypatch.setattr(optimize, "milp", lambda *a, **kw: SimpleNamespace(**vars(fake), x=np.r_[bad, np.zeros(200)]))
    # A time-limited incumbent that is already optimal: polishing keeps it, and it wins over the heuristic.
    best_mask = np.zeros(9)
    best_mask[list(sorted(argmaxes)[0])] = 1
    monkeypatch.setattr(optimize, "milp", lambda *a, **kw: SimpleNamespace(**vars(fake), x=np.r_[best_mask, np.zeros(200)]))
    result = sel.select_heads_milp(spec, 4)
    assert result.method == "milp-time-limit" and not result.optimal and result.details["status"] == 1
    assert result.objective == pytest.approx(best, abs=1e-12)
    # A poor incumbent with no time to polish: the greedy start of the fresh heuristic beats it.
    monkeypatch.setattr(optimize, "milp", lambda *a, **kw: SimpleNamespace(**vars(fake), x=np.r_[bad, np.zeros(200)]))
    greedy = sel.select_heads_greedy_swap(spec, 4, time_limit=1e-9).objective
    poor = float(spec.predict(bad[None].astype(np.uint8))[0])
    assert greedy > poor  # precondition of this case
    result = sel.select_heads_milp(spec, 4, time_limit=1e-9)
    assert result.method == "greedy+swap" and result.details["milp_incumbent"] == pytest.approx(poor)
    assert result.objective == pytest.approx(greedy) and int(result.mask.sum()) == 4
    monkeypatch.setattr(optimize, "milp", lambda *a, **kw: SimpleNamespace(**vars(fake), x=None))
    result = sel.select_heads_milp(spec, 4)
    assert result.method == "greedy+swap" and "no feasible" in result.details["fallback_reason"]
    with pytest.raises(RuntimeError, match="no feasible"):
        sel.proxy_optimum(spec, 4, method="milp")


def test_polish_start() -> None:
    spec = planted_moebius(8, 9)
    start = np.r_[np.ones(3, np.uint8), np.zeros(5, np.uint8)]
    result = sel.select_heads_greedy_swap(spec, 3, start=start)
    assert result.details["start"] == "given"
    assert result.objective >= float(spec.predict(start[None])[0])
    with pytest.raises(ValueError, match="start keeps"):
        sel.select_heads_greedy_swap(spec, 4, start=start)


def test_baselines_respect_k() -> None:
    n = 12
    scores = np.array([3.0, 1.0, 3.0, -2.0, 0.5, 3.0, 0.0, 0.0, 1.0, 2.0, 2.0, -1.0])
    assert sel.select_top_k(scores, 4).kept_indices() == (0, 2, 5, 9)  # tie 9 vs 10: lower index
    assert sel.select_top_k(scores, 3, label="lasso").method == "lasso"
    for k in range(n + 1):
        cands = sample_k_masks(20, n, k, seed=k)
        assert cands.shape == (20, n) and cands.dtype == np.uint8 and (cands.sum(axis=1) == k).all()
        values = np.random.default_rng(k).normal(size=20)
        best = sel.select_best_of_n(cands, values)
        assert best.objective == values.max() and (best.mask == cands[np.argmax(values)]).all()
        for result in (sel.select_top_k(scores, k), best, sel.select_random(n, k, seed=k)):
            assert result.k == k and int(result.mask.sum()) == k and result.mask.shape == (n,)
    assert (sel.select_random(n, 5, seed=1).mask == sel.select_random(n, 5, seed=1).mask).all()


@pytest.mark.parametrize("k", [-1, 13, 2.5, True])
def test_bad_k_raises(k) -> None:
    spec = planted_moebius(12, 0)
    for call in (lambda: sel.select_heads_milp(spec, k), lambda: sel.proxy_optimum(spec, k),
                 lambda: sel.select_heads_greedy_swap(spec, k), lambda: sel.select_top_k(np.ones(12), k),
                 lambda: sample_k_masks(5, 12, k), lambda: sel.select_random(12, k)):
        with pytest.raises(ValueError, match="k must be"):
            call()


def test_other_bad_inputs() -> None:
    spec = planted_moebius(6, 0)
    with pytest.raises(ValueError, match="method"):
        sel.proxy_optimum(spec, 2, method="cplex")
    with pytest.raises(ValueError, match="time_limit"):
        sel.select_heads_milp(spec, 2, time_limit=0)
    with pytest.raises(TypeError):
        sel.proxy_optimum(object(), 2)
    with pytest.raises(ValueError, match="same number"):
        sel.select_best_of_n([[1, 0, 0], [1, 1, 0]], [0.1, 0.2])
    with pytest.raises(ValueError, match="one finite value"):
        sel.select_best_of_n([[1, 0, 0]], [0.1, 0.2])
    with pytest.raises(ValueError, match="keeps 1 heads but k = 2"):
        sel.Selection(np.array([1, 0, 0]), 2, "x")
    s = sel.Selection(np.array([1, 0, 1]), 2, "x")
    assert s.kept_indices() == (0, 2) and s.n_players == 3 and np.isnan(s.objective)
    with pytest.raises(ValueError):
        s.mask[0] = 0


def test_trust_region_milp_equals_brute_force_within_the_radius():
    import itertools

    from headspex.selection.select import select_heads_milp
    from headspex.spectrum.fourier import MoebiusSpectrum

    rng = np.random.default_rng(3)
    n, k, radius = 9, 4, 2
    terms = {(i,): rng.normal() for i in range(n)}
    terms.update({tuple(sorted(rng.choice(n, 2, replace=False))): rng.normal() for _ in range(12)})
    terms.update({tuple(sorted(rng.choice(n, 3, replace=False))): rng.normal() for _ in range(5)})
    moebius = MoebiusSpectrum.from_dict(terms, n_players=n)
    anchor = np.zeros(n, np.uint8)
    anchor[[0, 2, 4, 6, 8]] = 1  # five kept: the radius must also absorb the size difference
    best = -np.inf
    for kept in itertools.combinations(range(n), k):
        m = np.zeros(n, np.uint8)
        m[list(kept)] = 1
        if np.abs(m.astype(int) - anchor).sum() <= radius:
            best = max(best, float(moebius.predict(m[None])[0]))
    sel = select_heads_milp(moebius, k, trust=(anchor, radius))
    assert sel.method == "milp-optimal"
    assert np.abs(sel.mask.astype(int) - anchor).sum() <= radius
    assert sel.objective == pytest.approx(best, abs=1e-9)
    with pytest.raises(ValueError, match="cannot reach"):
        select_heads_milp(moebius, 1, trust=(anchor, 2))
