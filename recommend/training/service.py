"""Training: an event snapshot becomes an evaluated, stored and maybe promoted model.

One training run, not two. Retraining on all data after a holdout evaluation
would cost a second full fit, so the holdout is kept small instead:

* a sample of readers (``HOLDOUT_READERS``, chosen among readers with at least
  three interactions) each lend ``HOLDOUT_SHARE`` of their interactions
  (per-reader random split, the engine's "user" protocol) to a holdout; the
  candidate is trained once on everything else;
* the candidate, a popularity model fitted on the same train part, and the
  active model are scored on that holdout (nDCG@10 decides, the other
  metrics are recorded);
* the promoted model IS that candidate. For ALS the sampled readers' factors
  are then re-solved from their full rows (implicit's ``recalculate_user``,
  one least-squares solve each), so no reader loses data; the item side
  misses only the held-out pairs (about 1 % of the interactions at 100k
  readers). ``popular`` is simply recounted on all data; ``itemknn`` and
  ``bpr`` keep the train-part model (serving scores itemknn from the reader's
  full history anyway).

The active model is compared on data neither model was trained on. Its
stored artifact saw (most of) the holdout pairs, so scoring it would favour it
over every newcomer (a retraining on changed data never won). Instead:

* when the candidate has the active model's configuration (algorithm and
  parameters; the usual scheduled retraining), the candidate IS that
  configuration retrained on the same train part: they tie by construction,
  and the fresher one is promoted if it beats popularity (no second fit);
* otherwise the active configuration is retrained on the same train part and
  scored on the same holdout (one more fit, only when configurations differ).

Top-k lists for the evaluation come from implicit's multi-threaded top-k for
factor models (TrainedModel.recommend partitions a dense block per reader, ~5
times slower at 50k items); the metric formulas are the engine's
``ranking_metrics``. Events are read incrementally (recommend/events/
snapshot.py); after a promotion, audiences and content gaps are refreshed by
a background task (``audiences_refresh_task``) reading the snapshot this
training stored, so nothing but the fit waits on all the events.
docs/benchmarks.md ("Training") has the measured costs.
"""

import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.topk import topk
from threadpoolctl import threadpool_limits

from cms.webhooks.events import WebhookEvent
from cms.webhooks.services import webhook_event_emit
from recommend.engine.evaluate import METRIC_NAMES, ranking_metrics, split_interactions
from recommend.engine.matrix import (
    IdMap,
    build_matrix,
    interaction_timestamps,
)
from recommend.engine.recency import blend_with_popularity
from recommend.engine.search import search_hyperparameters
from recommend.engine.train import (
    ALGORITHMS,
    SEARCHABLE_ALGORITHMS,
    TrainedModel,
    needs_timestamps,
    params_unknown,
    train_model,
)
from recommend.events.snapshot import (
    EventSnapshot,
    event_snapshot_read,
    event_snapshot_write,
)
from recommend.models import Event, ModelVersion
from recommend.selectors import MODEL_VERSION_STAMP_KEY, model_version_active

logger = logging.getLogger(__name__)

TRAINING_STAGES: tuple[str, ...] = (
    "read events",
    "build matrix",
    "train",
    "evaluate",
    "save",
)
HOLDOUT_READERS = 1000
HOLDOUT_SHARE = 0.2
HOLDOUT_MIN_INTERACTIONS = 3  # so that a sampled reader keeps 2 and lends 1
EVALUATION_K = 10
SEED = 42
_ERROR_MAX_LENGTH = 2000

Progress = Callable[[str], object]


@dataclass
class _Holdout:
    train: sp.csr_matrix  # the whole matrix minus the held-out pairs
    rows: np.ndarray  # matrix rows of the sampled readers, sorted
    history: sp.csr_matrix  # their train interactions [len(rows), items]
    relevant: sp.csr_matrix  # their held-out interactions [len(rows), items]


class _Stages:
    """Reports each stage as it starts and records how long each one took."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self._name: str | None = None
        self._since = 0.0

    def start(self, name: str) -> None:
        self.stop()
        self._name, self._since = name, time.perf_counter()
        self.progress(name)

    def stop(self) -> None:
        if self._name is not None:
            elapsed = time.perf_counter() - self._since
            self.seconds[self._name] = round(elapsed, 3)
            self._name = None


def model_version_stamp_bump() -> str:
    """Move the shared model stamp so that every serving process reloads.

    A fresh random token, not a counter: an emptied or rolled-back cache can
    never bring back a value that some process still holds for an older model.
    """
    stamp = uuid.uuid4().hex
    caches["shared"].set(MODEL_VERSION_STAMP_KEY, stamp, timeout=None)
    return stamp


def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one active model, retiring the previous one."""
    # Two promotions racing both retire "the" active row and one then trips the
    # one-active constraint; the loser retries against the winner's row.
    for attempt in range(3):
        try:
            with transaction.atomic():
                ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(
                    pk=version.pk
                ).update(status=ModelVersion.Status.RETIRED)
                version.status = ModelVersion.Status.ACTIVE
                version.promoted_at = timezone.now()
                version.save(update_fields=["status", "promoted_at"])
                webhook_event_emit(
                    event=WebhookEvent.MODEL_PROMOTED,
                    data=_promoted_data(version=version),
                )
            break
        except IntegrityError:
            if attempt == 2:
                raise
    transaction.on_commit(model_version_stamp_bump)
    if settings.RECOMMEND_CANDIDATES_REBUILD_ON_PROMOTION:
        transaction.on_commit(
            lambda: async_task(
                "recommend.tasks.candidate_lists_rebuild_task",
                version.pk,
                task_name=f"candidate-lists-{version.pk}",
            )
        )
    return version


def _promoted_data(*, version: ModelVersion) -> dict:
    return {
        "model_version": version.pk,
        "algorithm": version.algorithm,
        "promoted_at": version.promoted_at.isoformat().replace("+00:00", "Z"),
        "events": version.events_count,
        "readers": version.readers_count,
        "items": version.items_count,
    }


def _validated(algorithm: str, params: dict[str, Any]) -> None:
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}"
        )
    unknown = params_unknown(algorithm, params)
    if unknown:
        raise ValueError(f"unknown {algorithm} parameters: {', '.join(unknown)}")


def model_version_train(
    *,
    algorithm: str | None = None,
    params: dict | None = None,
    force: bool = False,
    search_budget: float = 0,
    progress: Progress | None = None,
) -> ModelVersion:
    """Train on every event up to now, evaluate, store, and promote if better.

    ``algorithm`` defaults to RECOMMEND_DEFAULT_ALGORITHM; with a
    ``search_budget`` (seconds) and no algorithm, every searchable algorithm is
    tried (on the train part only). The candidate is promoted only when its
    holdout nDCG@10 beats both the active model and popularity, or ``force``.
    Any error marks the version failed (the active model stays) and is raised.
    """
    params = dict(params or {})
    if search_budget < 0:
        raise ValueError("the search budget cannot be negative")
    if search_budget > 0 and params:
        raise ValueError("give parameters or a search budget, not both")
    if algorithm is None and not search_budget:
        algorithm = settings.RECOMMEND_DEFAULT_ALGORITHM
    if algorithm is not None:
        _validated(algorithm, params)

    snapshot = timezone.now()
    version = ModelVersion.objects.create(
        algorithm=algorithm or "auto",
        parameters=params,
        status=ModelVersion.Status.TRAINING,
        data_window_end=snapshot,
    )
    started = time.perf_counter()
    try:
        _train(
            version=version,
            snapshot=snapshot,
            algorithm=algorithm,
            params=params,
            force=force,
            search_budget=search_budget,
            progress=progress or (lambda stage: None),
            started=started,
        )
    except Exception as exc:
        version.status = ModelVersion.Status.FAILED
        version.error = (f"{type(exc).__name__}: {exc}")[:_ERROR_MAX_LENGTH]
        version.training_seconds = time.perf_counter() - started
        version.save(update_fields=["status", "error", "training_seconds"])
        # Not logged here: the caller reports it (the command in one line, the
        # queue with its traceback), and the row keeps the error.
        raise
    return version


def model_version_train_if_idle(
    *, algorithm: str | None = None, stale_after_seconds: float
) -> ModelVersion | None:
    """Scheduled training: skipped while another one runs or when nothing happened.

    A row still "training" after ``stale_after_seconds`` belongs to a worker
    that was killed (the queue's timeout); it is marked failed so that it
    neither blocks training forever nor looks alive.
    """
    cutoff = timezone.now() - datetime.timedelta(seconds=stale_after_seconds)
    running = ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING)
    running.filter(created_at__lt=cutoff).update(
        status=ModelVersion.Status.FAILED,
        error=f"abandoned: still training after {stale_after_seconds:.0f} s",
    )
    if running.filter(created_at__gte=cutoff).exists():
        logger.info("Training skipped: another training is running")
        return None
    if not Event.objects.exists():
        logger.info("Training skipped: no events yet")
        return None
    return model_version_train(algorithm=algorithm)


def _train(
    *,
    version: ModelVersion,
    snapshot: datetime.datetime,
    algorithm: str | None,
    params: dict[str, Any],
    force: bool,
    search_budget: float,
    progress: Progress,
    started: float,
) -> None:
    stages = _Stages(progress)
    stage = stages.start

    stage("read events")
    events = event_snapshot_read()
    # Kept for the next training while this one fits (file I/O, off the GIL).
    snapshot_writer = threading.Thread(
        target=_snapshot_write_logged, args=(events,), daemon=True
    )
    snapshot_writer.start()
    interactions = events.interactions.until(snapshot.timestamp())
    if len(interactions) == 0:
        snapshot_writer.join()
        raise ValueError("no events to train on")

    stage("build matrix")
    built = build_matrix(
        interactions,
        weights=settings.RECOMMEND_EVENT_WEIGHTS,
        half_life_days=settings.RECOMMEND_HALF_LIFE_DAYS,
        now=snapshot.timestamp(),
        read_full_seconds=settings.RECOMMEND_READ_FULL_SECONDS,
    )
    matrix, id_map = built.matrix, built.id_map
    if matrix.nnz == 0:
        raise ValueError("no positive interactions to train on (only dismissals)")
    first_event = float(interactions.timestamps.min())
    events_count = len(interactions)
    active = model_version_active()
    timestamps = None
    if _timestamps_needed(
        algorithm=algorithm, params=params, search=search_budget > 0, active=active
    ):
        timestamps = interaction_timestamps(interactions, id_map, matrix)
    del built
    holdout = _holdout_split(matrix)
    train_times = _restricted(timestamps, holdout.train)

    stage("train")
    search_summary = None
    if search_budget > 0:
        search = search_hyperparameters(
            holdout.train,
            algorithms=[algorithm] if algorithm else list(SEARCHABLE_ALGORITHMS),
            budget_seconds=search_budget,
            k=EVALUATION_K,
            seed=SEED,
            timestamps=train_times,
        )
        algorithm, params = search.best_algorithm, search.best_params
        search_summary = {
            "budget_seconds": search_budget,
            "trials": len(search.trials),
            "best": {"algorithm": algorithm, "params": params},
        }
    assert algorithm is not None
    candidate = train_model(
        holdout.train,
        algorithm=algorithm,
        params=params,
        seed=SEED,
        id_map=id_map,
        timestamps=train_times,
    )

    stage("evaluate")
    # The evaluation scores the candidate as trained, before the fold-in.
    sampled_factors = (
        None if candidate.user_factors is None else candidate.user_factors[holdout.rows]
    )
    final = _fold_in(candidate, matrix=matrix, holdout=holdout, id_map=id_map)
    # Serialising the (uncompressed) artifact copies ~30 MB at scale; it runs
    # beside the evaluation instead of after it.
    with ThreadPoolExecutor(max_workers=1) as serializer:
        payload = serializer.submit(final.to_bytes)
        popular = train_model(holdout.train, algorithm="popular", id_map=id_map)
        popular_top = _top_columns(popular, holdout.history)
        metrics_popular = _metrics(popular_top, holdout)
        if algorithm == "popular":
            metrics_candidate = metrics_popular
        else:
            candidate_top = _top_columns(
                candidate, holdout.history, user_factors=sampled_factors
            )
            metrics_candidate = _metrics(candidate_top, holdout)
        metrics_active, active_basis = None, None
        if active is not None:
            if _same_configuration(active, candidate):
                metrics_active, active_basis = metrics_candidate, "same configuration"
            else:
                active_retrained = _active_retrained(
                    active, holdout=holdout, id_map=id_map, timestamps=train_times
                )
                if active_retrained is not None:
                    active_top = _top_columns(
                        active_retrained,
                        holdout.history,
                        user_factors=None
                        if active_retrained.user_factors is None
                        else active_retrained.user_factors[holdout.rows],
                    )
                    metrics_active = _metrics(active_top, holdout)
                    active_basis = "retrained on the train part"

        stage("save")
        artifact = ContentFile(payload.result())
        snapshot_writer.join()
    version.artifact.save(f"model-version-{version.pk}.npz", artifact, save=False)
    promote, reason = _promotion_decision(
        candidate=metrics_candidate,
        popular=metrics_popular,
        active=metrics_active,
        active_version=active,
        same_configuration=active_basis == "same configuration",
        force=force,
    )
    stages.stop()
    version.algorithm = algorithm
    version.parameters = final.params
    version.data_window_start = datetime.datetime.fromtimestamp(
        first_event, tz=datetime.UTC
    )
    version.events_count = events_count
    version.readers_count = matrix.shape[0]
    version.items_count = matrix.shape[1]
    version.metrics = {
        "k": EVALUATION_K,
        "protocol": {
            "split": "user",
            "holdout_readers": int(len(holdout.rows)),
            "holdout_share": HOLDOUT_SHARE,
            "holdout_interactions": int(holdout.relevant.nnz),
            "seed": SEED,
        },
        "candidate": metrics_candidate,
        "active": metrics_active,
        "active_version": active.pk if active is not None else None,
        "active_basis": active_basis,
        "popular": metrics_popular,
        "promoted": promote,
        "reason": reason,
        "seconds": stages.seconds,
        "event_read": {
            "incremental": not events.full_read,
            "events_read": events.new_events,
        },
        **({"search": search_summary} if search_summary else {}),
    }
    version.status = ModelVersion.Status.CANDIDATE
    version.training_seconds = time.perf_counter() - started
    # One transaction: nobody sees "candidate" for a model about to be
    # promoted (a watcher would take it for a model that lost).
    with transaction.atomic():
        version.save()
        if promote:
            model_version_promote(version=version)
            # Audiences and content gaps follow the promoted model in the
            # background, like the candidate lists: the promotion does not
            # wait for them, and they read the event snapshot this training
            # has just stored.
            transaction.on_commit(
                lambda: async_task(
                    "recommend.tasks.audiences_refresh_task",
                    version.pk,
                    task_name=f"audiences-{version.pk}",
                )
            )


def _holdout_split(matrix: sp.csr_matrix) -> _Holdout:
    """Hold out a share of the interactions of a sample of readers (see module)."""
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= HOLDOUT_MIN_INTERACTIONS)
    rng = np.random.default_rng(SEED)
    rows = np.sort(
        rng.choice(eligible, size=min(HOLDOUT_READERS, len(eligible)), replace=False)
    )
    history, relevant = split_interactions(
        matrix[rows], protocol="user", ratio=1.0 - HOLDOUT_SHARE, seed=SEED
    )
    # Placing the held-out rows back at their readers' rows and subtracting them
    # leaves exact zeros there (same float32 values), which are then dropped.
    placement = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))),
        shape=(matrix.shape[0], len(rows)),
    )
    train = sp.csr_matrix(matrix - placement @ relevant, dtype=np.float32)
    train.eliminate_zeros()
    train.sort_indices()
    return _Holdout(train=train, rows=rows, history=history, relevant=relevant)


def _top_columns(
    model: TrainedModel,
    history: sp.csr_matrix,
    *,
    user_factors: np.ndarray | None = None,
) -> np.ndarray:
    """Top-k columns (model space, -1 = none) for readers with this history.

    ``history`` rows are the readers, in the model's column space; factor
    models score ``user_factors`` (one row per history row).
    """
    k = min(EVALUATION_K, model.n_items)
    n_readers = history.shape[0]
    if n_readers == 0 or k == 0:
        return np.full((n_readers, EVALUATION_K), -1, dtype=np.int64)
    if model.item_factors is not None and user_factors is not None and model.blend:
        # A popularity blend needs the dense scores of each sampled reader.
        scores = blend_with_popularity(
            np.asarray(user_factors, np.float32) @ model.item_factors.T,
            model.blend_scores,
            weight=model.blend,
        )
        seen_rows = np.repeat(np.arange(n_readers), np.diff(history.indptr))
        scores[seen_rows, history.indices] = -np.inf
        columns = np.argsort(-scores, axis=1, kind="stable")[:, :k].astype(np.int64)
        columns[np.isneginf(np.take_along_axis(scores, columns, axis=1))] = -1
    elif model.item_factors is not None and user_factors is not None:
        with threadpool_limits(1, "blas"):
            columns, scores = topk(
                np.ascontiguousarray(model.item_factors, dtype=np.float32),
                np.ascontiguousarray(user_factors, dtype=np.float32),
                k,
                filter_query_items=history,
                num_threads=0,
            )
        columns = columns.astype(np.int64)
        # topk marks filtered (seen) items with the lowest float, not -inf.
        columns[scores <= np.finfo(np.float32).min] = -1
    elif model.item_scores is not None:
        columns = _top_of_global_ranking(model.item_scores, history, k)
    else:
        columns, _ = model.recommend(
            np.arange(n_readers), history, n=k, filter_seen=True
        )
    if columns.shape[1] < EVALUATION_K:
        padding = np.full((n_readers, EVALUATION_K - columns.shape[1]), -1)
        columns = np.hstack([columns, padding])
    return columns


def _top_of_global_ranking(
    scores: np.ndarray, history: sp.csr_matrix, k: int
) -> np.ndarray:
    """The first k unseen items of one ranking for every reader, without a dense
    readers x items block: only the top (k + most seen by anyone) can qualify."""
    n_readers, n_items = history.shape
    most_seen = int(np.diff(history.indptr).max()) if n_readers else 0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    head = order[: min(n_items, k + most_seen)]
    history_rows = np.repeat(np.arange(n_readers), np.diff(history.indptr))
    seen_keys = np.sort(history_rows.astype(np.int64) * n_items + history.indices)
    keys = np.arange(n_readers, dtype=np.int64)[:, None] * n_items + head[None, :]
    unseen = ~np.isin(keys, seen_keys)
    # A stable sort of "seen" flags puts each row's unseen items first, in order.
    picked = np.argsort(~unseen, axis=1, kind="stable")[:, :k]
    columns = np.broadcast_to(head, keys.shape)
    top = np.take_along_axis(columns, picked, axis=1).astype(np.int64)
    top[~np.take_along_axis(unseen, picked, axis=1)] = -1
    return top


def _metrics(top_columns: np.ndarray, holdout: _Holdout) -> dict[str, float]:
    """Engine ranking metrics @k over the sampled readers with held-out items."""
    metrics = ranking_metrics(
        top_columns,
        holdout.relevant,
        k=EVALUATION_K,
        n_items=holdout.history.shape[1],
    )
    rounded = {name: round(float(metrics[name]), 6) for name in METRIC_NAMES}
    return {**rounded, "users": int(len(holdout.rows))}


def _snapshot_write_logged(events: EventSnapshot) -> None:
    try:
        event_snapshot_write(events)
    except Exception:
        # A lost snapshot only makes the next read a full one.
        logger.exception("Could not store the event snapshot")


def _timestamps_needed(
    *,
    algorithm: str | None,
    params: dict[str, Any],
    search: bool,
    active: ModelVersion | None,
) -> bool:
    """Only decay, recency and searches need per-pair times (a sort of every
    event): a plain scheduled retraining skips them."""
    if search or (algorithm is not None and needs_timestamps(algorithm, params)):
        return True
    return (
        active is not None
        and active.algorithm in ALGORITHMS
        and needs_timestamps(active.algorithm, active.parameters or {})
    )


def _restricted(
    timestamps: sp.csr_matrix | None, part: sp.csr_matrix
) -> sp.csr_matrix | None:
    """The timestamps of the pairs stored in ``part`` (same structure)."""
    if timestamps is None:
        return None
    pattern = part.copy()
    pattern.data = np.ones_like(pattern.data)
    # Event times are positive (seconds since 1970), so no pair drops out.
    restricted = sp.csr_matrix(timestamps.multiply(pattern), dtype=np.float64)
    restricted.sort_indices()
    if not np.array_equal(restricted.indices, part.indices):
        return None
    return restricted


def _same_configuration(active: ModelVersion, candidate: TrainedModel) -> bool:
    return active.algorithm == candidate.algorithm and (
        active.parameters or {}
    ) == dict(candidate.params)


def _active_retrained(
    active: ModelVersion,
    *,
    holdout: _Holdout,
    id_map: IdMap,
    timestamps: sp.csr_matrix | None,
) -> TrainedModel | None:
    """The active configuration fitted on the candidate's train part."""
    parameters = active.parameters or {}
    if active.algorithm not in ALGORITHMS or params_unknown(
        active.algorithm, parameters
    ):
        logger.warning(
            "Active model version %s has a configuration this code cannot train",
            active.pk,
        )
        return None
    return train_model(
        holdout.train,
        algorithm=active.algorithm,
        params=parameters,
        seed=SEED,
        id_map=id_map,
        timestamps=timestamps,
    )


def _als_user_factors(model: TrainedModel, rows: sp.csr_matrix) -> np.ndarray:
    """ALS reader factors solved from these interaction rows (model columns)."""
    assert model.item_factors is not None
    # implicit checks the BLAS pool on construction: one thread, as in training.
    with threadpool_limits(1, "blas"):
        solver = AlternatingLeastSquares(
            factors=model.item_factors.shape[1],
            regularization=float(model.params["regularization"]),
            alpha=float(model.params["alpha"]),
            dtype=np.float32,
        )
        solver.item_factors = model.item_factors
        return solver.recalculate_user(np.arange(rows.shape[0]), rows)


def _fold_in(
    candidate: TrainedModel,
    *,
    matrix: sp.csr_matrix,
    holdout: _Holdout,
    id_map: IdMap,
) -> TrainedModel:
    """The candidate made whole again after the holdout (see the module docstring)."""
    if candidate.algorithm == "popular":
        return train_model(matrix, algorithm="popular", id_map=id_map)
    if candidate.algorithm == "als" and len(holdout.rows):
        assert candidate.user_factors is not None
        candidate.user_factors[holdout.rows] = _als_user_factors(
            candidate, matrix[holdout.rows]
        )
    return candidate


def _promotion_decision(
    *,
    candidate: dict[str, float],
    popular: dict[str, float],
    active: dict[str, float] | None,
    active_version: ModelVersion | None,
    same_configuration: bool = False,
    force: bool,
) -> tuple[bool, str]:
    """Whether to promote, and why, in words (the figures are in the metrics)."""
    if candidate["users"] == 0:
        verdict = "no reader has enough interactions to evaluate on"
        return force, f"forced: {verdict}" if force else verdict
    ndcg = candidate["ndcg"]
    baselines = {"popularity": popular["ndcg"] < ndcg}
    if active is not None and not same_configuration:
        baselines["the active model"] = active["ndcg"] < ndcg
    unbeaten = [name for name, won in baselines.items() if not won]
    if not unbeaten:
        reason = f"better than {' and '.join(baselines)}"
        if same_configuration:
            reason += " (the active configuration, retrained on newer data)"
        elif active is None and active_version is not None:
            reason += (
                f" (active #{active_version.pk} has a configuration that cannot "
                "be retrained)"
            )
        return True, reason
    verdict = f"does not beat {' and '.join(unbeaten)}"
    if force:
        return True, f"forced although it {verdict}"
    return False, f"not promoted: {verdict}"
