"""manage.py evaluate: offline ranking metrics of the recommenders (writes nothing)."""

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cms.selectors import article_live_list
from recommend.engine.evaluate import (
    METRIC_NAMES,
    evaluable_readers,
    evaluate_algorithms,
    split_interactions,
)
from recommend.engine.matrix import build_matrix, interaction_timestamps
from recommend.engine.train import ALGORITHMS
from recommend.events.files import (
    InteractionFileError,
    interaction_file_matrix,
    interaction_file_read,
)
from recommend.selectors import event_interaction_arrays

SPLITS = ("random", "user", "item", "time")
DEFAULT_SEARCH_SECONDS = 120.0
MODEL_CHOICES = (*ALGORITHMS, "auto")


@dataclass
class EvaluationData:
    matrix: sp.csr_matrix  # readers x items
    timestamps: sp.csr_matrix | None  # for the time split
    source: str


def _database_data(*, half_life: float | None, need_times: bool) -> EvaluationData:
    """The stored events as training would see them, over the live articles.

    Weights come from RECOMMEND_EVENT_WEIGHTS; no time decay unless asked for,
    so that the figures do not drift with the day the command runs.
    """
    interactions = event_interaction_arrays()
    built = build_matrix(
        interactions,
        weights=settings.RECOMMEND_EVENT_WEIGHTS,
        half_life_days=half_life,
        read_full_seconds=settings.RECOMMEND_READ_FULL_SECONDS,
        # Read fresh, not from the per-process cache: this runs once, offline.
        item_ids=np.array(
            sorted(article_live_list().values_list("pk", flat=True)), dtype=np.int64
        ),
    )
    timestamps = None
    if need_times and built.matrix.nnz:
        timestamps = interaction_timestamps(interactions, built.id_map, built.matrix)
    return EvaluationData(
        matrix=built.matrix, timestamps=timestamps, source="the stored events"
    )


def _file_data(
    *, path: str, min_rating: float | None, weighting: str
) -> EvaluationData:
    """An outside file read straight into a matrix: no database row is written."""
    try:
        data = interaction_file_read(path=Path(path))
    except InteractionFileError as exc:
        raise CommandError(str(exc)) from exc
    if data.bad_rows:
        line, reason = data.bad_rows[0]
        raise CommandError(
            f"{path}: {len(data.bad_rows)} bad rows, the first at line {line}: {reason}"
        )
    try:
        built = interaction_file_matrix(
            data=data, min_rating=min_rating, weighting=weighting
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    return EvaluationData(matrix=built.matrix, timestamps=built.timestamps, source=path)


def _models(text: str) -> list[str]:
    models = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in models if name not in MODEL_CHOICES]
    if not models or unknown:
        raise CommandError(
            f"--models takes a comma-separated list of {', '.join(MODEL_CHOICES)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return models


def _seeds(text: str | None, seed: int) -> list[int]:
    if not text:
        return [seed]
    message = "--seeds takes comma-separated integers, e.g. 1,2,3"
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(message) from exc
    if not seeds:
        raise CommandError(message)
    return seeds


class Command(BaseCommand):
    help = (
        "Split the interactions into train and test, train each model on the "
        "train part and report precision, recall, MAP and nDCG at k and the "
        "catalogue coverage on the test part. Uses the stored events, or an "
        "outside rating file with --interactions (then nothing is written). "
        "'auto' searches algorithms and parameters on a validation split carved "
        "from the train part only (same --split and --ratio). MovieLens-100k "
        "under the Microsoft Recommenders protocol (per-user random 75/25, seed "
        "42, k 10, every rating a positive): evaluate --interactions u.data "
        "--split user --ratio 0.75 --seed 42 --k 10 --models auto,popular --json. "
        "A news log, time split: --split time --ratio 0.75 --models auto,recent. "
        "--seeds 1,2,3 repeats the split (and search) per seed and reports the "
        "mean and standard deviation per model."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interactions",
            metavar="FILE",
            help="Evaluate on this CSV/TSV file ('user, item, value[, timestamp]') "
            "instead of the database.",
        )
        parser.add_argument("--split", choices=SPLITS, default="user")
        parser.add_argument(
            "--ratio", type=float, default=0.75, help="Train share (default 0.75)."
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--seeds",
            metavar="LIST",
            help="Comma-separated seeds (e.g. 1,2,3): one split and search per "
            "seed; the table and the JSON give mean and standard deviation.",
        )
        parser.add_argument("--k", type=int, default=10, help="List length (10).")
        parser.add_argument(
            "--models",
            default="als,bpr,itemknn,popular",
            help=f"Comma-separated: {', '.join(ALGORITHMS)}, and auto (search "
            "the algorithms and parameters on the train part, then evaluate the "
            "best). Default: als,bpr,itemknn,popular.",
        )
        parser.add_argument(
            "--search-budget",
            type=float,
            default=DEFAULT_SEARCH_SECONDS,
            metavar="SECONDS",
            help="Time the auto search may take per seed (default "
            f"{DEFAULT_SEARCH_SECONDS:g}; a trial is never cut short).",
        )
        parser.add_argument(
            "--search-trials",
            type=int,
            metavar="N",
            help="Also stop the auto search after N trials (default: time only).",
        )
        parser.add_argument(
            "--min-rating",
            type=float,
            metavar="R",
            help="File only: keep rows with value >= R as positives, drop others.",
        )
        parser.add_argument(
            "--weighting",
            choices=("binary", "value"),
            default="binary",
            help="File only: every pair weighs 1 (binary, default) or its value.",
        )
        parser.add_argument(
            "--half-life",
            type=float,
            metavar="DAYS",
            help="Database only: decay event weights with this half-life "
            "(default: no decay).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="One JSON object per model and line on stdout.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def handle(self, *args, **options):
        models = _models(options["models"])
        self._check_options(options)
        protocol, ratio, seed, k = (
            options["split"],
            options["ratio"],
            options["seed"],
            options["k"],
        )
        if options["interactions"]:
            data = _file_data(
                path=options["interactions"],
                min_rating=options["min_rating"],
                weighting=options["weighting"],
            )
        else:
            # Timestamps also feed recency popularity and the time decay of
            # the auto search, whatever the split.
            data = _database_data(half_life=options["half_life"], need_times=True)
        if data.matrix.nnz == 0:
            raise CommandError(f"no interactions to evaluate in {data.source}")
        if protocol == "time" and data.timestamps is None:
            raise CommandError("--split time needs a timestamp on every row")

        # The same seeded split evaluate_algorithms makes, to count who is scored.
        train, test = split_interactions(
            data.matrix,
            protocol=protocol,
            ratio=ratio,
            seed=seed,
            timestamps=data.timestamps,
        )
        users = len(evaluable_readers(train, test))
        if users == 0:
            raise CommandError(
                "no reader has interactions in both the train and the test part; "
                "try another --split or --ratio"
            )
        n_readers, n_items = data.matrix.shape
        summary = (
            f"Evaluating on {data.source}: {users} of {n_readers} readers scored, "
            f"{n_items} items, {data.matrix.nnz} interactions; split {protocol} "
            f"{ratio:g}, seed {seed}, k={k}."
        )
        # With --json, stdout carries only the JSON lines.
        (self.stderr if options["json"] else self.stdout).write(summary)

        quiet = options["no_progress"] or options["verbosity"] == 0
        seeds = _seeds(options["seeds"], seed)
        runs: dict[str, list[dict]] = {model: [] for model in models}
        steps = [(run_seed, model) for run_seed in seeds for model in models]
        for run_seed, model in tqdm(steps, desc="Models", unit="model", disable=quiet):
            (result,) = evaluate_algorithms(
                data.matrix,
                algorithms=[model],
                protocol=protocol,
                ratio=ratio,
                seed=run_seed,
                k=k,
                search_budget=options["search_budget"],
                search_trials=options["search_trials"],
                timestamps=data.timestamps,
            )
            runs[model].append(result)
            if options["json"] and len(seeds) == 1:
                self.stdout.write(json.dumps(result, sort_keys=False))
        results = [runs[model][0] for model in models]
        if len(seeds) > 1:
            results = [_summary(runs[model], seeds) for model in models]
            if options["json"]:
                for result in results:
                    self.stdout.write(json.dumps(result, sort_keys=False))
        if not options["json"]:
            self._table(results, k=k)

    def _check_options(self, options: dict) -> None:
        if not 0.0 < options["ratio"] < 1.0:
            raise CommandError("--ratio must be between 0 and 1 (exclusive)")
        if options["k"] < 1:
            raise CommandError("--k must be at least 1")
        if options["search_budget"] <= 0:
            raise CommandError("--search-budget must be positive")
        if options["search_trials"] is not None and options["search_trials"] < 1:
            raise CommandError("--search-trials must be at least 1")
        from_file = bool(options["interactions"])
        if not from_file and options["min_rating"] is not None:
            raise CommandError("--min-rating applies to --interactions files only")
        if not from_file and options["weighting"] != "binary":
            raise CommandError("--weighting applies to --interactions files only")
        if from_file and options["half_life"] is not None:
            raise CommandError("--half-life applies to the database only")
        if options["half_life"] is not None and options["half_life"] <= 0:
            raise CommandError("--half-life must be positive")

    def _table(self, results: list[dict], *, k: int) -> None:
        headers = ["model", *(f"{name}@{k}" for name in METRIC_NAMES[:4])]
        headers += ["coverage", "train s", "params"]
        rows = [
            [
                result["model"],
                *(_figure(result, name) for name in METRIC_NAMES),
                f"{result['train_seconds']:.2f}",
                json.dumps(result["params"], sort_keys=True),
            ]
            for result in results
        ]
        widths = [
            max(len(str(row[column])) for row in [headers, *rows])
            for column in range(len(headers) - 1)
        ]
        for row in [headers, *rows]:
            cells = [
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)
            ]
            self.stdout.write("  ".join([*cells, str(row[-1])]).rstrip())


def _figure(result: dict, name: str) -> str:
    spread = result.get("spread")
    if spread is None:
        return f"{result[name]:.4f}"
    return f"{result[name]:.4f}±{spread[name]:.4f}"


def _summary(runs: list[dict], seeds: list[int]) -> dict:
    """Mean per metric over the seeds, their standard deviation as the spread."""

    def spread(values: list[float]) -> float:
        return statistics.stdev(values) if len(values) > 1 else 0.0

    names = [*METRIC_NAMES, "train_seconds"]
    return {
        "model": runs[0]["model"],
        **{name: statistics.fmean(run[name] for run in runs) for name in names},
        "spread": {name: spread([run[name] for run in runs]) for name in names},
        "seeds": seeds,
        "params": [run["params"] for run in runs],
    }
