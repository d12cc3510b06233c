"""Audience routing: new articles written for an audience reach it at once.

An approved article whose provenance names an audience (a brief targeted it)
is lifted near the top of that audience's members' feeds while the model cannot
place it yet: it is newer than the active model and has had fewer than
RECOMMEND_AUDIENCE_PRIOR_INTERACTIONS events. The lift fades linearly with
those events, so that the model's own score takes over as evidence comes in.

The targets and the members of targeted audiences are read once per serving
state and again every RECOMMEND_ROUTING_CACHE_SECONDS (event counts move); a
request costs two binary searches and, only for a member, a few array ops.
"""

import datetime
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Count

from cms.models import ArticlePage
from recommend.models import Audience, Event, ReaderAudience
from recommend.serving.state import ServingState

PRIOR_INTERACTIONS_DEFAULT = 50
# The lifted article takes the score of the reader's n-th best item.
PRIOR_RANK_DEFAULT = 3
# Articles first published up to this long before the model's newest event are
# still looked at (an approval racing a training).
_PUBLISHED_SLACK_SECONDS = 86_400.0


@dataclass
class AudienceRouting:
    rows: np.ndarray  # catalogue rows of articles under an audience prior
    audience_ids: np.ndarray  # the audience each row targets
    interactions: np.ndarray  # events each row has had
    member_readers: np.ndarray  # reader pks, sorted (one entry per membership)
    member_audiences: np.ndarray  # the audience of each membership


_EMPTY = np.empty(0, dtype=np.int64)
_cache: dict[str, object] = {"state": None, "at": 0.0, "routing": None}
_lock = threading.Lock()


def _interaction_limit() -> int:
    return int(
        getattr(
            settings,
            "RECOMMEND_AUDIENCE_PRIOR_INTERACTIONS",
            PRIOR_INTERACTIONS_DEFAULT,
        )
    )


def audience_routing_build(state: ServingState) -> AudienceRouting:
    """Targeted live articles the model cannot place yet, and who they are for."""
    catalogue = state.catalogue
    empty = AudienceRouting(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)
    if len(catalogue) == 0:
        return empty
    targeted = ArticlePage.objects.filter(live=True, ai_provenance__has_key="audience")
    if state.model is not None:
        since = state.trained_until - _PUBLISHED_SLACK_SECONDS
        targeted = targeted.filter(
            first_published_at__gte=datetime.datetime.fromtimestamp(
                max(since, 0.0), tz=datetime.UTC
            )
        )
    pairs = [
        (pk, key)
        for pk, key in targeted.values_list("pk", "ai_provenance__audience")
        if isinstance(key, str) and key
    ]
    if not pairs:
        return empty
    audience_of_key = dict(
        Audience.objects.filter(
            active=True, key__in={key for _, key in pairs}
        ).values_list("key", "pk")
    )
    pairs = [(pk, audience_of_key[key]) for pk, key in pairs if key in audience_of_key]
    page_ids = np.array([pk for pk, _ in pairs], dtype=np.int64)
    audience_ids = np.array([audience for _, audience in pairs], dtype=np.int64)
    rows = catalogue.positions(page_ids)
    keep = rows >= 0
    if state.model_columns is not None:
        unknown = np.zeros(len(rows), dtype=bool)
        unknown[keep] = state.model_columns[rows[keep]] < 0
        newer = np.zeros(len(rows), dtype=bool)
        newer[keep] = catalogue.published[rows[keep]] > state.trained_until
        keep &= unknown | newer
    if not keep.any():
        return empty
    rows, page_ids, audience_ids = rows[keep], page_ids[keep], audience_ids[keep]
    counts = dict(
        Event.objects.filter(page_id__in=page_ids.tolist())
        .values("page_id")
        .annotate(events=Count("id"))
        .values_list("page_id", "events")
    )
    interactions = np.array(
        [counts.get(int(page), 0) for page in page_ids], dtype=np.int64
    )
    memberships = np.array(
        list(
            ReaderAudience.objects.filter(
                audience_id__in=np.unique(audience_ids).tolist()
            ).values_list("reader_id", "audience_id")
        )
        or np.empty((0, 2)),
        dtype=np.int64,
    ).reshape(-1, 2)
    order = np.argsort(memberships[:, 0], kind="stable")
    return AudienceRouting(
        rows=rows,
        audience_ids=audience_ids,
        interactions=interactions,
        member_readers=memberships[order, 0],
        member_audiences=memberships[order, 1],
    )


def audience_routing(state: ServingState) -> AudienceRouting:
    """The routing of this serving state, rebuilt when stale."""
    ttl = settings.RECOMMEND_ROUTING_CACHE_SECONDS
    routing = _cache["routing"]
    if (
        _cache["state"] is state
        and routing is not None
        and time.monotonic() - float(_cache["at"]) < ttl
    ):
        return routing  # type: ignore[return-value]
    with _lock:
        routing = audience_routing_build(state)
        _cache.update(state=state, at=time.monotonic(), routing=routing)
    return routing


def audience_routing_reset() -> None:
    _cache.update(state=None, at=0.0, routing=None)


def audience_prior_rows(
    state: ServingState, reader_pk: int | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """(catalogue rows, lift strength in (0, 1]) of this reader's audiences' new
    articles; None when nothing applies (the common case, at one check's cost)."""
    if reader_pk is None:
        return None
    routing = audience_routing(state)
    if len(routing.rows) == 0:
        return None
    start = np.searchsorted(routing.member_readers, reader_pk, side="left")
    stop = np.searchsorted(routing.member_readers, reader_pk, side="right")
    if start == stop:
        return None
    limit = _interaction_limit()
    mine = np.isin(routing.audience_ids, routing.member_audiences[start:stop])
    mine &= routing.interactions < limit
    if not mine.any():
        return None
    return routing.rows[mine], 1.0 - routing.interactions[mine] / float(limit)


def audience_prior_lift(
    scores: np.ndarray, rows: np.ndarray, strength: np.ndarray
) -> np.ndarray:
    """Lift of each of ``rows`` towards the n-th best of ``scores`` (finite ones)."""
    finite = scores[np.isfinite(scores)]
    if len(finite) == 0:
        return np.zeros(len(rows), dtype=np.float32)
    rank = min(
        int(getattr(settings, "RECOMMEND_AUDIENCE_PRIOR_RANK", PRIOR_RANK_DEFAULT)),
        len(finite),
    )
    anchor = float(np.partition(finite, len(finite) - rank)[len(finite) - rank])
    current = scores[rows].astype(np.float64)
    return np.maximum(strength * (anchor - current), 0.0).astype(np.float32)


def audience_prior_scores(
    state: ServingState, reader_pk: int | None, scores: np.ndarray
) -> np.ndarray | None:
    """What to add to ``scores`` (every live item) for this reader's audiences'
    new articles; None when nothing applies."""
    routed = audience_prior_rows(state, reader_pk)
    if routed is None or not np.isfinite(scores).any():
        return None
    rows, strength = routed
    lift = np.zeros(len(scores), dtype=np.float32)
    lift[rows] = audience_prior_lift(scores, rows, strength)
    return lift
