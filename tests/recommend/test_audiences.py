"""Audiences: segments that describe readers, survive retraining, and the API."""

import numpy as np
import pytest
from django.utils.html import escape

from recommend.audiences.audiences import (
    audience_interests,
    audience_list,
    audience_refresh,
    audience_rename,
    audience_rule_create,
    audience_update,
)
from recommend.engine.segment import cluster_match, kmeans
from recommend.models import Audience, Event, ReaderAudience
from tests.recommend.scenario import model_train_activate, world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_live_ids(monkeypatch):
    # The per-process live-id cache is keyed by a stamp that each test's rollback
    # resets, so a previous test's ids would otherwise look current.
    monkeypatch.setattr(
        "cms.selectors._live_ids_cache", {"version": None, "ids": frozenset()}
    )


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """One world and its audiences for the module; each test's changes roll back."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        world = world_build(n_topics=8, per_topic=12, n_readers=240, n_events=6000)
        audience_refresh(model_version=world.model_version)
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def world_and_audiences(module_world):
    # Read afresh: an earlier test may have changed its own copies in memory.
    return module_world, list(audience_list())


def _dominant_topics(world, audience: Audience) -> np.ndarray:
    position = {reader.pk: index for index, reader in enumerate(world.readers)}
    members = audience.memberships.values_list("reader_id", flat=True)
    return np.array([int(np.argmax(world.preferences[position[m]])) for m in members])


def test_segments_are_described_by_what_their_members_like(world_and_audiences):
    # given
    world, audiences = world_and_audiences
    topic_index = {topic.pk: index for index, topic in enumerate(world.topics)}
    # when
    purity = []
    for audience in audiences:
        dominant = _dominant_topics(world, audience)
        top = topic_index[audience.top_topics[0]["id"]]
        purity.append(float(np.mean(dominant == top)))
    # then: 8 audiences (the default k), each described and mostly made of readers
    # whose strongest true preference is its top topic (measured 0.73-0.95,
    # mean 0.86)
    assert len(audiences) == 8
    assert {audience.kind for audience in audiences} == {"cluster"}
    assert (
        sum(audience.size for audience in audiences) == ReaderAudience.objects.count()
    )
    for audience in audiences:
        assert audience.size == audience.memberships.count() > 0
        assert audience.name.endswith("readers")
        assert audience.top_topics[0]["share"] > 0.4
        assert 1 <= len(audience.top_articles) <= 5
    assert min(purity) >= 0.6
    assert float(np.mean(purity)) >= 0.8


def test_audience_interests_point_at_its_top_topics_and_most_read_articles(
    world_and_audiences,
):
    world, audiences = world_and_audiences
    audience = audiences[0]
    interests = audience_interests(audience=audience)
    assert interests.topic_ids[0] == audience.top_topics[0]["id"]
    reads = Event.objects.filter(
        type="read", reader__audience_memberships__audience=audience
    )
    most_read = max(
        set(reads.values_list("page_id", flat=True)),
        key=lambda page: (reads.filter(page_id=page).count(), -page),
    )
    assert interests.article_ids[0] == most_read


def test_identities_persist_across_retraining_on_slightly_changed_data(
    world_and_audiences,
):
    # given: audiences, one renamed by an editor, then a tenth of the events gone
    _, first = world_and_audiences
    renamed = audience_rename(audience=first[2], name="Weekend rock hounds")
    before = dict(ReaderAudience.objects.values_list("reader_id", "audience__key"))
    rng = np.random.default_rng(7)
    event_ids = np.array(Event.objects.values_list("pk", flat=True))
    dropped = rng.choice(event_ids, size=len(event_ids) // 10, replace=False)
    Event.objects.filter(pk__in=dropped.tolist()).delete()
    # when: a new model is trained and promoted, and audiences are recomputed
    second = audience_refresh(model_version=model_train_activate())
    after = dict(ReaderAudience.objects.values_list("reader_id", "audience__key"))
    # then: the same keys and audience rows, the editor's name kept, and most
    # readers in the audience they were in (measured 0.97)
    assert {a.key for a in second} == {a.key for a in first}
    assert {a.pk for a in second} == {a.pk for a in first}
    assert Audience.objects.get(pk=renamed.pk).name == "Weekend rock hounds"
    kept = sum(after.get(reader) == key for reader, key in before.items())
    assert kept / len(before) >= 0.85
    assert not Audience.objects.filter(active=False).exists()


def test_matching_alone_keeps_identities_when_clusters_come_out_permuted():
    # given: three well separated groups, clustered twice from different starts
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 5
    points = np.vstack([centre + rng.normal(size=(30, 3)) for centre in centres])
    first = kmeans(points, 3, seed=1)
    second = kmeans(points[::-1], 3, seed=99)
    # when: matched on centroid distance (similarity = -distance)
    distance = np.linalg.norm(
        first.centroids[:, None, :] - second.centroids[None, :, :], axis=2
    )
    pairs = cluster_match(-distance, min_similarity=-1.0)
    # then: every old cluster finds the new cluster holding the same points
    assert len(pairs) == 3
    for old, new in pairs:
        old_points = set(np.flatnonzero(first.labels == old).tolist())
        new_points = {89 - i for i in np.flatnonzero(second.labels == new).tolist()}
        assert old_points == new_points


def test_a_cluster_that_disappears_is_retired_not_deleted(
    settings, world_and_audiences
):
    # given: eight audiences, then a setting asking for four
    world, first = world_and_audiences
    settings.RECOMMEND_AUDIENCE_COUNT = 4
    # when
    second = audience_refresh(model_version=world.model_version)
    # then: four active, four retired (kept for briefs and statistics), keys kept
    assert len(first) == 8 and len(second) == 4
    assert {a.key for a in second} <= {a.key for a in first}
    retired = Audience.objects.filter(active=False)
    assert retired.count() == 4
    assert not ReaderAudience.objects.filter(audience__in=retired).exists()


def test_rule_audience_holds_readers_who_follow_its_topics(world_and_audiences):
    # given
    world, _ = world_and_audiences
    # when
    audience = audience_rule_create(
        name="Cycling fans", topics=["subject-2"], min_share=0.4
    )
    # then: its members truly prefer cycling, and the key is a stable slug
    position = {reader.pk: index for index, reader in enumerate(world.readers)}
    members = [
        position[pk] for pk in audience.memberships.values_list("reader_id", flat=True)
    ]
    others = sorted(set(range(len(world.readers))) - set(members))
    assert audience.key == "cycling-fans"
    assert audience.kind == "rule"
    assert audience.size == len(members) >= 10
    assert audience.top_topics[0]["slug"] == "subject-2"
    assert (
        world.preferences[members, 2].mean() > 3 * world.preferences[others, 2].mean()
    )


def test_rule_change_recomputes_members_and_key_never_changes(world_and_audiences):
    audience = audience_rule_create(name="Cycling fans", topics=["subject-2"])
    size = audience.size
    updated = audience_update(
        audience=audience,
        name="Two-wheel and trail",
        topics=["subject-2", "subject-3"],
        min_share=0.25,
        intro="Hello riders.",
        intro_approved=True,
    )
    assert updated.key == "cycling-fans"
    assert updated.name == "Two-wheel and trail"
    assert updated.size > size
    assert updated.intro_approved
    with pytest.raises(ValueError, match="unknown topics: nope"):
        audience_rule_create(name="Bad", topics=["nope"])


def test_audience_list_api(keyed_client, api_client, world_and_audiences):
    # given
    _, audiences = world_and_audiences
    client = keyed_client("feed:read")
    # when
    response = client.get("/api/v1/audiences")
    # then
    envelope = response.json()
    body = envelope["results"]
    assert response.status_code == 200
    assert envelope["count"] == len(audiences)
    assert envelope["next"] is None and envelope["previous"] is None
    assert [item["key"] for item in body] == [a.key for a in audiences]
    assert set(body[0]) == {"id", "key", "name", "kind", "size", "top_topics"}
    assert set(body[0]["top_topics"][0]) == {"id", "slug", "name", "share"}
    assert body[0]["size"] == audiences[0].size
    assert api_client.get("/api/v1/audiences").status_code == 401
    forbidden = keyed_client("events:write").get("/api/v1/audiences")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "permission_denied"


def test_admin_lists_audiences_and_an_editor_renames_one(
    client, world_and_audiences, django_user_model
):
    # given
    _, audiences = world_and_audiences
    audience = audiences[1]
    admin = django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    client.force_login(admin)
    # when
    listing = client.get("/admin/recommend/audiences/")
    form = client.get(f"/admin/recommend/audiences/{audience.pk}/")
    saved = client.post(
        f"/admin/recommend/audiences/{audience.pk}/",
        {"name": "Night-sky regulars", "intro": "Hello.", "intro_approved": "on"},
    )
    # then
    html = listing.content.decode()
    assert listing.status_code == 200
    assert all(escape(a.name) in html and a.key in html for a in audiences)
    assert form.status_code == 200
    assert saved.status_code == 302
    audience.refresh_from_db()
    assert (audience.name, audience.intro_approved) == ("Night-sky regulars", True)
    assert audience.key == audiences[1].key


def test_admin_rule_audience_needs_the_add_permission(
    client, world_and_audiences, django_user_model
):
    # given: an editor who may edit pages but was not given audience rights
    from django.contrib.auth.models import Group

    editor = django_user_model.objects.create_user("ed", "e@example.com", "pw")
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    # when
    listing = client.get("/admin/recommend/audiences/")
    refused = client.post(
        "/admin/recommend/audiences/rule/",
        {"name": "Cyclists", "topics": ["subject-2"], "min_share": "0.3"},
    )
    # then
    assert listing.status_code == 200
    assert refused.status_code == 302  # to the admin home, with an error message
    assert not Audience.objects.filter(kind="rule").exists()
