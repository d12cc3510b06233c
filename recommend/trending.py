"""Trending: time-decayed popularity of live items, cached briefly per process."""

import datetime
import threading
import time

import numpy as np
from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from recommend.catalogue import Catalogue
from recommend.models import Event

_cache: dict[str, object] = {"at": 0.0, "scores": None, "catalogue": None}
_lock = threading.Lock()


def _trending_compute(catalogue: Catalogue) -> np.ndarray:
    now = timezone.now()
    since = now - datetime.timedelta(days=settings.RECOMMEND_TRENDING_DAYS)
    half_life = settings.RECOMMEND_TRENDING_HALF_LIFE_DAYS
    daily = (
        Event.objects.filter(occurred_at__gte=since)
        .exclude(type=Event.Type.DISMISS)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("page_id", "day")
        .annotate(events=Count("id"))
    )
    scores = np.zeros(len(catalogue), dtype=np.float64)
    today = now.date()
    page_ids, weights = [], []
    for page_id, day, events in daily:
        page_ids.append(page_id)
        weights.append(events * 0.5 ** ((today - day).days / half_life))
    if page_ids:
        rows = catalogue.positions(np.array(page_ids, dtype=np.int64))
        live = rows >= 0
        np.add.at(scores, rows[live], np.array(weights)[live])
    # Recency breaks ties (and orders everything when nobody has read anything).
    newest = catalogue.published.max() if len(catalogue) else 0.0
    age_days = (newest - catalogue.published) / 86_400.0
    scores += 1e-3 / (1.0 + np.maximum(age_days, 0.0))
    peak = scores.max() if len(scores) else 0.0
    return (scores / peak if peak > 0 else scores).astype(np.float32)


def trending_scores(catalogue: Catalogue) -> np.ndarray:
    """Scores in [0, 1] aligned with the catalogue; recomputed every minute."""
    ttl = settings.RECOMMEND_TRENDING_CACHE_SECONDS
    if (
        _cache["catalogue"] is catalogue
        and time.monotonic() - float(_cache["at"]) < ttl
    ):
        return _cache["scores"]  # type: ignore[return-value]
    with _lock:
        scores = _trending_compute(catalogue)
        _cache.update(at=time.monotonic(), scores=scores, catalogue=catalogue)
    return scores


def trending_reset() -> None:
    _cache.update(at=0.0, scores=None, catalogue=None)
