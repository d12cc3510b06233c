"""Quality: nDCG@k and friends of every model on simulated readers (or a file).

Run from the repository root:

    .venv/bin/python bench/quality.py [--readers 5000] [--items 300]
        [--events 150000] [--seeds 1,2,3] [--search-budget 120]
        [--models als,bpr,itemknn,ease,popular,recent,auto]
    .venv/bin/python bench/quality.py --interactions u.data [--seeds 42]

It takes the same path as `manage.py evaluate` without the database: the
simulated events (recommend/engine/simulate.py) are weighted as training weighs
stored events, or the file is read as `evaluate --interactions` reads it; then
`evaluate_algorithms` splits once, trains each model on the train part ("auto"
searches algorithms and parameters on the train part only) and scores the test
part. For simulated data a "truth" row scores items by the simulator's own
probabilities (true preferences and popularity): a reference ceiling, not a
model. Each seed of --seeds draws a new simulation and a new split (for a
file, a new split); the table gives the mean ± standard deviation over seeds
and how many seeds "auto" beat every other model on. One JSON line last.
"""

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommend.engine.evaluate import (  # noqa: E402
    evaluate_algorithms,
    evaluate_model,
    split_interactions,
)
from recommend.engine.matrix import (  # noqa: E402
    EVENT_WEIGHTS_DEFAULT,
    build_matrix,
    interaction_timestamps,
)
from recommend.engine.simulate import SimulatedReaders, simulate_readers  # noqa: E402
from recommend.engine.train import TrainedModel  # noqa: E402
from recommend.events.files import (  # noqa: E402
    interaction_file_matrix,
    interaction_file_read,
)

# The simulator's default, needed to rebuild its probabilities for "truth".
POPULARITY_EXPONENT = 0.8
NOISE_SHARE = 0.05


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=5_000)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--split", default="user")
    parser.add_argument("--ratio", type=float, default=0.75)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--models", default="als,bpr,itemknn,ease,popular,recent,auto")
    parser.add_argument("--search-budget", type=float, default=120.0)
    parser.add_argument("--interactions", help="a rating file instead of simulation")
    parser.add_argument("--min-rating", type=float)
    parser.add_argument("--weighting", default="binary")
    return parser.parse_args()


def _item_topics(items: int, topics: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed + 1)
    return [
        rng.choice(topics, size=int(rng.integers(1, 3)), replace=False).tolist()
        for _ in range(items)
    ]


def _truth_model(
    simulated: SimulatedReaders, reader_ids: np.ndarray, item_ids: np.ndarray
) -> TrainedModel:
    """Scores p(item | reader) of the simulator, as a two-part factor model.

    p(i | r) = (1 - noise) * a_i (pref_r . T_i) / Z_r + noise * a_i / sum(a),
    with a = popularity ** exponent and Z_r = sum_t pref_rt sum_i a_i T_it.
    """
    attraction = simulated.item_popularity**POPULARITY_EXPONENT
    topic_weights = simulated.item_topic_weights.toarray()
    topic_mass = attraction @ topic_weights
    preferences = simulated.preferences[reader_ids]
    normaliser = preferences @ topic_mass
    user_factors = np.hstack(
        [
            (1 - NOISE_SHARE) * preferences / normaliser[:, None],
            np.full((len(reader_ids), 1), NOISE_SHARE / attraction.sum()),
        ]
    )
    item_factors = np.hstack(
        [attraction[:, None] * topic_weights, attraction[:, None]]
    )[item_ids]
    return TrainedModel(
        algorithm="truth",
        params={},
        item_ids=item_ids,
        reader_ids=reader_ids,
        user_factors=user_factors.astype(np.float32),
        item_factors=item_factors.astype(np.float32),
    )


def _run(arguments: argparse.Namespace, seed: int) -> tuple[dict, list[dict]]:
    """One seed: data (simulated with this seed, or the file), split, results."""
    started = time.perf_counter()
    simulated = None
    if arguments.interactions:
        data = interaction_file_read(path=Path(arguments.interactions))
        built = interaction_file_matrix(
            data=data, min_rating=arguments.min_rating, weighting=arguments.weighting
        )
        matrix, timestamps = built.matrix, built.timestamps
        source = {"file": arguments.interactions, "bad_rows": len(data.bad_rows)}
    else:
        simulated = simulate_readers(
            _item_topics(arguments.items, arguments.topics, seed),
            n_topics=arguments.topics,
            n_readers=arguments.readers,
            n_events=arguments.events,
            seed=seed,
        )
        built_matrix = build_matrix(
            simulated.interactions, weights=EVENT_WEIGHTS_DEFAULT
        )
        matrix = built_matrix.matrix
        timestamps = interaction_timestamps(
            simulated.interactions, built_matrix.id_map, matrix
        )
        source = {
            "simulated": {
                "readers": arguments.readers,
                "items": arguments.items,
                "topics": arguments.topics,
                "events": arguments.events,
            }
        }
    print(
        f"seed {seed}: {matrix.shape[0]} readers x {matrix.shape[1]} items, "
        f"{matrix.nnz} interactions (prepared in {time.perf_counter() - started:.1f}"
        f" s); split {arguments.split} {arguments.ratio}, k={arguments.k}",
        flush=True,
    )
    models = [name.strip() for name in arguments.models.split(",") if name.strip()]
    results = evaluate_algorithms(
        matrix,
        algorithms=models,
        protocol=arguments.split,
        ratio=arguments.ratio,
        seed=seed,
        k=arguments.k,
        search_budget=arguments.search_budget,
        timestamps=timestamps,
    )
    if simulated is not None:
        train, test = split_interactions(
            matrix,
            protocol=arguments.split,
            ratio=arguments.ratio,
            seed=seed,
            timestamps=timestamps,
        )
        truth = _truth_model(
            simulated, built_matrix.id_map.reader_ids, built_matrix.id_map.item_ids
        )
        metrics = evaluate_model(truth, train, test, k=arguments.k)
        results.append(
            {
                "model": "truth",
                **{name: metrics[name] for name in results[0] if name in metrics},
                "train_seconds": 0.0,
                "params": {},
            }
        )
    for result in results:
        print(
            f"  {result['model']:8} ndcg {result['ndcg']:.4f}  "
            f"{result['train_seconds']:7.2f} s  {json.dumps(result['params'])}",
            flush=True,
        )
    return source, results


def main() -> None:
    arguments = _arguments()
    started = time.perf_counter()
    seeds = [int(seed) for seed in arguments.seeds.split(",") if seed.strip()]
    runs = []
    source: dict = {}
    for seed in seeds:
        source, results = _run(arguments, seed)
        runs.append(results)
    names = [result["model"] for result in runs[0]]
    metrics = ("precision", "recall", "map", "ndcg", "coverage", "train_seconds")
    table = []
    for position, name in enumerate(names):
        values = {metric: [run[position][metric] for run in runs] for metric in metrics}
        table.append(
            {
                "model": name,
                **{
                    metric: round(statistics.fmean(values[metric]), 4)
                    for metric in metrics
                },
                "spread": {
                    metric: round(
                        statistics.stdev(values[metric]) if len(seeds) > 1 else 0.0,
                        4,
                    )
                    for metric in metrics
                },
                "per_seed_ndcg": [round(value, 4) for value in values["ndcg"]],
            }
        )
    auto_wins = None
    if "auto" in names:
        others = [name for name in names if name not in ("auto", "truth")]
        auto = names.index("auto")
        auto_wins = sum(
            all(run[auto]["ndcg"] > run[names.index(other)]["ndcg"] for other in others)
            for run in runs
        )
    print(f"mean ± standard deviation over seeds {seeds}:")
    print(
        f"{'model':8} {'prec@k':>15} {'recall':>15} {'map':>15} {'ndcg':>15} "
        f"{'train s':>9}"
    )
    for row in table:
        cells = [
            f"{row[metric]:.4f}±{row['spread'][metric]:.4f}"
            for metric in ("precision", "recall", "map", "ndcg")
        ]
        print(
            f"{row['model']:8} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15} "
            f"{cells[3]:>15} {row['train_seconds']:9.1f}"
        )
    if auto_wins is not None:
        print(f"auto beats every other model on {auto_wins} of {len(seeds)} seeds")
    print(
        json.dumps(
            {
                "bench": "quality",
                "source": source,
                "seeds": seeds,
                "split": arguments.split,
                "ratio": arguments.ratio,
                "k": arguments.k,
                "search_budget": arguments.search_budget,
                "machine": platform.machine(),
                "results": table,
                "auto_beats_all_seeds": auto_wins,
                "params": [
                    {result["model"]: result["params"] for result in run}
                    for run in runs
                ],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
