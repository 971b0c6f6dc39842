"""Choose which heads to keep: exact selection on a sparse spectrum, a heuristic fallback, baselines.

Masks: ``m_i = 1`` when head ``i`` is KEPT; every selection keeps exactly ``k`` of ``n`` players.
Objective: the proxy in the Moebius basis, ``f(m) = sum_{S subset of kept(m)} a(S)``.

- ``select_heads_milp``: SciPy ``milp`` (HiGHS). Binary ``y_i`` per player, ``y_S`` in [0, 1] per
  support of order >= 2 (continuous suffices: at an optimum ``y_S = prod_{i in S} y_i``);
  ``a(S) > 0``: ``y_S <= y_i`` (i in S); ``a(S) < 0``: ``y_S >= sum_{i in S} y_i - |S| + 1``;
  ``sum_i y_i = k``; constant added. Objective scaled to ``max |a| = 1``; relative gap 0 (HiGHS keeps
  its absolute gap, 1e-6 of the largest |a|). It stops after ``node_limit`` branch-and-bound nodes.
- ``select_heads_greedy_swap``, the fallback (more than ``max_terms`` terms, or no solution within the
  node limit): greedy forward (add the best head until k) and backward (drop the cheapest head until
  n - k are gone); from the better, steepest-ascent 1-swap local search over all ``k (n - k)`` swaps per
  round, evaluated as mask batches, until none improves or after ``max_rounds`` rounds.
- Determinism: by default nothing stops on the wall clock, so the same inputs give the same selection on an
  idle machine and under full load. ``time_limit`` (seconds) adds a wall-clock cap for users who prefer a
  bounded wait to a reproducible answer.
- Baselines: top-k by a score (LASSO weight, Shapley value, ablation drop), Best-of-N (best of N
  random k-head masks on the TRUE value), random.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from headspex._checks import check_count, check_masks
from headspex.engine.sampling import sample_k_masks
from headspex.spectrum.fourier import FourierSpectrum, MoebiusSpectrum

DEFAULT_MAX_TERMS = 5_000  # Moebius terms above which select_heads_milp falls back to the heuristic
DEFAULT_NODE_LIMIT = 20_000  # branch-and-bound nodes per MILP (deterministic, unlike a time limit)
ROUNDS_PER_PLAYER = 4  # swap-search rounds allowed per player (deterministic; a round is one improving swap)
_SWAP_BLOCK = 8192  # candidate masks per predict batch in the swap search
SOLVER = "scipy.optimize.milp (HiGHS)"


@dataclass(frozen=True, eq=False)
class Selection:
    """A chosen head set.

    Attributes:
        mask: ``uint8 [n_players]``, 1 = head kept, exactly ``k`` ones (read-only).
        k: number of kept heads.
        method: ``"milp-optimal"``, ``"milp-time-limit"``, ``"greedy+swap"``, ``"best-of-n"``,
            ``"random"``, or the label given to ``select_top_k`` (default ``"top-k"``).
        objective: predicted value of the mask (measured value for Best-of-N); NaN when none.
        optimal: True only when the mask provably maximises the objective over ``|m| = k``.
        seconds: wall time of the selection.
        details: solver status, gap, counts and the like (plain values).
    """

    mask: np.ndarray
    k: int
    method: str
    objective: float = float("nan")
    optimal: bool = False
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        m = np.asarray(self.mask)
        if m.ndim != 1:
            raise ValueError(f"mask must be 1-D [n_players]; got shape {m.shape}")
        m = check_masks(m[None, :], name="mask")[0].copy()
        m.setflags(write=False)
        if int(m.sum()) != int(self.k):
            raise ValueError(f"mask keeps {int(m.sum())} heads but k = {self.k}")
        object.__setattr__(self, "mask", m)
        object.__setattr__(self, "k", int(self.k))
        object.__setattr__(self, "objective", float(self.objective))
        object.__setattr__(self, "optimal", bool(self.optimal))
        object.__setattr__(self, "seconds", float(self.seconds))

    @property
    def n_players(self) -> int:
        """Number of players n."""
        return int(self.mask.shape[0])

    def kept_indices(self) -> tuple[int, ...]:
        """Player indices (mask columns) of the kept heads, ascending."""
        return tuple(np.flatnonzero(self.mask).tolist())

    def kept_heads(self, players: Any) -> list[tuple[int, int]]:
        """The kept heads as ``(layer, head)``, given the ``players`` of the mask's columns."""
        return [tuple(players[i]) for i in self.kept_indices()]

    kept_players = kept_indices  # the old name (it returned indices, not players)


def _check_time(time_limit: float | None) -> float:
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be > 0 seconds or None; got {time_limit}")
    return np.inf if time_limit is None else float(time_limit)


def _mask_of(players: np.ndarray, n: int) -> np.ndarray:
    return np.isin(np.arange(n), players).astype(np.uint8)


def select_heads_milp(moebius: MoebiusSpectrum, k: int, *, time_limit: float | None = None,
                      max_terms: int = DEFAULT_MAX_TERMS, fallback: bool = True,
                      trust: tuple[Any, int] | None = None, node_limit: int = DEFAULT_NODE_LIMIT) -> Selection:
    """Maximise the Moebius spectrum over masks with exactly ``k`` kept heads (see module docstring).

    Too many terms (> ``max_terms``) or no solution within ``node_limit`` nodes (or ``time_limit`` seconds,
    when given): the greedy+swap heuristic. An incumbent cut short is polished by swaps and compared with the
    heuristic; the better is returned (``"milp-time-limit"`` or ``"greedy+swap"``, ``optimal=False``,
    the solver's bound in ``details["dual_bound"]``). ``fallback=False``: raise ValueError (too
    large) or RuntimeError (no solution) instead of using the heuristic.
    """
    if not isinstance(moebius, MoebiusSpectrum):
        raise TypeError(f"moebius must be a MoebiusSpectrum; got {type(moebius).__name__}")
    n, t0 = moebius.n_players, time.perf_counter()
    k, limit, max_terms = check_count(k, "k", 0, n), _check_time(time_limit), check_count(max_terms, "max_terms", 0)
    if len(moebius) > max_terms:
        why = f"{len(moebius)} Moebius terms > max_terms = {max_terms}"
        if not fallback:
            raise ValueError(f"program too large for milp: {why}")
        return _heuristic(moebius, k, limit, t0, None, dict(fallback_reason=why, trust_enforced=trust is None))
    res, info = _solve_milp(moebius, k, limit, _trust_row(trust, n, k), check_count(node_limit, "node_limit", 1))
    info.update(status=int(res.status), message=str(res.message), mip_gap=getattr(res, "mip_gap", None))
    if res.x is None:
        info["fallback_reason"] = f"milp found no feasible solution (status {res.status}: {res.message})"
        if not fallback:
            raise RuntimeError(info["fallback_reason"])
        return _heuristic(moebius, k, limit, t0, None, info)
    mask = _mask_of(np.argsort(-res.x[:n], kind="stable")[:k], n)  # the k ones, robust to round-off
    value = float(moebius.predict(mask[None, :])[0])
    if res.status == 0:
        return Selection(mask, k, "milp-optimal", value, True, time.perf_counter() - t0, info)
    info["milp_incumbent"] = value
    polished = _heuristic(moebius, k, limit, t0, mask, dict(info))
    fresh = _heuristic(moebius, k, limit, t0, None, dict(info, fallback_reason="heuristic beat the milp incumbent"))
    if polished.objective >= fresh.objective:
        return replace(polished, method="milp-time-limit", seconds=time.perf_counter() - t0)
    return replace(fresh, seconds=time.perf_counter() - t0)


def _trust_row(trust: tuple[Any, int] | None, n: int, k: int) -> tuple[np.ndarray, float] | None:
    """The trust region as (coefficients over the n player variables, upper bound), or None."""
    if trust is None:
        return None
    anchor, radius = trust
    a = check_masks(np.asarray(anchor).reshape(1, -1), n_players=n, name="trust anchor")[0].astype(float)
    radius = check_count(radius, "trust radius", 0)
    if abs(int(a.sum()) - k) > radius:
        raise ValueError(f"trust radius {radius} cannot reach k = {k} from an anchor keeping {int(a.sum())} heads")
    return 1.0 - 2.0 * a, float(radius - a.sum())


def _solve_milp(moebius: MoebiusSpectrum, k: int, time_limit: float,
                trust_row: tuple[np.ndarray, float] | None = None,
                node_limit: int = DEFAULT_NODE_LIMIT) -> tuple[Any, dict]:
    """Build and solve the program; returns SciPy's result and a details dict."""
    from scipy import optimize, sparse

    n = moebius.n_players
    terms = [(sup, a) for sup, a in moebius if a != 0.0]
    const, lin = sum(a for sup, a in terms if not sup), np.zeros(n)
    np.add.at(lin, [sup[0] for sup, _ in terms if len(sup) == 1], [a for sup, a in terms if len(sup) == 1])
    sups, vals = [sup for sup, _ in terms if len(sup) >= 2], np.array([a for sup, a in terms if len(sup) >= 2])
    n_vars = n + len(sups)
    scale = max(float(np.abs(lin).max(initial=0.0)), float(np.abs(vals).max(initial=0.0))) or 1.0
    nonzeros, upper = [], []  # (row, column, entry) of the inequality rows, and their upper bounds
    for j, (sup, a) in enumerate(zip(sups, vals)):
        if a > 0:  # y_S - y_i <= 0 for every i in S
            for i in sup:
                nonzeros += [(len(upper), n + j, 1.0), (len(upper), i, -1.0)]
                upper.append(0.0)
        else:  # sum_{i in S} y_i - y_S <= |S| - 1
            nonzeros += [(len(upper), i, 1.0) for i in sup] + [(len(upper), n + j, -1.0)]
            upper.append(len(sup) - 1.0)
    constraints = [optimize.LinearConstraint(np.r_[np.ones(n), np.zeros(len(sups))][None, :], k, k)]
    if trust_row is not None:
        constraints.append(optimize.LinearConstraint(np.r_[trust_row[0], np.zeros(len(sups))][None, :], -np.inf,
                                                     trust_row[1]))
    if upper:
        rows, cols, entries = zip(*nonzeros)
        a_ub = sparse.csr_array((entries, (rows, cols)), shape=(len(upper), n_vars))
        constraints.append(optimize.LinearConstraint(a_ub, -np.inf, np.array(upper)))
    options: dict[str, Any] = {"mip_rel_gap": 0.0, "node_limit": node_limit}
    if np.isfinite(time_limit):
        options["time_limit"] = time_limit
    res = optimize.milp(-np.r_[lin, vals] / scale,
                        integrality=np.r_[np.ones(n), np.zeros(len(sups))], bounds=optimize.Bounds(0.0, 1.0),
                        constraints=constraints, options=options)
    bound = getattr(res, "mip_dual_bound", None)
    info = dict(solver=SOLVER, n_terms=len(moebius), n_interaction_vars=len(sups), n_constraints=len(upper) + 1,
                dual_bound=None if bound is None or not np.isfinite(bound) else const - scale * float(bound))
    return res, info


def select_heads_greedy_swap(objective: Any, k: int, *, time_limit: float | None = None,
                             start: Any = None) -> Selection:
    """Greedy + 1-swap local search on ``objective.predict`` (see module docstring).

    ``objective`` has ``n_players`` and ``predict(masks [N, n]) -> [N]`` (a spectrum or a proxy).
    ``start``: an optional ``[n_players]`` mask with ``k`` ones to polish instead of the greedy
    start. The greedy passes always complete; the swaps stop at a local optimum or after ``ROUNDS_PER_PLAYER``
    rounds per player, or (only when ``time_limit`` is given) on the wall clock.
    """
    n = check_count(getattr(objective, "n_players", None), "objective.n_players", 1)
    k = check_count(k, "k", 0, n)
    if start is not None:
        start = check_masks(np.asarray(start).reshape(1, -1), n_players=n, name="start")[0].copy()
        if int(start.sum()) != k:
            raise ValueError(f"start keeps {int(start.sum())} heads but k = {k}")
    return _heuristic(objective, k, _check_time(time_limit), time.perf_counter(), start, {})


def _heuristic(objective: Any, k: int, limit: float, t0: float, start: np.ndarray | None, info: dict) -> Selection:
    n, deadline = int(objective.n_players), time.perf_counter() + limit

    value_of = lambda mask: float(objective.predict(mask[None, :])[0])  # noqa: E731

    def greedy(cur: np.ndarray, steps: int, fill: int) -> np.ndarray:
        for _ in range(steps):
            cand = np.flatnonzero(cur != fill)
            masks = np.repeat(cur[None, :], cand.size, axis=0)
            masks[np.arange(cand.size), cand] = fill
            cur[cand[int(np.argmax(objective.predict(masks)))]] = fill
        return cur

    if start is not None:
        cur, how = start.copy(), "given"
    else:
        cur, how = greedy(np.zeros(n, np.uint8), k, 1), "greedy-forward"
        if 0 < k < n:
            back = greedy(np.ones(n, np.uint8), n - k, 0)
            if value_of(back) > value_of(cur):
                cur, how = back, "greedy-backward"
    value = start_value = value_of(cur)
    swaps, evaluations, converged = 0, 0, not 0 < k < n
    while not converged and swaps < ROUNDS_PER_PLAYER * n and time.perf_counter() < deadline:
        kept, dropped = np.flatnonzero(cur), np.flatnonzero(cur == 0)
        total, best = k * (n - k), (0.0, -1, -1)
        for lo in range(0, total, _SWAP_BLOCK):
            r = np.arange(lo, min(lo + _SWAP_BLOCK, total))
            out, into = kept[r // (n - k)], dropped[r % (n - k)]
            masks = np.repeat(cur[None, :], r.size, axis=0)
            masks[np.arange(r.size), out] = 0
            masks[np.arange(r.size), into] = 1
            gains = objective.predict(masks) - value
            j = int(np.argmax(gains))
            if gains[j] > best[0]:
                best = (float(gains[j]), int(out[j]), int(into[j]))
        evaluations += total
        converged = best[0] <= 1e-12 * max(1.0, abs(value))
        if not converged:
            cur[best[1]], cur[best[2]] = 0, 1
            value, swaps = value + best[0], swaps + 1
    info = dict(info, start=how, start_value=start_value, n_swaps=swaps, swap_evaluations=evaluations,
                local_optimum=converged)
    return Selection(cur, k, "greedy+swap", value_of(cur), k in (0, n), time.perf_counter() - t0, info)


def proxy_optimum(spectrum_or_proxy: Any, k: int, *, method: str = "auto", time_limit: float | None = None,
                  max_terms: int = DEFAULT_MAX_TERMS) -> Selection:
    """Keep the ``k`` heads that maximise a spectrum or proxy (the ``milp`` rule; :func:`headspex.select_heads`
    runs any rule).

    ``spectrum_or_proxy``: a ``FourierSpectrum`` (converted to Moebius), a ``MoebiusSpectrum``, or an
    object with ``.spectrum()`` (a ``Proxy``). ``method``: ``"auto"`` (milp, heuristic fallback),
    ``"milp"`` (no fallback: raises when too large or no solution) or ``"greedy+swap"`` (heuristic
    only, evaluated with the object's own ``predict``).
    """
    if method not in ("auto", "milp", "greedy+swap"):
        raise ValueError(f"method must be 'auto', 'milp' or 'greedy+swap'; got {method!r}")
    if method == "greedy+swap":
        return select_heads_greedy_swap(spectrum_or_proxy, k, time_limit=time_limit)
    spec = spectrum_or_proxy
    if not isinstance(spec, (FourierSpectrum, MoebiusSpectrum)):
        if not callable(getattr(spec, "spectrum", None)):
            raise TypeError(f"expected a FourierSpectrum, MoebiusSpectrum or proxy; got {type(spec).__name__}")
        spec = spec.spectrum()
    moebius = spec.to_moebius() if isinstance(spec, FourierSpectrum) else spec
    return select_heads_milp(moebius, k, time_limit=time_limit, max_terms=max_terms, fallback=method == "auto")


def select_top_k(scores: Any, k: int, *, label: str = "top-k") -> Selection:
    """Keep the ``k`` players with the largest ``scores [n_players]`` (ties: lower index first)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.isfinite(s).all():
        raise ValueError(f"scores must be a non-empty finite 1-D array; got shape {s.shape}")
    k = check_count(k, "k", 0, s.size)
    t0 = time.perf_counter()
    order = np.lexsort((np.arange(s.size), -s))[:k]
    return Selection(_mask_of(order, s.size), k, label, seconds=time.perf_counter() - t0)


def select_best_of_n(candidate_masks: Any, values: Any) -> Selection:
    """The candidate with the largest (true) value; first on ties. All candidates keep the same k."""
    m = check_masks(candidate_masks, name="candidate_masks")
    v = np.asarray(values, dtype=np.float64)
    if m.shape[0] == 0 or v.shape != (m.shape[0],) or not np.isfinite(v).all():
        raise ValueError(f"need >= 1 candidate and one finite value each; got {m.shape[0]} masks, values {v.shape}")
    sizes = np.unique(m.sum(axis=1))
    if sizes.size != 1:
        raise ValueError(f"candidates must all keep the same number of heads; found {sizes.tolist()}")
    best = int(np.argmax(v))
    return Selection(m[best], int(sizes[0]), "best-of-n", objective=float(v[best]),
                     details=dict(n_candidates=int(m.shape[0]), index=best))


def select_random(n_players: int, k: int, *, seed: int = 0) -> Selection:
    """A uniformly random mask with exactly ``k`` kept heads."""
    mask = sample_k_masks(1, n_players, k, seed=seed)[0]
    return Selection(mask, k, "random", details=dict(seed=seed))
