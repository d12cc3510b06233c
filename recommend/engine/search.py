"""Hyperparameter search: which algorithm and parameters rank best on validation.

The search only ever sees the matrix it is given (the train part of an
evaluation, or the training data of a model version). It carves a validation
split from it with the same protocol and ratio as the evaluation (per-reader
random 75/25 by default; the time protocol keeps each reader's latest share),
fits every trial on the fit part and scores nDCG@k on the validation part.

Trials, in order:

1. the defaults of every algorithm (so that algorithms are compared even on a
   tiny budget), EASE skipped beyond EASE_MAX_ITEMS;
2. two random draws per tunable algorithm whose defaults scored at least 60 %
   of the best default (BPR or kNN far behind do not spend the warm-up);
3. then, alternately at random, a local refinement (a perturbation of one of
   the three best trials so far: log-scale jitter of continuous parameters, a
   step of factors) or a fresh random draw (of an algorithm within 10 % of the
   best so far, sometimes of any).

It stops when the budget is spent: ``budget_seconds`` of wall time and/or
``max_trials`` trials (a trial is never cut short). The best trial by
validation nDCG wins (the first of equal scores, so defaults win ties). The
sequence is fixed by ``seed`` and the data; only how many trials fit in a time
budget varies.

Search spaces (log-uniform where it says "log"), as the literature tunes them
(Rendle et al. 2022 for iALS; Anelli et al. 2019 and Steck 2019):

* als: factors 16-512 (log, powers of two), regularization 1e-3-1e3 (log),
  alpha (confidence scale) 0.3-100 (log), iterations 8-30;
* bpr: factors 16-256, learning rate 1e-3-0.1 (log), regularization
  1e-5-0.1 (log), iterations 20-300 (log);
* itemknn: cosine or BM25, K 5-1000 (log), BM25 K1 0.1-5 (log), B 0-1;
* ease: regularization 1-1e4 (log);
* recent: half-life span/200-2 x span days (log), span = the data's time span;
* every algorithm but popular/recent: the weighting of events (value, log,
  binary); when timestamps exist, a time decay of event weights (half-life
  span/30-3 x span, log; off in 60 % of draws); a blend with popularity
  (weight 0.01-0.5, log; off in 60 % of draws; plain popularity or, when
  timestamps exist, recency popularity with half-life span/100-span).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommend.engine.ease import EASE_MAX_ITEMS
from recommend.engine.evaluate import (
    SplitProtocol,
    evaluate_model,
    split_with_timestamps,
)
from recommend.engine.recency import SECONDS_PER_DAY
from recommend.engine.train import DEFAULT_PARAMS, train_model

FACTORS: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
BPR_FACTORS: tuple[int, ...] = (16, 32, 64, 128, 256)
WEIGHTINGS: tuple[str, ...] = ("value", "log", "binary")
RANDOM_DRAWS_PER_ALGORITHM = 2
REFINE_SHARE = 0.5
CONTENDER_SHARE = 0.9  # within 10 % of the best validation nDCG
WARMUP_SHARE = 0.6

# name -> (low, high, log scale, integer)
_RANGES: dict[str, dict[str, tuple[float, float, bool, bool]]] = {
    "als": {
        "regularization": (1e-3, 1e3, True, False),
        "alpha": (0.3, 100.0, True, False),
        "iterations": (8, 30, False, True),
    },
    "bpr": {
        "learning_rate": (1e-3, 0.1, True, False),
        "regularization": (1e-5, 0.1, True, False),
        "iterations": (20, 300, True, True),
    },
    "itemknn": {
        "K": (5, 1000, True, True),
        "K1": (0.1, 5.0, True, False),
        "B": (0.0, 1.0, False, False),
    },
    "ease": {"regularization": (1.0, 1e4, True, False)},
}


@dataclass
class SearchResult:
    best_algorithm: str
    best_params: dict[str, Any]
    trials: list[dict[str, Any]] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)


def _draw(rng: np.random.Generator, low: float, high: float, log: bool) -> float:
    if log:
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def _time_params(
    rng: np.random.Generator, span_days: float | None, *, blend_only: bool = False
) -> dict[str, Any]:
    """Optional weighting, decay and blend parameters (zero = off)."""
    params: dict[str, Any] = {"weighting": str(rng.choice(WEIGHTINGS))}
    if span_days and not blend_only and rng.random() >= 0.6:
        params["half_life_days"] = _draw(rng, span_days / 30, span_days * 3, True)
    if rng.random() >= 0.6:
        params["blend"] = _draw(rng, 0.01, 0.5, True)
        # Half the blends use plain popularity (half-life 0), half a recent one.
        params["blend_half_life_days"] = 0.0
        if span_days and rng.random() < 0.5:
            params["blend_half_life_days"] = _draw(
                rng, span_days / 100, span_days, True
            )
    return params


def sample_params(
    algorithm: str, rng: np.random.Generator, *, span_days: float | None = None
) -> dict[str, Any]:
    """One random point of the algorithm's search space (JSON-safe types)."""
    if algorithm in ("popular",):
        return {}
    if algorithm == "recent":
        span = span_days or 30.0
        return {"half_life_days": _draw(rng, span / 200, span * 2, True)}
    if algorithm not in _RANGES:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    params: dict[str, Any] = {}
    for name, (low, high, log, integer) in _RANGES[algorithm].items():
        value = _draw(rng, low, high, log)
        params[name] = int(round(value)) if integer else value
    if algorithm == "als":
        params["factors"] = int(rng.choice(FACTORS))
    elif algorithm == "bpr":
        params["factors"] = int(rng.choice(BPR_FACTORS))
    elif algorithm == "itemknn":
        params["similarity"] = str(rng.choice(["cosine", "bm25"]))
    params.update(_time_params(rng, span_days))
    return params


def perturb_params(
    algorithm: str,
    params: dict[str, Any],
    rng: np.random.Generator,
    *,
    span_days: float | None = None,
) -> dict[str, Any]:
    """A neighbour of ``params``: log-scale jitter, a step of factors."""
    changed = dict(params)
    ranges = dict(_RANGES.get(algorithm, {}))
    if algorithm == "recent":
        span = span_days or 30.0
        ranges["half_life_days"] = (span / 200, span * 2, True, False)
    if span_days and algorithm not in ("popular", "recent"):
        ranges["half_life_days"] = (span_days / 30, span_days * 3, True, False)
        ranges["blend_half_life_days"] = (span_days / 100, span_days, True, False)
    if algorithm not in ("popular", "recent"):
        ranges["blend"] = (0.01, 0.5, True, False)
    for name, (low, high, log, integer) in ranges.items():
        value = changed.get(name)
        if value is None or value == 0:
            continue  # an option that is off stays off in a refinement
        if log:
            value = math.exp(math.log(value) + rng.normal(0.0, 0.5))
        else:
            value = value + rng.normal(0.0, 0.15 * (high - low))
        value = min(max(value, low), high)
        changed[name] = int(round(value)) if integer else float(value)
    if "factors" in changed:
        choices = FACTORS if algorithm == "als" else BPR_FACTORS
        position = (
            choices.index(changed["factors"]) if changed["factors"] in choices else 2
        )
        step = int(rng.choice([-1, 0, 0, 1]))
        changed["factors"] = choices[min(max(position + step, 0), len(choices) - 1)]
    if "weighting" in changed and rng.random() < 0.15:
        changed["weighting"] = str(rng.choice(WEIGHTINGS))
    if algorithm == "itemknn" and rng.random() < 0.15:
        changed["similarity"] = "cosine" if changed["similarity"] == "bm25" else "bm25"
    return changed


def _span_days(timestamps: sp.csr_matrix | None) -> float | None:
    if timestamps is None or timestamps.nnz == 0:
        return None
    span = float(timestamps.data.max() - timestamps.data.min()) / SECONDS_PER_DAY
    return span if span > 0 else None


def search_hyperparameters(
    matrix: sp.csr_matrix,
    *,
    algorithms: list[str],
    budget_seconds: float | None = None,
    max_trials: int | None = None,
    k: int = 10,
    seed: int = 42,
    protocol: SplitProtocol = "user",
    ratio: float = 0.75,
    timestamps: sp.csr_matrix | None = None,
    on_trial: Callable[[dict[str, Any]], object] | None = None,
) -> SearchResult:
    """Best algorithm/params by validation nDCG@k within ``matrix`` (see module)."""
    started = time.perf_counter()
    if protocol == "time" and timestamps is None:
        raise ValueError("the time protocol needs a timestamps matrix")
    parts = split_with_timestamps(
        matrix, protocol=protocol, ratio=ratio, seed=seed, timestamps=timestamps
    )
    fit_part, validation, fit_times = parts.train, parts.test, parts.train_timestamps
    span_days = _span_days(fit_times)
    algorithms = [
        algorithm
        for algorithm in algorithms
        if not (algorithm == "ease" and matrix.shape[1] > EASE_MAX_ITEMS)
    ]
    if not algorithms:
        raise ValueError("no algorithm to search")
    tunable = [
        algorithm
        for algorithm in algorithms
        if algorithm != "popular" and not (algorithm == "recent" and not span_days)
    ]
    rng = np.random.default_rng(seed)
    trials: list[dict[str, Any]] = []

    def spent() -> bool:
        if len(trials) < len(algorithms):
            return False
        if max_trials is not None and len(trials) >= max_trials:
            return True
        if budget_seconds is not None:
            return time.perf_counter() - started >= budget_seconds
        return max_trials is None  # no budget at all: defaults only

    def next_candidate(number: int) -> tuple[str, dict[str, Any]]:
        if number < len(algorithms):
            algorithm = algorithms[number]
            return algorithm, dict(DEFAULT_PARAMS[algorithm])
        ranked = sorted(trials, key=lambda trial: -trial["ndcg"])
        best_by_algorithm: dict[str, float] = {}
        for trial in ranked:
            best_by_algorithm.setdefault(trial["algorithm"], trial["ndcg"])
        top = ranked[0]["ndcg"] if ranked else 0.0
        contenders = [
            algorithm
            for algorithm in tunable
            if best_by_algorithm.get(algorithm, 0.0) >= CONTENDER_SHARE * top
        ]
        # Warm-up: random draws of the algorithms whose defaults came within
        # WARMUP_SHARE of the best (a weak default may still tune well).
        warm = [
            algorithm
            for algorithm in tunable
            if best_by_algorithm.get(algorithm, 0.0) >= WARMUP_SHARE * top
        ]
        number -= len(algorithms)
        if number < RANDOM_DRAWS_PER_ALGORITHM * len(warm):
            algorithm = warm[number % len(warm)]
            return algorithm, sample_params(algorithm, rng, span_days=span_days)
        if rng.random() < REFINE_SHARE:
            refinable = [t for t in ranked if t["algorithm"] in tunable][:3]
            if refinable:
                base = refinable[int(rng.integers(len(refinable)))]
                params = perturb_params(
                    base["algorithm"], base["params"], rng, span_days=span_days
                )
                return base["algorithm"], params
        pool = contenders if contenders and rng.random() < 0.8 else tunable
        algorithm = pool[int(rng.integers(len(pool)))]
        return algorithm, sample_params(algorithm, rng, span_days=span_days)

    number = 0
    while not spent():
        if number >= len(algorithms) and not tunable:
            break
        algorithm, params = next_candidate(number)
        number += 1
        trial_started = time.perf_counter()
        model = train_model(
            fit_part,
            algorithm=algorithm,
            params=params,
            seed=seed,
            timestamps=fit_times,
        )
        ndcg = evaluate_model(model, fit_part, validation, k=k)["ndcg"]
        trial = {
            "algorithm": algorithm,
            "params": model.params,
            "ndcg": ndcg,
            "seconds": time.perf_counter() - trial_started,
        }
        trials.append(trial)
        if on_trial is not None:
            on_trial(trial)
    # max() keeps the first of equal scores, so defaults win ties.
    best = max(trials, key=lambda trial: trial["ndcg"])
    return SearchResult(
        best_algorithm=best["algorithm"],
        best_params=dict(best["params"]),
        trials=trials,
        validation={"protocol": protocol, "ratio": ratio, "seed": seed, "k": k},
    )
