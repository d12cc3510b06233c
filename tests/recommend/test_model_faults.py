"""A corrupt model artifact: feeds fall back to trending, editors are told."""

import pytest
from django.core.files.base import ContentFile

from recommend.models import ModelVersion
from recommend.serving.state import serving_state_reset
from tests.recommend.scenario import world_build


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    serving_state_reset()
    yield
    serving_state_reset()


@pytest.mark.parametrize(
    "artifact", [b"", b"not a model at all", b"PK\x03\x04 truncated zip"]
)
def test_a_corrupt_artifact_serves_trending_and_warns_in_the_admin(
    db, keyed_client, admin_client, artifact
):
    # given a trained world whose active model's file is then broken
    world = world_build(n_readers=30, n_events=900, per_topic=3)
    version = world.model_version
    version.artifact.save(f"broken-{version.pk}.npz", ContentFile(artifact))
    assert ModelVersion.objects.get(pk=version.pk).status == "active"
    reader = world.readers[0].external_id
    # when
    feed = keyed_client("feed:read").get("/api/v1/feed", {"reader": reader})
    page = admin_client.get("/admin/recommend/performance/")
    # then
    assert feed.status_code == 200
    assert feed.json()["strategy"] == "trending"
    assert feed.json()["results"]
    assert page.status_code == 200
    assert f"The active model (version {version.pk}) cannot be loaded" in (
        page.content.decode()
    )


def test_no_warning_when_the_active_model_loads(db, keyed_client, admin_client):
    world = world_build(n_readers=30, n_events=900, per_topic=3)
    reader = world.readers[0].external_id
    feed = keyed_client("feed:read").get("/api/v1/feed", {"reader": reader})
    page = admin_client.get("/admin/recommend/performance/")
    assert feed.json()["strategy"] == "personal"
    assert "cannot be loaded" not in page.content.decode()
