"""Within-layer enrichment of spectral energy and its permutation null, on planted spectra."""

from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest

from headspex.spectrum.enrichment import layer_enrichment, pair_share, within_probability
from headspex.spectrum.fourier import FourierSpectrum
from headspex.spectrum.structure import structure_summary


def grid_players(n_layers: int, n_heads: int) -> list[tuple[int, int]]:
    return [(layer, head) for layer in range(n_layers) for head in range(n_heads)]


def planted(players, pairs, rng, *, linear=0.0, triples=()) -> FourierSpectrum:
    """A spectrum with a constant, optional linear terms, the given pairs (and triples) with random weights."""
    coefs = {(): 1.0}
    for i in range(len(players)):
        if linear:
            coefs[(i,)] = linear * rng.normal()
    for sup in list(pairs) + list(triples):
        coefs[tuple(sorted(sup))] = rng.normal() + np.sign(rng.normal()) * 0.5
    return FourierSpectrum.from_dict(coefs, len(players), players=players)


def within_pairs(players, count, rng):
    by_layer = {}
    for i, (layer, _) in enumerate(players):
        by_layer.setdefault(layer, []).append(i)
    layers = sorted(by_layer)
    out = set()
    while len(out) < count:
        members = by_layer[layers[rng.integers(len(layers))]]
        a, b = rng.choice(members, 2, replace=False)
        out.add(tuple(sorted((int(a), int(b)))))
    return sorted(out)


def random_pairs(n, count, rng):
    out = set()
    while len(out) < count:
        a, b = rng.choice(n, 2, replace=False)
        out.add(tuple(sorted((int(a), int(b)))))
    return sorted(out)


@pytest.mark.parametrize("sizes", [(9,) * 11, (32,) * 3, (9,) * 3, (1, 4, 2), (3, 3, 5, 1), (2,)])
def test_pair_share_brute_force(sizes):
    players = [(layer, h) for layer, n in enumerate(sizes) for h in range(n)]
    pairs = list(itertools.combinations(players, 2))
    brute = sum(a[0] == b[0] for a, b in pairs) / len(pairs)
    assert pair_share(players) == pytest.approx(brute, abs=1e-15)
    for k in range(1, min(4, len(players)) + 1):
        subsets = list(itertools.combinations(players, k))
        brute_k = sum(len({p[0] for p in s}) == 1 for s in subsets) / len(subsets)
        assert within_probability(sizes, k) == pytest.approx(brute_k, abs=1e-15)


def test_paper_and_smollm2_range_shapes():
    assert pair_share(grid_players(3, 32)) == pytest.approx(3 * comb(32, 2) / comb(96, 2))  # ~0.326
    assert pair_share(grid_players(11, 9)) == pytest.approx(11 * comb(9, 2) / comb(99, 2))  # ~0.082
    assert pair_share(grid_players(3, 9)) == pytest.approx(3 * comb(9, 2) / comb(27, 2))  # ~0.308


@pytest.mark.parametrize("shape", [(3, 32), (11, 9)])
def test_all_interactions_within_layers(shape):
    players = grid_players(*shape)
    rng = np.random.default_rng(1)
    spec = planted(players, within_pairs(players, 40, rng), rng, linear=0.3)
    res = layer_enrichment(spec, n_perm=999, seed=3)
    ps = pair_share(players)
    assert res.within_of_interactions == pytest.approx(1.0)
    assert res.across_layer == pytest.approx(0.0)
    assert res.enrichment == pytest.approx(1 / ps)
    assert res.pair_enrichment == pytest.approx(1 / ps)
    assert res.enrichment_vs_null == pytest.approx(1 / ps)  # pairs only: the exact null mean is the pair share
    assert res.p_value == pytest.approx(1 / 1000)
    assert res.p_value_low == pytest.approx(1.0)
    assert res.pair_p_value == pytest.approx(1 / 1000)
    assert res.within_term_share == 1.0 and res.null_term_share == pytest.approx(ps)
    # the split agrees with structure_summary's
    s = structure_summary(spec, players)
    assert (res.linear, res.within_layer, res.across_layer) == pytest.approx((s.linear, s.within_layer,
                                                                             s.across_layer))
    assert res.linear + res.within_layer + res.across_layer == pytest.approx(1.0)


def test_random_interactions_are_not_enriched():
    players = grid_players(11, 9)
    ratios, small = [], 0
    for rep in range(20):
        rng = np.random.default_rng(100 + rep)
        spec = planted(players, random_pairs(len(players), 150, rng), rng, linear=0.3)
        res = layer_enrichment(spec, n_perm=199, seed=rep)
        ratios.append(res.enrichment)
        small += res.p_value < 0.05
        assert res.pair_share == pytest.approx(pair_share(players))
    assert 0.7 < np.mean(ratios) < 1.3
    assert small <= 4  # about 1 in 20 expected


def test_random_interactions_on_the_paper_shape():
    players = grid_players(3, 32)
    rng = np.random.default_rng(7)
    spec = planted(players, random_pairs(len(players), 300, rng), rng)
    res = layer_enrichment(spec, n_perm=999, seed=0)
    assert 0.75 < res.enrichment < 1.25
    assert res.p_value > 0.05 and res.p_value_low > 0.05
    assert res.null_low < res.within_of_interactions < res.null_high


def test_null_mean_is_the_exact_expectation_with_higher_orders():
    players = [(layer, h) for layer, n in enumerate((2, 5, 3, 6)) for h in range(n)]
    n = len(players)
    rng = np.random.default_rng(4)
    triples = {tuple(sorted(rng.choice(n, 3, replace=False).tolist())) for _ in range(30)}
    quads = {tuple(sorted(rng.choice(n, 4, replace=False).tolist())) for _ in range(10)}
    spec = planted(players, random_pairs(n, 25, rng), rng, triples=sorted(triples | quads))
    res = layer_enrichment(spec, n_perm=4000, seed=1)
    # exact mean under shuffled labels, and the null's Monte-Carlo mean
    assert res.null_mean == pytest.approx(res.null_energy_share, abs=0.01)
    sizes = (2, 5, 3, 6)
    orders = [len(s) for s, _ in spec if len(s) >= 2]
    assert res.null_term_share == pytest.approx(np.mean([within_probability(sizes, k) for k in orders]))
    assert res.n_interaction_terms == len(orders)
    assert res.to_dataframe().shape[0] == 1


def test_label_shuffle_keeps_heads_per_layer_and_layer_numbers_do_not_matter():
    players = [(5, h) for h in range(4)] + [(9, h) for h in range(7)]
    rng = np.random.default_rng(0)
    spec = planted(players, random_pairs(len(players), 12, rng), rng)
    renamed = FourierSpectrum(spec.n_players, spec.supports, spec.coefficients,
                              [(0 if layer == 5 else 1, h) for layer, h in players])
    a, b = layer_enrichment(spec, n_perm=300, seed=2), layer_enrichment(renamed, n_perm=300, seed=2)
    assert a.heads_per_layer == {5: 4, 9: 7}
    np.testing.assert_array_equal(a.null_samples, b.null_samples)
    assert a.p_value == b.p_value and a.enrichment == b.enrichment


def test_no_interactions_and_errors():
    players = grid_players(2, 3)
    spec = FourierSpectrum.from_dict({(): 1.0, (0,): 0.5, (4,): -0.2}, 6, players=players)
    res = layer_enrichment(spec, n_perm=50)
    assert res.linear == 1.0 and res.within_layer == 0.0 and res.across_layer == 0.0
    assert np.isnan(res.enrichment) and np.isnan(res.p_value) and res.null_samples.size == 0
    with pytest.raises(ValueError):
        layer_enrichment(FourierSpectrum.from_dict({(0, 1): 1.0}, 6))  # no players
    with pytest.raises(ValueError):
        layer_enrichment(spec, n_perm=-1)


def test_seeded_null_is_reproducible():
    players = grid_players(3, 9)
    rng = np.random.default_rng(2)
    spec = planted(players, random_pairs(27, 30, rng), rng)
    a, b = layer_enrichment(spec, seed=11), layer_enrichment(spec, seed=11)
    np.testing.assert_array_equal(a.null_samples, b.null_samples)
    assert a.null_samples.shape == (999,)


def test_interactions_only_across_layers_are_depleted():
    players = grid_players(3, 32)
    rng = np.random.default_rng(5)
    across = [p for p in random_pairs(len(players), 200, rng) if players[p[0]][0] != players[p[1]][0]]
    res = layer_enrichment(planted(players, across, rng), n_perm=999, seed=0)
    assert res.within_of_interactions == 0.0 and res.enrichment == 0.0
    assert res.p_value == 1.0 and res.p_value_low == pytest.approx(1 / 1000)


def test_effective_number_of_interaction_terms():
    players = grid_players(2, 4)
    equal = FourierSpectrum.from_dict({(0, 1): 1.0, (2, 5): -1.0, (3, 7): 1.0, (0,): 3.0}, 8, players=players)
    assert layer_enrichment(equal, n_perm=10).effective_interaction_terms == pytest.approx(3.0)
    one = FourierSpectrum.from_dict({(0, 1): 10.0, (2, 5): 1e-4}, 8, players=players)
    assert layer_enrichment(one, n_perm=10).effective_interaction_terms == pytest.approx(1.0, abs=1e-6)
