"""Audiences: reader segments computed after training, or defined by editors.

Cluster audiences come from k-means over readers' topic profiles (the share of
each reader's engagement that goes to each topic, square-rooted so that
Euclidean k-means compares distributions well). Topic space, not a model's
factor space, because factors of two trainings live in unrelated bases while a
topic profile means the same thing every time: a run starts from the previous
centroids and its clusters are matched to the previous audiences (Hungarian
assignment on centroid similarity and shared members), so that an audience's
key, name, introduction and statistics survive retraining.

Rule audiences ("readers who follow cycling or hiking") hold every reader whose
engagement share in the rule's topics reaches the rule's minimum.
"""

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from cms.models import ArticlePage, Topic
from cms.selectors import article_live_ids
from recommend.engine.matrix import (
    DISMISS_CODE,
    EVENT_CODES,
    InteractionArrays,
    event_codes,
    event_weights,
    unique_with_inverse,
)
from recommend.engine.segment import (
    cluster_match,
    cosine_similarity,
    kmeans,
    membership_overlap,
    reader_topic_profiles,
)
from recommend.events.snapshot import event_snapshot_read
from recommend.models import Audience, ModelVersion, ReaderAudience
from recommend.selectors import event_interaction_arrays

AUDIENCE_COUNT_DEFAULT = 8
# A reader with fewer positive events says too little to be placed.
AUDIENCE_MIN_EVENTS_DEFAULT = 3
# Half centroid cosine, half member Jaccard: a pair below this is not the same
# audience (a real match scores ~0.9, two different clusters ~0.3).
MATCH_MIN_SIMILARITY = 0.4
TOP_TOPICS = 5
TOP_ARTICLES = 5
SEED = 42


def audience_count_setting() -> int:
    return int(getattr(settings, "RECOMMEND_AUDIENCE_COUNT", AUDIENCE_COUNT_DEFAULT))


def _min_events_setting() -> int:
    return int(
        getattr(settings, "RECOMMEND_AUDIENCE_MIN_EVENTS", AUDIENCE_MIN_EVENTS_DEFAULT)
    )


@dataclass
class ReaderProfiles:
    """Topic profiles of the readers who can be placed in an audience."""

    reader_ids: np.ndarray  # Reader pks, sorted
    profiles: np.ndarray  # [readers, topics], rows sum to 1
    topic_ids: np.ndarray  # column -> Topic pk
    topic_slugs: list[str]
    topic_names: list[str]
    # Read events of those readers, for "most-read articles".
    read_reader_rows: np.ndarray
    read_item_ids: np.ndarray


def _item_topic_matrix(item_ids: np.ndarray, topic_ids: np.ndarray) -> sp.csr_matrix:
    links = np.array(
        list(
            ArticlePage.topics.through.objects.values_list("articlepage_id", "topic_id")
        )
        or np.empty((0, 2)),
        dtype=np.int64,
    ).reshape(-1, 2)
    # Filtered here rather than with IN (...): SQLite's bound-parameter limit.
    keep = np.isin(links[:, 0], item_ids) & np.isin(links[:, 1], topic_ids)
    links = links[keep]
    return sp.csr_matrix(
        (
            np.ones(len(links), dtype=np.float64),
            (
                np.searchsorted(item_ids, links[:, 0]),
                np.searchsorted(topic_ids, links[:, 1]),
            ),
        ),
        shape=(len(item_ids), len(topic_ids)),
    )


def reader_profiles_build(
    *, interactions: InteractionArrays, now: float | None = None
) -> ReaderProfiles:
    """Decayed, weighted topic shares of every reader with enough events."""
    topics = list(Topic.objects.order_by("pk").values_list("pk", "slug", "name"))
    topic_ids = np.array([topic[0] for topic in topics], dtype=np.int64)
    codes = event_codes(interactions.event_types)
    positive = (codes >= 0) & (codes != DISMISS_CODE)
    codes = codes[positive]
    weights = event_weights(
        codes,
        interactions.values[positive],
        weights=settings.RECOMMEND_EVENT_WEIGHTS,
        read_full_seconds=settings.RECOMMEND_READ_FULL_SECONDS,
    )
    stamps = interactions.timestamps[positive]
    now = float(stamps.max()) if now is None and len(stamps) else (now or time.time())
    age_days = np.maximum(now - stamps, 0.0) / 86_400.0
    weights *= 0.5 ** (age_days / settings.RECOMMEND_HALF_LIFE_DAYS)
    reader_ids, reader_rows = unique_with_inverse(interactions.reader_ids[positive])
    item_ids, item_columns = unique_with_inverse(interactions.item_ids[positive])
    profiles, totals = reader_topic_profiles(
        reader_rows=reader_rows,
        item_columns=item_columns,
        weights=weights,
        item_topics=_item_topic_matrix(item_ids, topic_ids),
        n_readers=len(reader_ids),
    )
    counts = np.bincount(reader_rows, minlength=len(reader_ids))
    eligible = (counts >= _min_events_setting()) & (totals > 0)
    row_of_reader = np.cumsum(eligible) - 1
    is_read = (codes == EVENT_CODES["read"]) & eligible[reader_rows]
    return ReaderProfiles(
        reader_ids=reader_ids[eligible],
        profiles=profiles[eligible],
        topic_ids=topic_ids,
        topic_slugs=[topic[1] for topic in topics],
        topic_names=[topic[2] for topic in topics],
        read_reader_rows=row_of_reader[reader_rows[is_read]],
        read_item_ids=item_ids[item_columns[is_read]],
    )


def _centroid_json(centroid: np.ndarray, topic_ids: np.ndarray) -> dict[str, float]:
    return {
        str(int(topic)): round(float(value), 6)
        for topic, value in zip(topic_ids, centroid, strict=True)
        if value > 1e-6
    }


def _centroid_vector(stored: dict, topic_ids: np.ndarray) -> np.ndarray:
    return np.array(
        [float(stored.get(str(int(topic)), 0.0)) for topic in topic_ids],
        dtype=np.float64,
    )


def _top_topics(profiles: ReaderProfiles, rows: np.ndarray) -> list[dict]:
    if len(rows) == 0:
        return []
    mean = profiles.profiles[rows].mean(axis=0)
    order = np.argsort(-mean, kind="stable")[:TOP_TOPICS]
    return [
        {
            "id": int(profiles.topic_ids[column]),
            "slug": profiles.topic_slugs[column],
            "name": profiles.topic_names[column],
            "share": round(float(mean[column]), 4),
        }
        for column in order
        if mean[column] > 0
    ]


def _top_articles(
    profiles: ReaderProfiles, rows: np.ndarray, live_ids: frozenset[int]
) -> list[dict]:
    member = np.zeros(len(profiles.reader_ids), dtype=bool)
    member[rows] = True
    read_items = profiles.read_item_ids[member[profiles.read_reader_rows]]
    if len(read_items) == 0:
        return []
    items, reads = np.unique(read_items, return_counts=True)
    order = np.lexsort((items, -reads))
    chosen = [
        (int(items[index]), int(reads[index]))
        for index in order.tolist()
        if int(items[index]) in live_ids
    ][:TOP_ARTICLES]
    titles = dict(
        ArticlePage.objects.filter(pk__in=[pk for pk, _ in chosen]).values_list(
            "pk", "title"
        )
    )
    return [{"id": pk, "title": titles.get(pk, ""), "reads": n} for pk, n in chosen]


def _free_key(base: str, taken: set[str]) -> str:
    base = slugify(base)[:90] or "audience"
    key, counter = base, 2
    while key in taken:
        key, counter = f"{base}-{counter}", counter + 1
    taken.add(key)
    return key


def _cluster_name(top_topics: list[dict]) -> str:
    if not top_topics:
        return "General readers"
    if len(top_topics) == 1 or top_topics[0]["share"] >= 0.6:
        return f"{top_topics[0]['name']} readers"
    return f"{top_topics[0]['name']} & {top_topics[1]['name']} readers"


def _members_replace(*, audience: Audience, reader_ids: np.ndarray) -> None:
    ReaderAudience.objects.filter(audience=audience).delete()
    ReaderAudience.objects.bulk_create(
        [
            ReaderAudience(reader_id=int(reader), audience_id=audience.pk)
            for reader in reader_ids.tolist()
        ],
        batch_size=5000,
    )


def _rule_rows(audience: Audience, profiles: ReaderProfiles) -> np.ndarray:
    slugs = set(audience.rule.get("topics") or [])
    columns = [
        column for column, slug in enumerate(profiles.topic_slugs) if slug in slugs
    ]
    if not columns:
        return np.empty(0, dtype=np.int64)
    min_share = float(audience.rule.get("min_share", 0.25))
    share = profiles.profiles[:, columns].sum(axis=1)
    return np.flatnonzero(share >= min_share - 1e-9)


def _describe(
    audience: Audience,
    profiles: ReaderProfiles,
    rows: np.ndarray,
    live_ids: frozenset[int],
) -> None:
    audience.size = len(rows)
    audience.top_topics = _top_topics(profiles, rows)
    audience.top_articles = _top_articles(profiles, rows, live_ids)
    centroid = (
        np.sqrt(profiles.profiles[rows]).mean(axis=0)
        if len(rows)
        else np.zeros(len(profiles.topic_ids))
    )
    audience.centroid = _centroid_json(centroid, profiles.topic_ids)


def _rule_audiences_refresh(
    *, profiles: ReaderProfiles, live_ids: frozenset[int]
) -> None:
    for audience in Audience.objects.filter(kind=Audience.Kind.RULE, active=True):
        rows = _rule_rows(audience, profiles)
        _describe(audience, profiles, rows, live_ids)
        audience.save()
        _members_replace(audience=audience, reader_ids=profiles.reader_ids[rows])


@transaction.atomic
def audience_refresh(
    *,
    model_version: ModelVersion,
    interactions: InteractionArrays | None = None,
) -> list[Audience]:
    """Recompute every audience from the events ``model_version`` was trained on.

    Call after a promotion (pass the training's event arrays when at hand, to
    save a second read). Returns the active audiences, clusters first.
    """
    end = model_version.data_window_end
    if interactions is None:
        # The training's stored snapshot plus the rows since: no full read.
        interactions = event_snapshot_read().interactions
        if end is not None:
            interactions = interactions.until(end.timestamp())
    profiles = reader_profiles_build(
        interactions=interactions, now=end.timestamp() if end else None
    )
    live_ids = article_live_ids()
    old = list(Audience.objects.filter(kind=Audience.Kind.CLUSTER, active=True))
    taken = set(Audience.objects.values_list("key", flat=True))
    clusters = []
    if len(profiles.reader_ids):
        features = np.sqrt(profiles.profiles)
        k = min(audience_count_setting(), len(profiles.reader_ids))
        initial = (
            np.array([_centroid_vector(a.centroid, profiles.topic_ids) for a in old])
            if len(old) == k
            else None
        )
        clustering = kmeans(features, k, seed=SEED, initial=initial)
        clusters = [
            np.flatnonzero(clustering.labels == label)
            for label in range(len(clustering.centroids))
        ]
        clusters = [rows for rows in clusters if len(rows)]
        centroids = np.array([features[rows].mean(axis=0) for rows in clusters])
    matches: list[tuple[int, int]] = []
    if old and clusters:
        old_members = {audience.pk: [] for audience in old}
        for audience_pk, reader_pk in ReaderAudience.objects.filter(
            audience__in=old
        ).values_list("audience_id", "reader_id"):
            old_members[audience_pk].append(reader_pk)
        similarity = 0.5 * cosine_similarity(
            np.array([_centroid_vector(a.centroid, profiles.topic_ids) for a in old]),
            centroids,
        ) + 0.5 * membership_overlap(
            old_members=[np.unique(old_members[a.pk]) for a in old],
            new_members=[profiles.reader_ids[rows] for rows in clusters],
        )
        matches = cluster_match(similarity, min_similarity=MATCH_MIN_SIMILARITY)
    audience_of_cluster = {new: old[previous] for previous, new in matches}
    kept = {audience.pk for audience in audience_of_cluster.values()}
    for audience in old:
        if audience.pk not in kept:
            audience.active = False
            audience.size = 0
            audience.save(update_fields=["active", "size", "updated_at"])
            ReaderAudience.objects.filter(audience=audience).delete()
    for index, rows in enumerate(clusters):
        audience = audience_of_cluster.get(index)
        if audience is None:
            audience = Audience(kind=Audience.Kind.CLUSTER)
        _describe(audience, profiles, rows, live_ids)
        if audience.pk is None:
            audience.name = _cluster_name(audience.top_topics)
            audience.key = _free_key(audience.name, taken)
        audience.model_version = model_version
        audience.active = True
        audience.save()
        _members_replace(audience=audience, reader_ids=profiles.reader_ids[rows])
    _rule_audiences_refresh(profiles=profiles, live_ids=live_ids)
    return list(audience_list())


def _profiles_now() -> ReaderProfiles:
    return reader_profiles_build(interactions=event_interaction_arrays())


def _rule_clean(*, topics: list[str], min_share: float) -> dict:
    known = set(Topic.objects.filter(slug__in=topics).values_list("slug", flat=True))
    unknown = sorted(set(topics) - known)
    if unknown:
        raise ValueError(f"unknown topics: {', '.join(unknown)}")
    if not topics:
        raise ValueError("a rule needs at least one topic")
    if not 0.0 < min_share <= 1.0:
        raise ValueError("min_share must be in (0, 1]")
    return {"topics": sorted(set(topics)), "min_share": float(min_share)}


@transaction.atomic
def audience_rule_create(
    *, name: str, topics: list[str], min_share: float = 0.25
) -> Audience:
    """An editor-defined audience: readers whose share in ``topics`` is high enough.

    Its members are computed from the events stored now, then again after every
    promotion.
    """
    taken = set(Audience.objects.values_list("key", flat=True))
    audience = Audience(
        kind=Audience.Kind.RULE,
        name=name,
        key=_free_key(name, taken),
        rule=_rule_clean(topics=topics, min_share=min_share),
    )
    audience.save()
    return audience_rule_members_refresh(audience=audience)


@transaction.atomic
def audience_rule_members_refresh(*, audience: Audience) -> Audience:
    profiles = _profiles_now()
    rows = _rule_rows(audience, profiles)
    _describe(audience, profiles, rows, article_live_ids())
    audience.save()
    _members_replace(audience=audience, reader_ids=profiles.reader_ids[rows])
    return audience


@transaction.atomic
def audience_update(
    *,
    audience: Audience,
    name: str,
    intro: str = "",
    intro_approved: bool = False,
    topics: list[str] | None = None,
    min_share: float | None = None,
) -> Audience:
    """Rename an audience, set its digest introduction, or change its rule.

    The key never changes: briefs and provenance keep pointing at it.
    """
    name = name.strip()
    if not name:
        raise ValueError("an audience needs a name")
    audience.name = name
    audience.intro = intro
    audience.intro_approved = intro_approved and bool(intro.strip())
    rule_changed = False
    if audience.kind == Audience.Kind.RULE and topics is not None:
        rule = _rule_clean(
            topics=topics,
            min_share=min_share if min_share is not None else 0.25,
        )
        rule_changed = rule != audience.rule
        audience.rule = rule
    audience.save()
    if rule_changed:
        audience_rule_members_refresh(audience=audience)
    return audience


def audience_rename(*, audience: Audience, name: str) -> Audience:
    return audience_update(
        audience=audience,
        name=name,
        intro=audience.intro,
        intro_approved=audience.intro_approved,
    )


# Selectors


def audience_list(*, include_inactive: bool = False) -> QuerySet:
    """Audiences for people and clients: clusters by size, then rules."""
    audiences = Audience.objects.all()
    if not include_inactive:
        audiences = audiences.filter(active=True)
    return audiences.order_by("kind", "-size", "pk")


def audience_get(*, key: str) -> Audience | None:
    return Audience.objects.filter(key=key).first()


def audience_get_by_key(*, key: str) -> Audience | None:
    """The active audience with this key: the only kind a brief may target."""
    return Audience.objects.filter(key=key, active=True).first() if key else None


def audience_list_for_reader(*, external_id: str) -> list[Audience]:
    """The active audiences a reader belongs to, cluster first."""
    return list(
        Audience.objects.filter(
            active=True, memberships__reader__external_id=external_id
        ).order_by("kind", "-size", "pk")
    )


@dataclass
class AudienceInterests:
    """What an audience reads, for briefs written for it."""

    topic_ids: list[int]  # best first
    article_ids: list[int]  # its most-read live articles


def audience_interests(*, audience: Audience) -> AudienceInterests:
    live_ids = article_live_ids()
    return AudienceInterests(
        topic_ids=[topic["id"] for topic in audience.top_topics],
        article_ids=[
            article["id"]
            for article in audience.top_articles
            if article["id"] in live_ids
        ],
    )


def audience_member_ids(*, audience: Audience) -> np.ndarray:
    """Reader pks of an audience's members, sorted."""
    return np.array(
        sorted(audience.memberships.values_list("reader_id", flat=True)),
        dtype=np.int64,
    )
