"""role_enrichment: planted previous_token x induction pairs across adjacent layers are enriched, random top pairs
are not, a kind that only follows the layers is not; the null keeps every head in its layer (brute force);
role_pairs' labels; bad input is one InputError."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from headspex.errors import InputError
from headspex.roles.enrichment import role_enrichment, role_pairs, within_layer_permutations

N_LAYERS, N_HEADS = 4, 8
PLAYERS = [(layer, head) for layer in range(N_LAYERS) for head in range(N_HEADS)]
# per layer: heads 0, 1 previous-token, 2, 3 induction, 4 duplicate-token, the rest no role
ROLE_OF_HEAD = ["previous_token"] * 2 + ["induction"] * 2 + ["duplicate_token"] + ["none"] * 3


def roles_frame(players=PLAYERS) -> pd.DataFrame:
    """A head_roles-shaped table: the head's role scores 0.8, every other score 0.1 (the 'none' heads 0.1 only)."""
    rows = []
    for layer, head in players:
        role = ROLE_OF_HEAD[head]
        scores = {c: (0.8 if c == role else 0.1) for c in ("previous_token", "induction", "duplicate_token")}
        rows.append(dict(layer=layer, head=head, **scores, ioi_io=np.nan, ioi_subject=np.nan))
    return pd.DataFrame(rows)


def all_pairs(rng: np.random.Generator, scale: float = 1.0) -> pd.DataFrame:
    pairs = list(itertools.combinations(range(len(PLAYERS)), 2))
    return pd.DataFrame({"i": [i for i, _ in pairs], "j": [j for _, j in pairs],
                         "value": scale * rng.normal(size=len(pairs))})


def row(frame: pd.DataFrame, kind: str) -> pd.Series:
    return frame.set_index("kind").loc[kind]


def test_role_pairs_labels_by_top_score_and_threshold():
    labels = role_pairs(roles_frame(), PLAYERS, threshold=0.3)
    assert [labels[i] for i in range(N_HEADS)] == ROLE_OF_HEAD
    assert set(role_pairs(roles_frame(), PLAYERS, threshold=0.9).values()) == {"none"}
    csv = roles_frame().assign(layer_1based=lambda f: f["layer"] + 1).drop(columns="layer")  # roles.csv's columns
    assert role_pairs(csv, PLAYERS) == labels
    subset = [(3, 2), (0, 0)]  # player order follows players, not the table
    assert role_pairs(roles_frame(), subset) == {0: "induction", 1: "previous_token"}


def test_planted_previous_token_induction_pairs_across_adjacent_layers_are_enriched():
    frame = all_pairs(np.random.default_rng(0), scale=0.1)
    planted = [(layer * N_HEADS + p, (layer + 1) * N_HEADS + q)
               for layer in range(N_LAYERS - 1) for p in (0, 1) for q in (2, 3)]  # previous token -> induction
    signs = np.where(np.arange(len(planted)) % 3 == 0, -1.0, 1.0)
    for (i, j), sign in zip(planted, signs):
        frame.loc[(frame["i"] == i) & (frame["j"] == j), "value"] = sign * 5.0
    result = role_enrichment(frame, roles_frame(), PLAYERS, top=len(planted), n_perm=199, seed=0)
    hit = row(result, "previous_token x induction")
    assert hit["observed"] == len(planted) and result.iloc[0]["kind"] == "previous_token x induction"
    assert hit["positive"] == int((signs > 0).sum()) and hit["negative"] == int((signs < 0).sum())
    # each adjacent-layer pair is previous_token x induction with chance 2 * (2/8) * (2/8) under within-layer shuffles
    assert hit["null_mean"] == pytest.approx(len(planted) / 8, rel=0.25)
    assert hit["p_value"] == pytest.approx(1 / 200) and hit["p_value"] < 0.05
    assert result["observed"].sum() == len(planted) and result.attrs["top"] == len(planted)
    assert result.attrs["role_counts"] == {"previous_token": 8, "induction": 8, "duplicate_token": 4, "none": 12}
    again = role_enrichment(frame, roles_frame(), PLAYERS, top=len(planted), n_perm=199, seed=0)
    pd.testing.assert_frame_equal(result, again)  # deterministic given the seed


def test_random_top_pairs_are_not_enriched():
    p_values = []
    for seed in range(20):
        frame = all_pairs(np.random.default_rng(seed))
        result = role_enrichment(frame, roles_frame(), PLAYERS, top=20, n_perm=199, seed=seed)
        p_values.append(row(result, "previous_token x induction")["p_value"])
        assert (result["positive"] + result["negative"] == result["observed"]).all()
    p_values = np.array(p_values)
    assert (p_values < 0.05).sum() <= 3 and np.median(p_values) > 0.2


def test_a_kind_that_only_follows_the_layers_is_not_enriched():
    """Layer 0 all previous-token, layer 1 all induction, the top pairs all between them: the observed count is
    the only one the within-layer null can give, so p = 1 (a shuffle over all heads would call it enriched)."""
    labels = {i: ("previous_token" if layer == 0 else "induction" if layer == 1 else "none")
              for i, (layer, _) in enumerate(PLAYERS)}
    frame = all_pairs(np.random.default_rng(1), scale=0.1)
    across = (frame["i"] < N_HEADS) & (frame["j"] >= N_HEADS) & (frame["j"] < 2 * N_HEADS)
    frame.loc[across, "value"] += 10.0
    result = role_enrichment(frame, labels, PLAYERS, top=20, n_perm=99, seed=0)
    hit = row(result, "previous_token x induction")
    assert hit["observed"] == 20 and hit["null_mean"] == 20 and hit["p_value"] == 1.0
    assert result.attrs["threshold"] is None


@pytest.mark.parametrize("layer_of", [[0, 0, 1, 1, 1], [2, 0, 2, 1, 0, 2]])
def test_within_layer_permutations_keep_every_layer_by_brute_force(layer_of):
    layer_of = np.array(layer_of)
    perms = within_layer_permutations(layer_of, 3000, seed=0)
    assert perms.shape == (3000, len(layer_of))
    assert (layer_of[perms] == layer_of).all()  # every head keeps its layer
    allowed = {p for p in itertools.permutations(range(len(layer_of))) if (layer_of[list(p)] == layer_of).all()}
    seen, counts = np.unique(perms, axis=0, return_counts=True)
    assert {tuple(int(x) for x in p) for p in seen} == allowed  # exactly the layer-preserving permutations
    assert counts.min() > 0.5 * 3000 / len(allowed)  # roughly uniform over them
    np.testing.assert_array_equal(perms, within_layer_permutations(layer_of, 3000, seed=0))


GOOD = pd.DataFrame({"i": [0, 1], "j": [1, 2], "value": [1.0, -0.5]})


@pytest.mark.parametrize("change, match", [
    (dict(pair_values=GOOD.drop(columns="value")), "columns i, j, value"),
    (dict(pair_values=[(0, 1, 1.0)]), "columns i, j, value"),
    (dict(pair_values=GOOD.iloc[:0]), "no rows"),
    (dict(pair_values=GOOD.assign(j=[1, 99])), "two different players"),
    (dict(pair_values=GOOD.assign(j=[0, 2])), "two different players"),
    (dict(pair_values=GOOD.assign(i=[0.0, 1.5])), "integer player indices"),
    (dict(pair_values=GOOD.assign(value=[np.nan, 1.0])), "finite"),
    (dict(pair_values=pd.DataFrame({"i": [0, 1], "j": [1, 0], "value": [1.0, 2.0]})), "repeats a pair"),
    (dict(top=0), "top must be"),
    (dict(n_perm=0), "n_perm must be"),
    (dict(roles=roles_frame().drop(columns="layer")), "layer"),
    (dict(roles=roles_frame().iloc[:2]), "no row for players"),
    (dict(roles={0: "induction"}), "player index"),
    (dict(roles="induction"), "player index"),
    (dict(players=[(0, 0)]), "at least 2"),
    (dict(players=[(0, 0), (0, 0), (0, 1)]), "repeat"),
    (dict(threshold="high"), "threshold"),
])
def test_bad_input_is_one_input_error(change, match):
    args = dict(pair_values=GOOD, roles=roles_frame(), players=PLAYERS[:3], top=2, n_perm=9, threshold=0.3)
    args.update(change)
    with pytest.raises(InputError, match=match):
        role_enrichment(args.pop("pair_values"), args.pop("roles"), args.pop("players"), **args)
