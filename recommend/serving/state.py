"""Per-process serving state: the active model aligned to the live catalogue.

Each web process holds one `ServingState` (catalogue + model + item factors for
every live item, new ones included). It is rebuilt only when a shared version
stamp moves (a publish, an unpublish, a promotion) and is swapped in atomically:
requests read whichever state object they picked up, training never blocks them.
The stamps are looked at most every RECOMMEND_STAMP_CHECK_SECONDS, so a request
normally costs no cache or database round trip for the model.
"""

import dataclasses
import gc
import logging
import threading
import time
from dataclasses import dataclass, fields

import numpy as np
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from threadpoolctl import threadpool_limits

from cms.selectors import live_content_version
from recommend.engine.coldstart import content_item_factors, item_gram
from recommend.engine.rerank import freshness_boost
from recommend.engine.train import TrainedModel
from recommend.models import ModelVersion
from recommend.selectors import MODEL_ARTIFACT_PROBLEM_KEY, MODEL_VERSION_STAMP_KEY
from recommend.serving.catalogue import Catalogue, catalogue_build, catalogue_update

logger = logging.getLogger(__name__)

FRESHNESS_REFRESH_SECONDS = 60.0


@dataclass
class ServingState:
    live_version: object
    model_stamp: object
    catalogue: Catalogue
    model_version_id: int | None = None
    model: TrainedModel | None = None
    trained_until: float = 0.0  # unix seconds of the newest event trained on
    # Row-aligned with the catalogue:
    model_columns: np.ndarray | None = None  # model column per item, -1 if new
    item_factors: np.ndarray | None = None  # als/bpr factors incl. new items
    item_norms: np.ndarray | None = None
    gram: np.ndarray | None = None
    reader_ids: np.ndarray | None = None  # sorted Reader pks known to the model
    # The model's popularity blend (0: none): the recency popularity of each
    # item (0 for items newer than the model) and its peak over the model's items.
    blend: float = 0.0
    blend_popularity: np.ndarray | None = None
    blend_peak: float = 0.0
    # Freshness bonus per item, recomputed at most every FRESHNESS_REFRESH_SECONDS:
    # ages move by days, so per-request recomputation would be wasted work.
    freshness: np.ndarray | None = None
    freshness_at: float = 0.0

    def freshness_scores(self) -> np.ndarray:
        now = time.time()
        if (
            self.freshness is None
            or now - self.freshness_at > FRESHNESS_REFRESH_SECONDS
        ):
            self.freshness = freshness_boost(
                published=self.catalogue.published,
                now=now,
                half_life_days=settings.RECOMMEND_FRESHNESS_HALF_LIFE_DAYS,
                weight=settings.RECOMMEND_FRESHNESS_WEIGHT,
            )
            self.freshness_at = now
        return self.freshness

    @property
    def factor_based(self) -> bool:
        return self.item_factors is not None

    def reader_row(self, reader_pk: int | None) -> int:
        if reader_pk is None or self.reader_ids is None or len(self.reader_ids) == 0:
            return -1
        row = int(np.searchsorted(self.reader_ids, reader_pk))
        if row < len(self.reader_ids) and self.reader_ids[row] == reader_pk:
            return row
        return -1


def model_stamp() -> object:
    return caches["shared"].get(MODEL_VERSION_STAMP_KEY)


def _load_active_model() -> tuple[ModelVersion | None, TrainedModel | None]:
    version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if version is None or not version.artifact:
        return version, None
    try:
        with version.artifact.open("rb") as artifact:
            model = TrainedModel.load(artifact)
    except Exception as exc:
        # A missing or corrupt artifact must not take feeds down: serve trending,
        # and tell editors (the admin reads this) rather than only the logs.
        logger.exception("Cannot load model version %s; serving trending", version.pk)
        caches["shared"].set(
            MODEL_ARTIFACT_PROBLEM_KEY,
            {"version": version.pk, "error": f"{type(exc).__name__}: {exc}"[:300]},
            timeout=None,
        )
        return version, None
    caches["shared"].delete(MODEL_ARTIFACT_PROBLEM_KEY)
    return version, model


def _align(state: ServingState, model: TrainedModel) -> None:
    catalogue = state.catalogue
    model_item_ids = np.asarray(model.item_ids, dtype=np.int64)
    order = np.argsort(model_item_ids)
    positions = np.searchsorted(model_item_ids[order], catalogue.item_ids)
    clipped = np.minimum(positions, max(len(model_item_ids) - 1, 0))
    found = (
        (model_item_ids[order][clipped] == catalogue.item_ids)
        if len(model_item_ids)
        else np.zeros(len(catalogue), dtype=bool)
    )
    state.model_columns = np.where(found, order[clipped], -1)
    state.reader_ids = np.asarray(model.reader_ids, dtype=np.int64)
    if model.blend > 0:
        assert model.blend_scores is not None
        popularity = np.zeros(len(catalogue), dtype=np.float32)
        popularity[found] = model.blend_scores[state.model_columns[found]]
        state.blend = model.blend
        state.blend_popularity = popularity
        state.blend_peak = float(np.max(model.blend_scores))
    if model.item_factors is None:
        return
    factors = np.zeros((len(catalogue), model.item_factors.shape[1]), dtype=np.float32)
    factors[found] = model.item_factors[state.model_columns[found]]
    new_rows = np.flatnonzero(~found)
    known_rows = np.flatnonzero(found)
    if len(new_rows):
        # Items published after training get a place from their content at once.
        text = catalogue.text_index.matrix
        factors[new_rows] = content_item_factors(
            new_features=text[new_rows],
            known_features=text[known_rows],
            known_factors=factors[known_rows],
        )
    state.item_factors = factors
    norms = np.linalg.norm(factors, axis=1)
    norms[norms == 0] = 1.0
    state.item_norms = norms
    state.gram = item_gram(model.item_factors)


def serving_state_build(*, live_version: object, stamp: object) -> ServingState:
    # Web processes score one reader at a time and already run one per core: a
    # threaded BLAS would only oversubscribe the machine.
    threadpool_limits(limits=1, user_api="blas")
    state = ServingState(
        live_version=live_version, model_stamp=stamp, catalogue=catalogue_build()
    )
    version, model = _load_active_model()
    if model is not None and version is not None:
        state.model_version_id = version.pk
        state.model = model
        end = version.data_window_end or version.created_at
        state.trained_until = end.timestamp()
        _align(state, model)
    return state


# Row-aligned arrays an update knows how to carry over and extend; a state with
# any other row-aligned array is rebuilt in full (never served misaligned).
_UPDATED_ROWS = ("model_columns", "item_factors", "item_norms", "blend_popularity")


def serving_state_update(
    state: ServingState, *, live_version: object
) -> ServingState | None:
    """The state for a changed live catalogue, updated in place of a rebuild.

    Rows of articles that left are dropped and rows of new, republished or
    moved articles are added (recommend/serving/catalogue.py); the model's
    arrays keep the rows that stayed and place only the added items (the
    model's own factors, or content factors folded from their nearest trained
    items, as a full build would). None when a full build is due.
    """
    old_rows = len(state.catalogue)
    for spec in fields(state):
        value = getattr(state, spec.name)
        if (
            isinstance(value, np.ndarray)
            and len(value) == old_rows
            and spec.name not in (*_UPDATED_ROWS, "freshness", "gram", "reader_ids")
        ):
            return None
    update = catalogue_update(state.catalogue)
    if update is None:
        return None
    catalogue = update.catalogue
    values = {}
    model = state.model
    if model is not None and state.model_columns is not None:
        added = update.added
        model_item_ids = np.asarray(model.item_ids, dtype=np.int64)
        by_id = np.argsort(model_item_ids)
        found_at = np.searchsorted(model_item_ids[by_id], added.item_ids)
        clipped = np.minimum(found_at, max(len(model_item_ids) - 1, 0))
        found = (
            model_item_ids[by_id][clipped] == added.item_ids
            if len(model_item_ids)
            else np.zeros(len(added), dtype=bool)
        )
        columns = np.where(found, by_id[clipped], -1)
        values["model_columns"] = np.concatenate(
            [state.model_columns[update.kept], columns]
        )[update.order]
        if state.blend_popularity is not None:
            # As _align: the model's recency popularity, 0 for items it never saw.
            assert model.blend_scores is not None
            popularity = np.zeros(len(added), dtype=np.float32)
            popularity[found] = model.blend_scores[columns[found]]
            values["blend_popularity"] = np.concatenate(
                [state.blend_popularity[update.kept], popularity]
            )[update.order]
        if state.item_factors is not None:
            factors = np.zeros(
                (len(added), state.item_factors.shape[1]), dtype=np.float32
            )
            factors[found] = model.item_factors[columns[found]]
            if (~found).any():
                trained = update.kept[state.model_columns[update.kept] >= 0]
                factors[~found] = content_item_factors(
                    new_features=added.text_index.matrix[np.flatnonzero(~found)],
                    known_features=state.catalogue.text_index.matrix[trained],
                    known_factors=state.item_factors[trained],
                )
            norms = np.linalg.norm(factors, axis=1)
            norms[norms == 0] = 1.0
            values["item_factors"] = np.concatenate(
                [state.item_factors[update.kept], factors]
            )[update.order]
            values["item_norms"] = np.concatenate(
                [state.item_norms[update.kept], norms]
            )[update.order]
    return dataclasses.replace(
        state,
        live_version=live_version,
        catalogue=catalogue,
        freshness=None,
        freshness_at=0.0,
        **values,
    )


class _Holder:
    """One state per process; replaced under a lock, read without one.

    When the stamps move, the process keeps serving its current state while the
    next one is made (updated in place after a publish, built after a
    promotion) in a background thread, so no request waits for it: a change is
    served within the stamp check plus that time. The first state of a process,
    and every state with RECOMMEND_STATE_REFRESH_IN_BACKGROUND off (tests), is
    made in the request that needs it.
    """

    def __init__(self) -> None:
        self.state: ServingState | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()
        self.refreshing = False

    def current(self) -> ServingState:
        state = self.state
        interval = settings.RECOMMEND_STAMP_CHECK_SECONDS
        if state is not None and time.monotonic() - self.checked_at < interval:
            return state
        live_version, stamp = live_content_version(), model_stamp()
        if (
            state is not None
            and state.live_version == live_version
            and state.model_stamp == stamp
        ):
            self.checked_at = time.monotonic()
            return state
        if state is not None and settings.RECOMMEND_STATE_REFRESH_IN_BACKGROUND:
            self.checked_at = time.monotonic()  # the thread's own check follows
            self._refresh_in_background()
            return state
        with self.lock:
            return self._refresh()

    def _refresh(self) -> ServingState:
        """Make the state of the current stamps (under the lock)."""
        live_version, stamp = live_content_version(), model_stamp()
        state = self.state
        if (
            state is None
            or state.live_version != live_version
            or state.model_stamp != stamp
        ):
            updated = None
            if (
                state is not None
                and state.model_stamp == stamp
                and settings.RECOMMEND_CATALOGUE_UPDATES
            ):
                # A publish or an unpublish: change the rows, keep the rest.
                updated = serving_state_update(state, live_version=live_version)
            if updated is not None:
                state = updated
                self.state = state
                gc.freeze()  # the few new objects join the frozen ones
            else:
                state = serving_state_build(live_version=live_version, stamp=stamp)
                self.state = state
                # The catalogue holds hundreds of thousands of long-lived
                # objects; left in the collector's generations, every full
                # collection walks them (measured: 24 ms instead of 9 ms
                # per feed at 50k items).
                gc.collect()
                gc.freeze()
        self.checked_at = time.monotonic()
        return state

    def _refresh_in_background(self) -> None:
        with self.lock:
            if self.refreshing:
                return
            self.refreshing = True

        def refresh() -> None:
            try:
                with self.lock:
                    self._refresh()
            except Exception:  # noqa: BLE001
                # The current state keeps serving; the next check tries again.
                logger.exception("Serving state refresh failed")
            finally:
                self.refreshing = False
                connections.close_all()  # this thread's own connections

        threading.Thread(target=refresh, name="serving-state", daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.state = None
            self.checked_at = 0.0


_holder = _Holder()


def serving_state() -> ServingState:
    return _holder.current()


def serving_state_reset() -> None:
    """Forget the state (tests; a process that must reload now)."""
    _holder.reset()
