"""The AI media admin: listing with players, Approve and Reject, and the request."""

import pytest
from django.contrib.auth.models import Permission

from generation.media.models import MediaItem
from tests.generation.media.conftest import needs_media_tools

pytestmark = pytest.mark.django_db


@needs_media_tools
def test_editor_sees_a_player_and_approves(narration, editor, client):
    # given
    client.force_login(editor)
    # when
    listing = client.get("/admin/generation/media/")
    approved = client.post(f"/admin/generation/media/{narration.pk}/approve/")
    # then
    html = listing.content.decode()
    assert listing.status_code == 200
    assert f'<audio controls preload="metadata" src="{narration.file.url}"' in html
    assert "Approve" in html and "Reject" in html
    assert approved.status_code == 302
    narration.refresh_from_db()
    assert narration.status == MediaItem.Status.APPROVED
    assert narration.reviewed_by == editor


@needs_media_tools
def test_someone_who_may_not_publish_cannot_approve(
    narration, django_user_model, client
):
    # given: an admin user with no page permissions at all
    user = django_user_model.objects.create_user(username="intern", password="x")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    # when
    response = client.post(f"/admin/generation/media/{narration.pk}/reject/")
    # then
    assert response.status_code in (302, 403)
    narration.refresh_from_db()
    assert narration.status == MediaItem.Status.IN_REVIEW


def test_editor_asks_for_a_narration_from_the_edit_view(article, editor, client):
    # given
    client.force_login(editor)
    # when
    confirm = client.get(f"/admin/generation/media/request/{article.pk}/narration/")
    posted = client.post(f"/admin/generation/media/request/{article.pk}/narration/")
    posted_again = client.post(
        f"/admin/generation/media/request/{article.pk}/narration/"
    )
    # then: one queued item, whatever the double click
    assert confirm.status_code == 200 and b"Narrate" in confirm.content
    assert posted.status_code == 302 and posted_again.status_code == 302
    item = MediaItem.objects.get(page=article)
    assert (item.kind, item.status, item.requested_by) == (
        "narration",
        "queued",
        editor,
    )
