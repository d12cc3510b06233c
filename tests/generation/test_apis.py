"""POST /api/v1/briefs queues a job; /api/v1/jobs tells ids and status, no content."""

import pytest

from generation.models import Brief, GenerationJob
from generation.services import generation_job_run
from recommend.models import Audience

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def night_owls(db) -> Audience:
    """The audience the briefs below target: an unknown key is refused."""
    return Audience.objects.create(key="night-owls", name="Night owls", kind="rule")


BRIEFS = "/api/v1/briefs"
JOBS = "/api/v1/jobs"


def _post_brief(client, library, **overrides):
    body = {
        "topic": "Sleep",
        "section": library.section.pk,
        "keywords": ["naps"],
        "topics": ["sleep"],
        "source_pages": [library.articles["light-darkness-and-the-body-clock"].pk],
        "audience": "night-owls",
        **overrides,
    }
    return client.post(BRIEFS, body, format="json")


def test_posting_a_brief_queues_a_job_after_commit(
    library, keyed_client, django_capture_on_commit_callbacks
):
    # given
    client = keyed_client("generation:write")
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post_brief(client, library)
    # then
    assert response.status_code == 202
    body = response.json()
    job = GenerationJob.objects.get(pk=body["job"])
    assert body == {"job": job.pk, "brief": job.brief_id, "status": "queued"}
    brief = Brief.objects.get(pk=body["brief"])
    assert brief.audience_key == "night-owls"
    assert brief.origin.startswith("api:")
    assert list(brief.topics.values_list("slug", flat=True)) == ["sleep"]
    assert len(callbacks) == 1  # the enqueue waits for the commit


def test_briefs_need_the_generation_scope(library, keyed_client, api_client):
    # when
    anonymous = _post_brief(api_client, library)
    wrong_scope = _post_brief(keyed_client("events:write"), library)
    # then
    assert anonymous.status_code == 401
    assert wrong_scope.status_code == 403
    assert wrong_scope.json()["error"]["code"] == "permission_denied"
    assert not Brief.objects.exists()


def test_an_invalid_brief_is_a_400_naming_each_problem(library, keyed_client):
    # given
    draft = library.articles["loneliness-is-a-health-issue-too"]
    draft.unpublish()
    # when
    response = _post_brief(
        keyed_client("generation:write"),
        library,
        section=999999,
        topics=["sleep", "nonsense"],
        source_pages=[draft.pk],
        target_words=10,
    )
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["details"]["section"] == ["No section with id 999999."]
    assert error["details"]["topics"] == ["Unknown topics: nonsense."]
    assert error["details"]["source_pages"] == [f"Not live articles: {draft.pk}."]
    assert "target_words" in error["details"]


def test_a_job_shows_its_status_and_page_id_but_never_the_draft(library, keyed_client):
    # given
    client = keyed_client("generation:write")
    job_id = _post_brief(client, library).json()["job"]
    generation_job_run(job_id=job_id)
    # when
    response = client.get(f"{JOBS}/{job_id}")
    # then
    assert response.status_code == 200
    body = response.json()
    job = GenerationJob.objects.get(pk=job_id)
    assert body["status"] == "succeeded"
    assert body["page"] == job.page_id and body["revision"] == job.revision_id
    assert body["attempts"] == 1 and body["error"] == ""
    assert job.page.title not in response.content.decode()
    assert set(body) == {
        "id", "brief", "kind", "status", "attempts", "error", "page", "revision",
        "provider", "model", "tokens_in", "tokens_out", "created_at", "finished_at",
    }  # fmt: skip


def test_an_unknown_job_is_a_404_in_the_project_shape(keyed_client):
    # when
    response = keyed_client("generation:write").get(f"{JOBS}/424242")
    # then
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "No job with id 424242.",
        "details": {},
    }


def test_jobs_list_filters_by_status_and_brief(library, keyed_client):
    # given: two briefs, one job run
    client = keyed_client("generation:write")
    first = _post_brief(client, library).json()
    second = _post_brief(client, library, topic="Naps").json()
    generation_job_run(job_id=first["job"])
    # when
    everything = client.get(JOBS).json()
    queued = client.get(JOBS, {"status": "queued"}).json()
    of_brief = client.get(JOBS, {"brief": first["brief"]}).json()
    bad = client.get(JOBS, {"status": "sleeping"})
    # then
    assert [job["id"] for job in everything["results"]] == [second["job"], first["job"]]
    assert everything["count"] == 2
    assert [job["id"] for job in queued["results"]] == [second["job"]]
    assert [job["id"] for job in of_brief["results"]] == [first["job"]]
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["details"]


def test_a_brief_names_its_section_by_slug_or_by_id(library, keyed_client):
    # given
    client = keyed_client("generation:write")
    # when
    by_slug = _post_brief(client, library, section=library.section.slug)
    by_id_text = _post_brief(client, library, section=str(library.section.pk))
    unknown = _post_brief(client, library, section="nowhere")
    malformed = _post_brief(client, library, section="no such/slug")
    # then
    assert by_slug.status_code == by_id_text.status_code == 202
    for response in (by_slug, by_id_text):
        brief = Brief.objects.get(pk=response.json()["brief"])
        assert brief.section_id == library.section.pk
    assert unknown.status_code == malformed.status_code == 400
    assert unknown.json()["error"]["details"] == {"section": ["No section 'nowhere'."]}
    assert list(malformed.json()["error"]["details"]) == ["section"]
