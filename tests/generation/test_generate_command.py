"""manage.py generate queues briefs, or runs them inline with --sync."""

import pytest
from django.core.management import CommandError, call_command

from cms.models import ArticlePage
from generation.models import Brief, GenerationJob

pytestmark = pytest.mark.django_db


def test_sync_runs_each_draft_with_its_own_angle(library, capsys):
    # when
    call_command(
        "generate", "--topic", "sleep", "--section", "health", "--count", "2", "--sync"
    )
    # then
    output = capsys.readouterr().out
    drafts = ArticlePage.objects.filter(ai_generated=True).order_by("pk")
    assert [page.title for page in drafts] == [
        "Sleep: what our reporting shows",
        "Sleep: what has changed recently",
    ]
    assert all(not page.live for page in drafts)
    assert output.count("in review") == 2
    brief = Brief.objects.order_by("pk").first()
    assert brief.topic == "Sleep" and brief.origin == "command"
    assert list(brief.topics.values_list("slug", flat=True)) == ["sleep"]


def test_without_sync_the_jobs_are_queued_after_commit(
    library, capsys, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("generate", "--topic", "Naps", "--section", "health")
    # then
    job = GenerationJob.objects.get()
    assert job.status == "queued"
    assert len(callbacks) == 1
    assert f"Queued 1 generation job(s): {job.pk}." in capsys.readouterr().out


def test_unknown_section_or_a_failed_draft_is_a_one_line_error(library, settings):
    # given: drafts are impossible when no article matches
    settings.GENERATION_MAX_ATTEMPTS = 1
    # when / then
    with pytest.raises(CommandError, match="No section with slug 'nowhere'"):
        call_command("generate", "--topic", "Sleep", "--section", "nowhere")
    with pytest.raises(CommandError, match="1 of 1 draft"):
        call_command(
            "generate", "--topic", "Volcanic geology", "--section", "health", "--sync"
        )
    assert GenerationJob.objects.get().error.startswith("No live article matches")
