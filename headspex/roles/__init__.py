"""Head roles from attention patterns, and measured pair interactions of a game.

    roles = headspex.head_roles(model, n_sequences=64, seq_len=40, n_ioi=100, seed=0)   # DataFrame, row per head
    from headspex.roles import pair_interactions, compare_with_spectrum
    measured = pair_interactions(game, [(0, 5), (3, 7)], n_backgrounds=32, seed=0)      # 4 x 32 masks per pair
    compare_with_spectrum(measured, proxy.spectrum())          # measured vs 4 F({i, j}): sign, Spearman

``python -m headspex.roles --model smollm2 --out DIR`` writes ``roles.csv``, ``roles_heatmap.png`` and
``protocol.json``. The protocol (:mod:`headspex.roles.heads`) and the pair identity
``E_b[v11 - v10 - v01 + v00] = 4 F({i, j})`` (:mod:`headspex.roles.pairs`) are documented in ``docs/roles.md``.
Names resolve lazily (importing this package loads no torch).
"""

from headspex._lazy import lazy_exports

_EXPORTS = {
    "head_roles": ".heads", "RoleProtocol": ".protocol", "SCORES": ".protocol", "scores_from_patterns": ".scores",
    "ioi_scores": ".scores", "eager_attention": ".attention", "attention_patterns": ".attention",
    "pair_interactions": ".pairs", "PairInteractions": ".pairs", "compare_with_spectrum": ".pairs",
    "role_pairs": ".enrichment", "role_enrichment": ".enrichment", "within_layer_permutations": ".enrichment",
    "shapiq_pairs": ".peer", "spectrum_pairs": ".peer",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
