"""Every AI article comes with its search and sharing fields and image alt text."""

import html

import pytest
from django.urls import reverse

from cms.models import ArticlePage
from generation.models import GenerationJob
from generation.providers.base import Draft, DraftSection
from generation.services import brief_create, brief_submit, generation_job_run
from tests.generation.conftest import ScriptedTextProvider

pytestmark = pytest.mark.django_db

PAGES = "/api/v2/pages/"
SUCCEEDED = GenerationJob.Status.SUCCEEDED


def _drafted(library, **overrides) -> ArticlePage:
    brief = brief_create(
        **{
            "topic": "Sleep",
            "section": library.section,
            "topics": [library.topics["sleep"]],
            **overrides,
        }
    )
    job = brief_submit(brief=brief, enqueue=False)
    assert generation_job_run(job_id=job.pk) == SUCCEEDED
    job.refresh_from_db()
    return ArticlePage.objects.get(pk=job.page_id)


def _approve(page: ArticlePage, editor) -> None:
    task_state = page.current_workflow_task_state
    task_state.task.specific.on_action(task_state, editor, "approve")


@pytest.mark.parametrize("article_format", ["feature", "news_brief"])
def test_a_draft_has_seo_fields_and_alt_text_served_once_approved(
    library, editor, api_client, article_format
):
    # given: an offline draft, in review
    page = _drafted(library, format=article_format)
    draft = page.get_latest_revision_as_object()
    # then: the promote fields are drafted, within what search results show
    assert 0 < len(draft.seo_title) <= 70
    assert 50 <= len(draft.search_description) <= 160
    assert draft.search_description != draft.standfirst  # the lead's answer
    assert draft.hero_image is not None and draft.hero_image.description
    # and a reader sees none of it before approval
    assert api_client.get(f"{PAGES}{page.pk}/").status_code == 404
    # when
    _approve(page, editor)
    # then: API v2 serves them, and the cover's alt text with every rendition
    body = api_client.get(f"{PAGES}{page.pk}/").json()
    assert body["meta"]["seo_title"] == draft.seo_title
    assert body["meta"]["search_description"] == draft.search_description
    renditions = body["hero_image_renditions"]
    assert renditions and all(
        rendition["alt"] == draft.hero_image.description
        for rendition in renditions.values()
    )
    listing = api_client.get(
        PAGES, {"type": "cms.ArticlePage", "fields": "seo_title,search_description"}
    ).json()
    (item,) = [item for item in listing["items"] if item["id"] == page.pk]
    assert item["meta"]["search_description"] == draft.search_description


def test_an_editor_edits_the_seo_fields_before_approving(
    library, editor, client, api_client
):
    # given: a draft in review, opened in the Wagtail editor
    page = _drafted(library)
    client.force_login(editor)
    edit = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    text = edit.content.decode()
    drafted = page.get_latest_revision_as_object()
    assert edit.status_code == 200
    assert 'name="seo_title"' in text and 'name="search_description"' in text
    assert html.escape(drafted.seo_title) in text
    # when: the editor changes them (a new revision, as the editor's Save does)
    drafted.seo_title = "Naps, light and screens: a sleep guide"
    drafted.search_description = "Short naps, morning light and a phone-free bed."
    drafted.save_revision(user=editor)
    _approve(ArticlePage.objects.get(pk=page.pk), editor)
    # then: the edited values are what readers' front-ends get
    meta = api_client.get(f"{PAGES}{page.pk}/").json()["meta"]
    assert meta["seo_title"] == "Naps, light and screens: a sleep guide"
    assert (
        meta["search_description"] == "Short naps, morning light and a phone-free bed."
    )


def test_a_model_s_seo_fields_are_cleaned_and_missing_ones_derived(
    library, use_text_provider
):
    # given: a model that answers with markup in its SEO title, then one without
    source = library.articles["why-naps-work-and-when-they-backfire"]

    def make(seo_title: str, description: str):
        def draft(request) -> Draft:
            return Draft(
                title="When a nap helps",
                standfirst="Short naps help; long ones leave you groggy.",
                sections=[
                    DraftSection(
                        heading="Short and early",
                        html=f"<p>{' '.join(source.standfirst.split() * 8)} "
                        f'<a href="{source.url}">Naps</a>.</p>',
                        sources=(source.pk,),
                    )
                ],
                provider="scripted",
                model="scripted-1",
                seo_title=seo_title,
                search_description=description,
            )

        return draft

    use_text_provider(
        ScriptedTextProvider(
            make("<b>Naps</b> that help " + "x" * 80, "<i>Ten</i> minutes.")
        )
    )
    marked = _drafted(library).get_latest_revision_as_object()
    use_text_provider(ScriptedTextProvider(make("", "")))
    derived = _drafted(library, topic="Naps").get_latest_revision_as_object()
    # then
    assert marked.seo_title.startswith("Naps that help") and len(marked.seo_title) <= 70
    assert "<" not in marked.seo_title
    assert marked.search_description == "Ten minutes."
    assert derived.seo_title == "When a nap helps"
    assert derived.search_description == "Short naps help; long ones leave you groggy."
