"""Exact Fourier spectrum of a CatBoost ensemble of oblivious (symmetric) trees.

An oblivious tree of depth d splits level k on feature ``j_k`` at one border; with 0/1 masks and a
border in (0, 1) the split sends ``m_{j_k} = 1`` to the side whose leaf-index bit k is set (checked
by ``tests/test_spectrum.py`` against ``model.predict``). So the tree is the function
``m -> v[sum_k m_{j_k} 2^k]`` and its Fourier coefficients are ``WHT(v) / 2^d``, coefficient index
bit k standing for player ``j_k``; a player split twice cancels by symmetric difference
(chi_j * chi_j = 1). Trees are processed in batches of equal depth, the transform is one matrix
product with the Sylvester-Hadamard matrix, and coefficients landing on the same set are summed
with ``np.unique``. The model's scale multiplies everything and its bias is added to F(()).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import hadamard

from headspex.spectrum import sparse_sets as ss
from headspex.spectrum.fourier import FourierSpectrum


def catboost_json(model: Any) -> dict:
    """The model as CatBoost's JSON dump (``save_model(format="json")``), parsed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.json")
        model.save_model(path, format="json")
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)


def _feature_map(dump: dict) -> dict[int, int]:
    """float_feature_index -> column index of the training matrix."""
    info = dump.get("features_info", {})
    if info.get("categorical_features") or info.get("text_features") or info.get("embedding_features"):
        raise ValueError("spectrum_from_catboost supports float (0/1 mask) features only")
    return {f["feature_index"]: f["flat_feature_index"] for f in info.get("float_features", [])}


def _tree_splits(tree: dict, feature_of: dict[int, int]) -> list[int]:
    players = []
    for split in tree.get("splits") or []:  # depth-0 trees are dumped with "splits": null
        if split.get("split_type") != "FloatFeature":
            raise ValueError(f"only float-feature splits can be read as head sets; got {split.get('split_type')!r}")
        border = float(split["border"])
        if not 0.0 < border < 1.0:
            raise ValueError(
                f"split border must lie in (0, 1) so that it separates ablated (0) from kept (1); got {border}"
            )
        players.append(feature_of[split["float_feature_index"]])
    return players


def spectrum_from_catboost(
    model: Any,
    *,
    n_players: int | None = None,
    players: Sequence[tuple[int, int]] | None = None,
) -> FourierSpectrum:
    """Exact Fourier spectrum of a fitted CatBoost regressor over 0/1 masks.

    Args:
        model: a fitted ``catboost.CatBoostRegressor`` (or ``CatBoost``) with symmetric trees,
            trained on binary mask columns, single output.
        n_players: number of players; defaults to the model's number of features.
        players: optional ``(layer, head)`` per player, kept on the spectrum for labels.

    Returns:
        FourierSpectrum whose ``predict`` equals ``model.predict`` (raw values) on any mask.

    Raises:
        ValueError: for non-symmetric trees, multi-output models, non-float features or borders
            outside (0, 1).
    """
    dump = catboost_json(model)
    if "oblivious_trees" not in dump:
        raise ValueError("model has non-symmetric trees; fit with grow_policy='SymmetricTree' (the default)")
    feature_of = _feature_map(dump)
    n_features = len(feature_of)
    n = n_features if n_players is None else int(n_players)
    if n < n_features:
        raise ValueError(f"n_players={n} is smaller than the model's {n_features} features")
    scale, biases = dump.get("scale_and_bias", [1.0, [0.0]])
    biases = np.atleast_1d(np.asarray(biases, dtype=np.float64))
    if biases.size != 1:
        raise ValueError(f"expected a single-output model; got {biases.size} outputs")

    by_depth: dict[int, tuple[list[list[int]], list[list[float]]]] = defaultdict(lambda: ([], []))
    for k, tree in enumerate(dump["oblivious_trees"]):
        split_players = _tree_splits(tree, feature_of)
        leaves = tree["leaf_values"]
        if len(leaves) != 1 << len(split_players):
            raise ValueError(
                f"tree {k}: expected {1 << len(split_players)} leaf values for depth "
                f"{len(split_players)}, got {len(leaves)} (multi-output models are not supported)"
            )
        by_depth[len(split_players)][0].append(split_players)
        by_depth[len(split_players)][1].append(leaves)

    bits_parts = [ss.player_bits(np.zeros(0, np.int64), n)]  # start with an empty [0, W] block
    value_parts = [np.zeros(0)]
    for depth, (split_lists, leaf_lists) in sorted(by_depth.items()):
        leaf_values = np.asarray(leaf_lists, dtype=np.float64)  # [trees, 2^d]
        coefs = leaf_values @ hadamard(1 << depth, dtype=np.float64) / (1 << depth)
        elems = np.asarray(split_lists, dtype=np.int64).reshape(len(split_lists), depth)
        subset_bits = ss.subset_xors(ss.player_bits(elems, n))  # [trees, 2^d, W]
        bits_parts.append(subset_bits.reshape(-1, subset_bits.shape[-1]))
        value_parts.append(coefs.reshape(-1))
    bits = np.concatenate(bits_parts)
    values = np.concatenate(value_parts) * float(scale)
    # the bias goes into the constant term F(()): an all-zero bitset row
    bits = np.concatenate([bits, np.zeros((1, bits.shape[1]), np.uint64)])
    values = np.concatenate([values, biases])
    return FourierSpectrum._from_bits(bits, values, n, None if players is None else tuple(players))
